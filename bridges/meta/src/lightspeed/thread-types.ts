/**
 * Meta's thread types (facts: the `threadType` column of `deleteThenInsertThread`, numbered as
 * mautrix-meta's table definitions number them) and the two things a bridge asks of them: is the
 * thread a group, and is it end-to-end encrypted. An encrypted thread is listed in LightSpeed like
 * any other, but its messages travel over another transport (Messenger's E2EE chats: the WhatsApp
 * protocol through web-chat-e2ee.facebook.com), which Tributary does not speak yet.
 */
export const META_THREAD_TYPE = {
  oneToOne: 1,
  group: 2,
  /** The older "secret conversations" (Messenger's own E2EE). */
  encryptedOneToOne: 7,
  encryptedGroupDisappearing: 8,
  carrierOneToOne: 10,
  carrierGroup: 11,
  encryptedOneToOneDisappearing: 13,
  /** End-to-end encrypted over the WhatsApp protocol: Messenger's default for one-to-one chats. */
  encryptedOverWaOneToOne: 15,
  encryptedOverWaGroup: 16,
  communityGroup: 18,
} as const;

const ONE_TO_ONE_TYPES: ReadonlySet<number> = new Set([
  META_THREAD_TYPE.oneToOne, META_THREAD_TYPE.encryptedOneToOne, META_THREAD_TYPE.carrierOneToOne,
  META_THREAD_TYPE.encryptedOneToOneDisappearing, META_THREAD_TYPE.encryptedOverWaOneToOne,
]);

const ENCRYPTED_TYPES: ReadonlySet<number> = new Set([
  META_THREAD_TYPE.encryptedOneToOne, META_THREAD_TYPE.encryptedGroupDisappearing, META_THREAD_TYPE.encryptedOneToOneDisappearing,
  META_THREAD_TYPE.encryptedOverWaOneToOne, META_THREAD_TYPE.encryptedOverWaGroup,
]);

/** Whether a thread type is end-to-end encrypted (its messages never come over LightSpeed). */
export function isEncryptedThreadType(threadType: number | undefined): boolean {
  return threadType !== undefined && ENCRYPTED_TYPES.has(threadType);
}

/** Whether a thread type is a group; types we do not know (communities, channels) count as groups. */
export function isGroupThreadType(threadType: number): boolean {
  return !ONE_TO_ONE_TYPES.has(threadType);
}

/** The encrypted type a thread of `threadType` becomes when Meta moves it to end-to-end encryption. */
export function encryptedTypeOf(isGroup: boolean): number {
  return isGroup ? META_THREAD_TYPE.encryptedOverWaGroup : META_THREAD_TYPE.encryptedOverWaOneToOne;
}
