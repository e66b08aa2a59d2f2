/**
 * Opaque identifiers. The core never looks inside them: a connector makes them from its network's
 * ids (`make<X>Id`) and parses them back (`parse<X>Id`). Branding stops a MessageId from being
 * passed where a PortalId is expected.
 */
type Brand<T, B extends string> = T & { readonly __brand: B };

/** A chat on the network (DM, group, channel). */
export type PortalId = Brand<string, 'PortalId'>;
/** A person or bot on the network; becomes a ghost user on Matrix. */
export type RemoteUserId = Brand<string, 'RemoteUserId'>;
/** One logged-in network account (a Matrix user may have several). */
export type UserLoginId = Brand<string, 'UserLoginId'>;
/** A message on the network; with a PartId it names one Matrix event. */
export type MessageId = Brand<string, 'MessageId'>;
/** One Matrix event of a message that became several (caption + media, album items). '' for the first. */
export type PartId = Brand<string, 'PartId'>;
/** The network's identity for a reaction (often the emoji itself). */
export type EmojiId = Brand<string, 'EmojiId'>;

export const portalId = (s: string) => s as PortalId;
export const remoteUserId = (s: string) => s as RemoteUserId;
export const userLoginId = (s: string) => s as UserLoginId;
export const messageId = (s: string) => s as MessageId;
export const partId = (s: string) => s as PartId;
export const emojiId = (s: string) => s as EmojiId;

/**
 * Which portal an event belongs to. `receiver` is empty when the chat is the same for every login
 * (a group that two bridged users are both in maps to one room); it is the login id when the chat
 * is only meaningful to one account (a DM seen from one side).
 */
export interface PortalKey {
  readonly id: PortalId;
  readonly receiver: UserLoginId | '';
}

export function portalKey(id: string, receiver: string = ''): PortalKey {
  return { id: id as PortalId, receiver: receiver as UserLoginId | '' };
}

export function portalKeyString(key: PortalKey): string {
  return key.receiver ? `${key.id}\u0000${key.receiver}` : key.id;
}

export function samePortal(a: PortalKey, b: PortalKey): boolean {
  return a.id === b.id && a.receiver === b.receiver;
}
