/** Sandbox ids as core ids. Chats are global on the network; a DM is one person's view of it. */
import {
  emojiId, messageId, portalKey, remoteUserId, type EmojiId, type MessageId, type PortalKey, type RemoteUserId, type UserLoginId,
} from '@tributary/core/network/index';
import type { WireChat } from '../wire.js';

export const makeUserId = (account: string): RemoteUserId => remoteUserId(account);
export const makeMessageId = (id: string): MessageId => messageId(id);
export const makeEmojiId = (emoji: string): EmojiId => emojiId(emoji);

/** Groups are shared by every login in them; DMs belong to the login that sees them. */
export function makePortalKey(chat: Pick<WireChat, 'id' | 'type'>, login: UserLoginId): PortalKey {
  return portalKey(chat.id, chat.type === 'dm' ? login : '');
}

export function chatIdOf(key: PortalKey): string {
  return key.id;
}

export function chatTypeOfId(chatId: string): 'dm' | 'group' {
  return chatId.startsWith('dm:') ? 'dm' : 'group';
}
