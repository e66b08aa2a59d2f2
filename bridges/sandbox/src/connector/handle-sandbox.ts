/**
 * Sandbox wire events -> RemoteEvents. Events are queued in the order the network sent them; the
 * durable sync position (`since`) advances only over events the core has finished handling, so a
 * crash replays exactly the unfinished ones and the core's dedup drops what was already bridged.
 */
import type { ChatInfo, ChatMember, QueuedEvent, RemoteEvent, RemoteSender, UserLoginHandle } from '@tributary/core/network/index';
import type { WireChat, WireEvent, WireMessage } from '../wire.js';
import type { SandboxPort } from './port.js';
import { makeEmojiId, makeMessageId, makePortalKey, makeUserId } from './ids.js';
import { wireToMatrix, contentToMatrix } from './msgconv.js';
import { partId } from '@tributary/core/network/index';

/** Matrix power level of each network role (the core's convention). */
export const ROLE_LEVEL = { member: 0, admin: 50, owner: 75 } as const;

export function chatInfoOf(chat: WireChat, login: UserLoginHandle): ChatInfo {
  const members: ChatMember[] = chat.members.map((m) => ({
    user: makeUserId(m.user_id), isFromMe: m.user_id === login.id, membership: 'join', powerLevel: ROLE_LEVEL[m.role],
  }));
  const other = chat.type === 'dm' ? chat.members.find((m) => m.user_id !== login.id)?.user_id : undefined;
  return {
    type: chat.type, members, membersComplete: true,
    ...(chat.name && chat.type === 'group' ? { name: chat.name } : {}),
    ...(chat.topic ? { topic: chat.topic } : {}),
    ...(other ? { otherUser: makeUserId(other) } : {}),
    disappear: chat.disappear_ms ? { type: 'after_send', timerMs: chat.disappear_ms } : null,
  };
}

export class SandboxEventHandler {
  private readonly inFlight: Array<{ seq: number; handled: Promise<void>; settled: boolean }> = [];
  private advancing = false;

  constructor(private readonly login: UserLoginHandle, private readonly port: SandboxPort) {}

  sender(user: string): RemoteSender {
    return { user: makeUserId(user), isFromMe: user === this.login.id };
  }

  /** Called for every event in order; awaits queueing (backpressure), not handling. */
  async onEvent(seq: number, ev: WireEvent): Promise<void> {
    const evts = this.toRemote(ev);
    let last: QueuedEvent | undefined;
    for (const e of evts) last = await this.login.queueRemoteEvent(e);
    const entry = { seq, handled: last?.handled ?? Promise.resolve(), settled: false };
    void entry.handled.then(() => (entry.settled = true));
    this.inFlight.push(entry);
    void this.advance();
  }

  /** Persists `since` past every event whose handling finished, in order. */
  private async advance(): Promise<void> {
    if (this.advancing) return;
    this.advancing = true;
    try {
      while (this.inFlight.length) {
        const head = this.inFlight[0]!;
        await head.handled;
        // Take every consecutive finished entry at once so the metadata write is batched.
        let upTo = head.seq;
        this.inFlight.shift();
        while (this.inFlight.length && this.inFlight[0]!.settled) upTo = this.inFlight.shift()!.seq;
        await this.login.saveMetadata({ since: upTo });
        this.port.ack(upTo);
      }
    } finally {
      this.advancing = false;
    }
  }

  private message(m: WireMessage, ev: WireEvent): RemoteEvent {
    return {
      type: 'message', portal: makePortalKey({ id: m.chat_id, type: m.chat_id.startsWith('dm:') ? 'dm' : 'group' }, this.login.id),
      id: makeMessageId(m.id), sender: this.sender(m.sender), timestamp: m.ts,
      ...(ev.self && m.client_txn_id ? { echoOf: m.client_txn_id } : {}),
      convert: (ctx) => wireToMatrix(this.port, m, ctx),
    };
  }

  toRemote(ev: WireEvent): RemoteEvent[] {
    const key = (chatId: string) => makePortalKey({ id: chatId, type: chatId.startsWith('dm:') ? 'dm' : 'group' }, this.login.id);
    switch (ev.type) {
      case 'message':
        return [this.message(ev.message, ev)];
      case 'edit': {
        const m = ev.message;
        return [{
          type: 'edit', portal: key(m.chat_id), target: makeMessageId(m.id), sender: this.sender(m.sender), timestamp: ev.ts, editCount: m.edit_count,
          convert: async (ctx) => ({ modifiedParts: [{ partId: partId(''), content: await contentToMatrix(this.port, m.content, ctx) }] }),
        }];
      }
      case 'delete':
        return [{ type: 'message_remove', portal: key(ev.chat_id), target: makeMessageId(ev.message_id), sender: this.sender(ev.by), timestamp: ev.ts }];
      case 'reaction':
        return [{
          type: 'reaction', portal: key(ev.chat_id), target: makeMessageId(ev.message_id), sender: this.sender(ev.user_id),
          timestamp: ev.ts, emojiId: makeEmojiId(ev.emoji), emoji: ev.emoji, replacesOthers: true,
        }];
      case 'reaction_removed':
        return [{ type: 'reaction_remove', portal: key(ev.chat_id), target: makeMessageId(ev.message_id), sender: this.sender(ev.user_id), timestamp: ev.ts, emojiId: makeEmojiId(ev.emoji) }];
      case 'read':
        return [{ type: 'read_receipt', portal: key(ev.chat_id), target: makeMessageId(ev.message_id), sender: this.sender(ev.user_id), timestamp: ev.ts }];
      case 'delivered':
        if (ev.user_id === this.login.id) return [];
        return [{ type: 'delivery_receipt', portal: key(ev.chat_id), targets: [makeMessageId(ev.message_id)], sender: this.sender(ev.user_id), timestamp: ev.ts }];
      case 'typing':
        return [{ type: 'typing', portal: key(ev.chat_id), sender: this.sender(ev.user_id), timestamp: ev.ts, timeoutMs: ev.typing ? ev.timeout_ms : 0 }];
      case 'presence':
        this.login.updatePresence({ user: makeUserId(ev.user_id), presence: ev.presence.online ? 'online' : 'offline' });
        return [];
      case 'chat_created':
        return [{ type: 'chat_resync', portal: key(ev.chat.id), timestamp: ev.ts, info: chatInfoOf(ev.chat, this.login), createPortal: true }];
      case 'chat_updated':
        return [{
          type: 'chat_info_change', portal: key(ev.chat.id), sender: this.sender(ev.by), timestamp: ev.ts,
          change: {
            ...(ev.changed.includes('name') ? { name: ev.chat.name ?? '' } : {}),
            ...(ev.changed.includes('topic') ? { topic: ev.chat.topic ?? '' } : {}),
            ...(ev.changed.includes('disappear') ? { disappear: ev.chat.disappear_ms ? { type: 'after_send' as const, timerMs: ev.chat.disappear_ms } : null } : {}),
            ...(ev.changed.includes('avatar') && ev.chat.avatar ? {
              avatar: { id: ev.chat.avatar, source: { open: async () => (await this.port.downloadMedia(ev.chat.avatar!)).stream, mimetype: 'image/png', filename: 'avatar.png' } },
            } : {}),
          },
        }];
      case 'members_changed': {
        const info = chatInfoOf(ev.chat, this.login);
        if (ev.change === 'promote' || ev.change === 'demote') {
          // A role change: the members' new power levels, taken from the chat's member list.
          return [{
            type: 'chat_info_change', portal: key(ev.chat.id), sender: this.sender(ev.by), timestamp: ev.ts,
            change: { members: { changed: info.members!.filter((m) => ev.users.includes(m.user)) } },
          }];
        }
        const joined = ev.change === 'join' || ev.change === 'invite';
        if (ev.users.includes(this.login.id) && joined) {
          return [{ type: 'chat_resync', portal: key(ev.chat.id), timestamp: ev.ts, info, createPortal: true }];
        }
        return [{
          type: 'chat_info_change', portal: key(ev.chat.id), sender: this.sender(ev.by), timestamp: ev.ts,
          change: {
            members: joined
              ? { added: info.members!.filter((m) => ev.users.includes(m.user)) }
              : { removed: ev.users.map((u) => ({ user: makeUserId(u), kicked: ev.change === 'kick', by: makeUserId(ev.by) })) },
          },
        }];
      }
      case 'logged_out':
        void this.login.handleRemoteLogout(ev.reason);
        return [];
    }
  }
}
