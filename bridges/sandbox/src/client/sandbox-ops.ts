import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type {
  MessageContent, Op, OpArgs, OpResult, ReadyInfo, WireAccount, WireChat, WireEvent, WireMessage, GetMessagesResult,
} from '../wire.js';

export interface DisconnectInfo { code: number; reason: string; willReconnect: boolean; }

export interface SandboxClientEvents {
  /** After authentication (and before the replayed events). `resumed`: events since `since` follow. */
  connected: [info: ReadyInfo & { resumed: boolean }];
  disconnected: [info: DisconnectInfo];
  /** The server no longer holds the events after our `since`: refetch chats and messages. */
  resync_required: [info: { headSeq: number }];
  event: [event: WireEvent, seq: number];
  /** The account was logged out (remotely or by `logout()`); the token is void. */
  logged_out: [reason: string];
}

/** One typed method per wire op, on top of `request` (implemented by SandboxClient). */
export abstract class SandboxOps extends EventEmitter<SandboxClientEvents> {
  abstract request<K extends Op>(op: K, args: OpArgs<K>, timeoutMs?: number): Promise<OpResult<K>>;

  getSelf(): Promise<WireAccount> { return this.request('get_self', {}); }
  /** Everyone else on the network. */
  getContacts(): Promise<WireAccount[]> { return this.request('get_contacts', {}); }
  getUser(user: string): Promise<WireAccount> { return this.request('get_user', { user }); }
  /** By account id or phone number; rejects with `not_found`. */
  resolveIdentifier(identifier: string): Promise<WireAccount> { return this.request('resolve_identifier', { identifier }); }
  getChats(): Promise<WireChat[]> { return this.request('get_chats', {}); }
  getChat(chat: string): Promise<WireChat> { return this.request('get_chat', { chat }); }
  /** Ascending. Neither bound: the latest `limit` (default 50, max 500). */
  getMessages(chat: string, q: { after?: string; before?: string; limit?: number } = {}): Promise<GetMessagesResult> {
    return this.request('get_messages', { chat, ...q });
  }
  /** Idempotent per clientTxnId: a retry with the same id returns the original message. */
  send(chat: string, content: MessageContent, opts: { replyTo?: string; clientTxnId?: string } = {}): Promise<WireMessage> {
    return this.request('send', {
      chat, content, client_txn_id: opts.clientTxnId ?? randomUUID(), ...(opts.replyTo !== undefined ? { reply_to: opts.replyTo } : {}),
    });
  }
  edit(message: string, content: MessageContent): Promise<WireMessage> { return this.request('edit', { message, content }); }
  delete(message: string): Promise<WireMessage> { return this.request('delete', { message }); }
  /** Replaces this account's previous reaction on the message, if any. */
  react(message: string, emoji: string): Promise<WireMessage> { return this.request('react', { message, emoji }); }
  unreact(message: string): Promise<WireMessage> { return this.request('unreact', { message }); }
  async markRead(chat: string, message: string): Promise<void> { await this.request('mark_read', { chat, message }); }
  /** Typing expires on the server after 6 s unless sent again. */
  async typing(chat: string, typing: boolean): Promise<void> { await this.request('typing', { chat, typing }); }
  setPresence(online: boolean): Promise<WireAccount> { return this.request('set_presence', { online }); }
  /** Returns the existing DM if there is one. */
  createDm(user: string): Promise<WireChat> { return this.request('create_dm', { user }); }
  createGroup(name: string, members: string[], topic?: string): Promise<WireChat> {
    return this.request('create_group', { name, members, ...(topic !== undefined ? { topic } : {}) });
  }
  invite(chat: string, user: string): Promise<WireChat> { return this.request('invite', { chat, user }); }
  kick(chat: string, user: string): Promise<WireChat> { return this.request('kick', { chat, user }); }
  /** Group admins and the owner only; the owner's own role cannot be changed. */
  setRole(chat: string, user: string, role: 'member' | 'admin'): Promise<WireChat> { return this.request('set_role', { chat, user, role }); }
  async leave(chat: string): Promise<void> { await this.request('leave', { chat }); }
  setChatName(chat: string, name: string): Promise<WireChat> { return this.request('set_chat_name', { chat, name }); }
  setChatTopic(chat: string, topic: string): Promise<WireChat> { return this.request('set_chat_topic', { chat, topic }); }
  setChatAvatar(chat: string, media: string | null): Promise<WireChat> { return this.request('set_chat_avatar', { chat, media }); }
  /** Voids the token on the server; the connection closes with 4002 afterwards. */
  async logout(): Promise<void> { await this.request('logout', {}); }
}
