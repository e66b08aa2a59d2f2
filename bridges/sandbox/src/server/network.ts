import { LIMITS, extensionContentProblem, type GetMessagesResult, type MessageContent, type WireMessage } from '../wire.js';
import { NetworkError } from './errors.js';
import { ChatsLayer } from './network-chats.js';
import type { ChatRecord, MessageRecord } from './model-types.js';

export { makeDmId } from './network-chats.js';
export { DEFAULT_PASSWORD, type NetworkOptions, type CreateAccountInput } from './network-base.js';

export function makeMessageId(chatId: string, seq: number): string {
  return `${chatId}/${seq}`;
}

export function parseMessageId(id: string): { chatId: string; seq: number } | undefined {
  const slash = id.lastIndexOf('/');
  const seq = Number(id.slice(slash + 1));
  if (slash <= 0 || !Number.isSafeInteger(seq) || seq < 1) return undefined;
  return { chatId: id.slice(0, slash), seq };
}

export interface SendOptions { replyTo?: string; clientTxnId?: string; }

/**
 * The whole simulated chat network, in memory: accounts, chats, messages, typing, presence, and
 * one event stream per account. Every mutation takes the acting account and either succeeds
 * (emitting events to everyone concerned, the actor included as `self`) or throws a
 * NetworkError and changes nothing.
 */
export class SandboxNetwork extends ChatsLayer {
  /** (sender, client_txn_id) → message id, so a retried send returns the original message. */
  private readonly txns = new Map<string, string>();
  private readonly typingTimers = new Map<string, NodeJS.Timeout>();

  // --- lookups --------------------------------------------------------------------------------

  private locate(id: string): { chat: ChatRecord; message: MessageRecord } | undefined {
    const parsed = parseMessageId(id);
    const chat = parsed && this.chats.get(parsed.chatId);
    const message = parsed && chat?.messages[parsed.seq - 1];
    return chat && message ? { chat, message } : undefined;
  }

  /** Any message (control API). */
  message(id: string): WireMessage {
    const found = this.locate(id);
    if (!found) throw new NetworkError('not_found', `no message "${id}"`);
    return structuredClone(found.message);
  }

  private memberMessage(user: string, id: string): { chat: ChatRecord; message: MessageRecord } {
    const found = this.locate(id);
    if (!found || !found.chat.members.has(user)) throw new NetworkError('not_found', `no message "${id}" for ${user}`);
    return found;
  }

  /** Members whose read receipt is at or after the message. */
  readBy(chat: ChatRecord, message: MessageRecord): string[] {
    const out: string[] = [];
    for (const [user, last] of chat.read) if ((parseMessageId(last)?.seq ?? 0) >= message.seq) out.push(user);
    return out;
  }

  getMessages(user: string, chatId: string, q: { after?: string; before?: string; limit?: number }): GetMessagesResult {
    const chat = this.memberChat(user, chatId);
    const limit = Math.min(q.limit ?? 50, LIMITS.pageSize);
    const seqOf = (id: string): number => {
      const p = parseMessageId(id);
      if (!p || p.chatId !== chatId || !chat.messages[p.seq - 1]) throw new NetworkError('not_found', `no message "${id}" in ${chatId}`);
      return p.seq;
    };
    // Index range [lo, hi) of chat.messages; seq n sits at index n-1.
    let lo = q.after !== undefined ? seqOf(q.after) : 0;
    let hi = q.before !== undefined ? seqOf(q.before) - 1 : chat.messages.length;
    let hasMore: boolean;
    if (q.after !== undefined) {
      hasMore = hi - lo > limit;
      hi = Math.min(hi, lo + limit);
    } else {
      hasMore = hi - lo > limit;
      lo = Math.max(lo, hi - limit);
    }
    return { messages: structuredClone(chat.messages.slice(lo, Math.max(lo, hi))), has_more: hasMore };
  }

  // --- messages -------------------------------------------------------------------------------

  private checkContent(content: MessageContent): void {
    if ((content.kind === 'text' || content.kind === 'notice') && content.text.trim() === '') {
      throw new NetworkError('bad_request', 'empty text');
    }
    if (content.kind === 'image' || content.kind === 'video' || content.kind === 'audio' || content.kind === 'file') {
      this.requireMedia(content.media_id);
    }
    if (content.kind === 'extension') {
      // The wire and control schemas check this too; in-process callers get no schema.
      const problem = extensionContentProblem(content);
      if (problem) throw new NetworkError('bad_request', `extension content: ${problem}`);
    }
  }

  send(actor: string, chatId: string, content: MessageContent, opts: SendOptions = {}): { message: WireMessage; duplicate: boolean } {
    const txnKey = opts.clientTxnId === undefined ? undefined : `${actor}\u0000${opts.clientTxnId}`;
    const previous = txnKey === undefined ? undefined : this.txns.get(txnKey);
    const original = previous === undefined ? undefined : this.locate(previous);
    if (original) return { message: structuredClone(original.message), duplicate: true };

    const chat = this.memberChat(actor, chatId);
    this.checkContent(content);
    if (opts.replyTo !== undefined) {
      const target = this.locate(opts.replyTo);
      if (!target || target.chat !== chat) throw new NetworkError('not_found', `reply target "${opts.replyTo}" is not in ${chatId}`);
    }
    const seq = chat.messages.length + 1;
    const message: MessageRecord = {
      id: makeMessageId(chat.id, seq), chat_id: chat.id, seq, sender: actor, ts: this.now(),
      content: structuredClone(content), reply_to: opts.replyTo ?? null,
      edits: [], edit_count: 0, deleted: false, reactions: [], delivered_to: [],
      client_txn_id: opts.clientTxnId ?? null,
    };
    chat.messages.push(message);
    if (txnKey !== undefined) this.txns.set(txnKey, message.id);
    this.clearTyping(chat.id, actor);
    const copy = structuredClone(message);
    this.emitTo(chat.members.keys(), actor, { type: 'message', ts: message.ts, chat_id: chat.id, message: copy });
    return { message: copy, duplicate: false };
  }

  edit(actor: string, id: string, content: MessageContent): WireMessage {
    const { chat, message } = this.memberMessage(actor, id);
    if (message.sender !== actor) throw new NetworkError('forbidden', 'only the sender can edit a message');
    if (message.deleted) throw new NetworkError('bad_request', 'message is deleted');
    this.checkContent(content);
    const old = message.content;
    let next: MessageContent;
    if (old.kind === 'extension') {
      // The sandbox cannot merge a caption-like edit into a payload it does not understand.
      if (content.kind !== 'extension' || content.network !== old.network) {
        throw new NetworkError('bad_request', `a ${old.network} extension message can only be edited with ${old.network} extension content`);
      }
      next = structuredClone(content);
    } else if ((old.kind === 'text' || old.kind === 'notice') && content.kind === old.kind) {
      next = structuredClone(content);
    } else if ((old.kind === 'image' || old.kind === 'video' || old.kind === 'audio' || old.kind === 'file') && content.kind === 'text') {
      // Editing a media message replaces its caption.
      next = { ...old, caption: { text: content.text, entities: structuredClone(content.entities) } };
    } else {
      throw new NetworkError('unsupported', `cannot edit a ${old.kind} message into ${content.kind}`);
    }
    const ts = this.now();
    message.edits.push({ content: old, ts });
    message.content = next;
    message.edit_count++;
    const copy = structuredClone(message);
    this.emitTo(chat.members.keys(), actor, { type: 'edit', ts, chat_id: chat.id, message: copy });
    return copy;
  }

  /** Sender, or a group admin/owner. Deleting twice is a no-op. */
  deleteMessage(actor: string, id: string): WireMessage {
    const { chat, message } = this.memberMessage(actor, id);
    if (message.sender !== actor) {
      const role = chat.members.get(actor);
      if (chat.type !== 'group' || (role !== 'admin' && role !== 'owner')) throw new NetworkError('forbidden', 'only the sender or an admin can delete');
    }
    if (!message.deleted) {
      message.deleted = true;
      this.emitTo(chat.members.keys(), actor, { type: 'delete', ts: this.now(), chat_id: chat.id, message_id: id, by: actor });
    }
    return structuredClone(message);
  }

  /** One reaction per user per message: a new emoji replaces the old one. */
  react(actor: string, id: string, emoji: string): WireMessage {
    const { chat, message } = this.memberMessage(actor, id);
    if (message.deleted) throw new NetworkError('bad_request', 'message is deleted');
    if (!emoji || emoji.length > LIMITS.emojiLength) throw new NetworkError('bad_request', 'bad emoji');
    const existing = message.reactions.find((r) => r.user_id === actor);
    if (existing?.emoji === emoji) return structuredClone(message);
    const ts = this.now();
    message.reactions = message.reactions.filter((r) => r.user_id !== actor);
    message.reactions.push({ user_id: actor, emoji, ts });
    this.emitTo(chat.members.keys(), actor, {
      type: 'reaction', ts, chat_id: chat.id, message_id: id, user_id: actor, emoji, replaced: existing?.emoji ?? null,
    });
    return structuredClone(message);
  }

  unreact(actor: string, id: string): WireMessage {
    const { chat, message } = this.memberMessage(actor, id);
    const existing = message.reactions.find((r) => r.user_id === actor);
    if (existing) {
      message.reactions = message.reactions.filter((r) => r.user_id !== actor);
      this.emitTo(chat.members.keys(), actor, {
        type: 'reaction_removed', ts: this.now(), chat_id: chat.id, message_id: id, user_id: actor, emoji: existing.emoji,
      });
    }
    return structuredClone(message);
  }

  /** Read receipts only move forward; an older message is accepted and ignored. */
  markRead(actor: string, chatId: string, messageId: string): void {
    const chat = this.memberChat(actor, chatId);
    const target = this.locate(messageId);
    if (!target || target.chat !== chat) throw new NetworkError('not_found', `no message "${messageId}" in ${chatId}`);
    const current = chat.read.get(actor);
    if (current !== undefined && (parseMessageId(current)?.seq ?? 0) >= target.message.seq) return;
    chat.read.set(actor, messageId);
    this.emitTo(chat.members.keys(), actor, { type: 'read', ts: this.now(), chat_id: chat.id, user_id: actor, message_id: messageId });
  }

  protected override onDelivered(account: string, messageId: string): void {
    const found = this.locate(messageId);
    if (!found || found.message.delivered_to.includes(account) || found.message.sender === account) return;
    found.message.delivered_to.push(account);
    // Told to the sender only: "your message reached <account>'s device".
    this.emitTo([found.message.sender], account, {
      type: 'delivered', ts: this.now(), chat_id: found.chat.id, user_id: account, message_id: messageId,
    });
  }

  // --- typing (ephemeral: never persisted or replayed) ---------------------------------------

  setTyping(actor: string, chatId: string, typing: boolean): void {
    const chat = this.memberChat(actor, chatId);
    const key = `${chat.id}\u0000${actor}`;
    const wasTyping = this.typingTimers.has(key);
    clearTimeout(this.typingTimers.get(key));
    this.typingTimers.delete(key);
    if (typing) {
      const timer = setTimeout(() => this.clearTyping(chat.id, actor), this.typingTimeoutMs);
      timer.unref();
      this.typingTimers.set(key, timer);
    }
    if (typing || wasTyping) this.emitTyping(chat, actor, typing);
  }

  protected override clearTyping(chatId: string, user: string): void {
    const key = `${chatId}\u0000${user}`;
    if (!this.typingTimers.has(key)) return;
    clearTimeout(this.typingTimers.get(key));
    this.typingTimers.delete(key);
    const chat = this.chats.get(chatId);
    if (chat) this.emitTyping(chat, user, false);
  }

  private emitTyping(chat: ChatRecord, user: string, typing: boolean): void {
    // A user who just left still hears their own typing stop.
    const recipients = [...chat.members.keys(), user];
    this.emitTo(recipients, user, {
      type: 'typing', ts: this.now(), chat_id: chat.id, user_id: user, typing, timeout_ms: typing ? this.typingTimeoutMs : 0,
    }, true);
  }

  isTyping(chatId: string, user: string): boolean {
    return this.typingTimers.has(`${chatId}\u0000${user}`);
  }

  // --- lifecycle ------------------------------------------------------------------------------

  protected override afterRestore(): void {
    this.txns.clear();
    for (const chat of this.chats.values()) {
      for (const m of chat.messages) if (m.client_txn_id !== null) this.txns.set(`${m.sender}\u0000${m.client_txn_id}`, m.id);
    }
  }

  /** Stops the typing timers. */
  close(): void {
    for (const timer of this.typingTimers.values()) clearTimeout(timer);
    this.typingTimers.clear();
  }
}
