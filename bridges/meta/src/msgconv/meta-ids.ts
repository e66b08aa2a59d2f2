/**
 * How Meta ids become the core's opaque ids. Meta message ids ("mid.$...") are unique across
 * threads, so a MessageId is the Meta id itself; users and threads are decimal int64 strings.
 */
import { messageId, remoteUserId, type MessageId, type RemoteUserId } from '@tributary/core/network/index';

const DECIMAL_ID = /^\d{1,19}$/;
/** What a Meta message id may look like: printable ASCII without spaces, at most 256 characters. */
const MESSAGE_ID = /^[\x21-\x7e]{1,256}$/;

export function makeMetaMessageId(mid: string): MessageId {
  return messageId(mid);
}

/** The Meta message id of a MessageId, or undefined when it cannot be one. */
export function parseMetaMessageId(id: string): string | undefined {
  return typeof id === 'string' && MESSAGE_ID.test(id) ? id : undefined;
}

export function makeMetaUserId(id: string): RemoteUserId {
  return remoteUserId(id);
}

/** The decimal Meta user id of a RemoteUserId, or undefined when it is not one. */
export function parseMetaUserId(id: string): string | undefined {
  return typeof id === 'string' && DECIMAL_ID.test(id) ? id : undefined;
}

export type MetaPlatform = 'messenger' | 'instagram';

/** Where the person opens a thread in Meta's own web client (fact: these URL shapes). */
export function threadWebUrl(platform: MetaPlatform, threadKey: string): string | undefined {
  if (!DECIMAL_ID.test(threadKey)) return undefined;
  return platform === 'instagram' ? `https://www.instagram.com/direct/t/${threadKey}/` : `https://www.messenger.com/t/${threadKey}/`;
}

export function platformName(platform: MetaPlatform): string {
  return platform === 'instagram' ? 'Instagram' : 'Messenger';
}
