/**
 * Sandbox wire events as the Baileys events a WhatsApp socket emits for the same happening:
 * messages, edits (protocolMessage MESSAGE_EDIT), deletions (REVOKE), reactions, receipts
 * (messages.update for DMs and our own reads, message-receipt.update per member in groups),
 * typing and presence (presence.update), and group changes (groups.update, participant updates,
 * the GROUP_CHANGE_ICON stub rc14 emits for pictures). Echoes of what this socket did itself are
 * dropped here: a real socket reports its own sends once, when they are made.
 */
import { generateMessageIDV2, proto, type BaileysEventMap, type ParticipantAction, type WAMessage } from 'baileys';
import type { WireChat, WireEvent } from '@tributary/sandbox/client/index';
import type { SandboxDirectory } from './directory.js';
import { waContentOf, waMessageOf, type ToWAContext } from './to-wa.js';

export type Emission = { [K in keyof BaileysEventMap]: [K, BaileysEventMap[K]] }[keyof BaileysEventMap];

const PROTOCOL = proto.Message.ProtocolMessage.Type;
const STATUS = proto.WebMessageInfo.Status;

/** Actions this socket took whose sandbox echo must not be reported again, counted per message. */
export class OwnActions {
  private readonly pending = new Map<string, number>();

  expect(kind: string, messageId: string): void {
    const k = `${kind}|${messageId}`;
    this.pending.set(k, (this.pending.get(k) ?? 0) + 1);
  }

  /** True (once per expect) when the echo was expected. */
  consume(kind: string, messageId: string): boolean {
    const k = `${kind}|${messageId}`;
    const n = this.pending.get(k) ?? 0;
    if (n === 0) return false;
    if (n === 1) this.pending.delete(k);
    else this.pending.set(k, n - 1);
    return true;
  }
}

export interface EventContext extends ToWAContext {
  own: OwnActions;
}

/** The key of a message as this account sees it (fromMe, participant in groups). */
async function keyOf(dir: SandboxDirectory, chatJid: string, messageId: string): Promise<proto.IMessageKey | undefined> {
  const seen = await dir.seen(messageId);
  if (!seen) return undefined;
  const fromMe = seen.sender === dir.self.id;
  return {
    remoteJid: chatJid, fromMe, id: seen.waId,
    ...(chatJid.endsWith('@g.us') && !fromMe ? { participant: await dir.jidOfAccount(seen.sender) } : {}),
  };
}

/** A message sent by `sender` now, carrying `message` (an edit, revoke or reaction). */
async function actionMessage(dir: SandboxDirectory, chatJid: string, sender: string, ts: number, message: proto.IMessage): Promise<WAMessage> {
  const fromMe = sender === dir.self.id;
  const senderJid = await dir.jidOfAccount(sender);
  return proto.WebMessageInfo.fromObject({
    key: { remoteJid: chatJid, fromMe, id: generateMessageIDV2(senderJid), ...(chatJid.endsWith('@g.us') && !fromMe ? { participant: senderJid } : {}) },
    message,
    messageTimestamp: Math.floor(ts / 1000),
    pushName: (await dir.account(sender)).name,
  }) as WAMessage;
}

const upsert = (msg: WAMessage, type: 'notify' | 'append' = 'notify'): Emission => ['messages.upsert', { messages: [msg], type }];

async function chatJidOf(dir: SandboxDirectory, chatId: string): Promise<string> {
  return dir.chatJid({ id: chatId, type: chatId.startsWith('g:') ? 'group' : 'dm' });
}

async function participantsOf(dir: SandboxDirectory, chat: WireChat, users: string[]): Promise<BaileysEventMap['group-participants.update']['participants']> {
  const roles = new Map(chat.members.map((m) => [m.user_id, m.role]));
  return Promise.all(users.map(async (u) => {
    const role = roles.get(u);
    return { id: await dir.jidOfAccount(u), admin: role === 'owner' ? 'superadmin' as const : role === 'admin' ? 'admin' as const : null };
  }));
}

const ACTIONS: Record<string, ParticipantAction | undefined> = {
  join: 'add', invite: 'add', leave: 'remove', kick: 'remove', promote: 'promote', demote: 'demote',
};

export async function translateEvent(e: WireEvent, ctx: EventContext): Promise<Emission[]> {
  const dir = ctx.directory;
  switch (e.type) {
    case 'message': {
      if (e.self && e.message.client_txn_id?.startsWith('wa:')) {
        dir.noteMessage(e.message);
        return [];
      }
      return [upsert(await waMessageOf(e.message, await chatJidOf(dir, e.chat_id), ctx))];
    }
    case 'edit': {
      if (e.self && ctx.own.consume('edit', e.message.id)) return [];
      const chatJid = await chatJidOf(dir, e.chat_id);
      const key = await keyOf(dir, chatJid, e.message.id);
      if (!key) return [];
      const editedMessage = await waContentOf(e.message.content, ctx);
      return [upsert(await actionMessage(dir, chatJid, e.message.sender, e.ts, {
        protocolMessage: { type: PROTOCOL.MESSAGE_EDIT, key, editedMessage, timestampMs: e.ts },
      }))];
    }
    case 'delete': {
      if (e.self && ctx.own.consume('delete', e.message_id)) return [];
      const chatJid = await chatJidOf(dir, e.chat_id);
      const key = await keyOf(dir, chatJid, e.message_id);
      if (!key) return [];
      return [upsert(await actionMessage(dir, chatJid, e.by, e.ts, { protocolMessage: { type: PROTOCOL.REVOKE, key } }))];
    }
    case 'reaction':
    case 'reaction_removed': {
      const removed = e.type === 'reaction_removed';
      if (e.self && ctx.own.consume(removed ? 'unreact' : 'react', e.message_id)) return [];
      const chatJid = await chatJidOf(dir, e.chat_id);
      const key = await keyOf(dir, chatJid, e.message_id);
      if (!key) return [];
      return [upsert(await actionMessage(dir, chatJid, e.user_id, e.ts, {
        reactionMessage: { key, text: removed ? '' : e.emoji, senderTimestampMs: e.ts },
      }))];
    }
    case 'read':
    case 'delivered':
      return receiptOf(e, ctx);
    case 'typing': {
      if (e.self) return [];
      const userJid = await dir.jidOfAccount(e.user_id);
      return [['presence.update', { id: await chatJidOf(dir, e.chat_id), presences: { [userJid]: { lastKnownPresence: e.typing ? 'composing' : 'paused' } } }]];
    }
    case 'presence': {
      if (e.self) return [];
      const userJid = await dir.jidOfAccount(e.user_id);
      const lastSeen = e.presence.last_seen ? Math.floor(e.presence.last_seen / 1000) : undefined;
      return [['presence.update', {
        id: userJid,
        presences: { [userJid]: { lastKnownPresence: e.presence.online ? 'available' : 'unavailable', ...(lastSeen ? { lastSeen } : {}) } },
      }]];
    }
    case 'chat_created':
      return [['chats.upsert', [{ id: await dir.chatJid(e.chat), conversationTimestamp: Math.floor(e.chat.created_at / 1000), ...(e.chat.name ? { name: e.chat.name } : {}) }]]];
    case 'chat_updated':
      return chatUpdateOf(e, ctx);
    case 'members_changed': {
      const action = ACTIONS[e.change];
      if (!action || e.chat.type !== 'group') return [];
      const id = await dir.chatJid(e.chat);
      return [['group-participants.update', { id, author: await dir.jidOfAccount(e.by), participants: await participantsOf(dir, e.chat, e.users), action }]];
    }
    default:
      return []; // logged_out is the socket's business
  }
}

async function receiptOf(e: Extract<WireEvent, { type: 'read' | 'delivered' }>, ctx: EventContext): Promise<Emission[]> {
  const dir = ctx.directory;
  const chatJid = await chatJidOf(dir, e.chat_id);
  const key = await keyOf(dir, chatJid, e.message_id);
  if (!key) return [];
  const read = e.type === 'read';
  if (e.user_id === dir.self.id) {
    // We read on another device (the phone); our own mark_read echoes back and is dropped.
    if (!read || ctx.own.consume('read', e.message_id) || key.fromMe) return [];
    return [['messages.update', [{ key, update: { status: STATUS.READ, messageTimestamp: Math.floor(e.ts / 1000) } }]]];
  }
  if (!key.fromMe) return []; // WhatsApp reports receipts only for our own messages
  if (!chatJid.endsWith('@g.us')) {
    return [['messages.update', [{ key, update: { status: read ? STATUS.READ : STATUS.DELIVERY_ACK, messageTimestamp: Math.floor(e.ts / 1000) } }]]];
  }
  const userJid = await dir.jidOfAccount(e.user_id);
  const at = Math.floor(e.ts / 1000);
  return [['message-receipt.update', [{ key, receipt: { userJid, ...(read ? { readTimestamp: at } : { receiptTimestamp: at }) } }]]];
}

async function chatUpdateOf(e: Extract<WireEvent, { type: 'chat_updated' }>, ctx: EventContext): Promise<Emission[]> {
  const dir = ctx.directory;
  const id = await dir.chatJid(e.chat);
  const author = await dir.jidOfAccount(e.by);
  const out: Emission[] = [];
  const update: Partial<BaileysEventMap['groups.update'][number]> = { id, author };
  if (e.chat.type === 'group' && e.changed.includes('name') && e.chat.name) update.subject = e.chat.name;
  if (e.chat.type === 'group' && e.changed.includes('topic')) update.desc = e.chat.topic ?? '';
  if (update.subject !== undefined || update.desc !== undefined) out.push(['groups.update', [update]]);
  if (e.chat.type === 'group' && e.changed.includes('avatar')) {
    out.push(upsert(proto.WebMessageInfo.fromObject({
      key: { remoteJid: id, fromMe: e.by === dir.self.id, id: generateMessageIDV2(author), participant: author },
      messageTimestamp: Math.floor(e.ts / 1000),
      messageStubType: proto.WebMessageInfo.StubType.GROUP_CHANGE_ICON,
      messageStubParameters: e.chat.avatar ? [e.chat.avatar] : [],
      participant: author,
    }) as WAMessage, 'append'));
  }
  if (e.changed.includes('disappear')) {
    const seconds = e.chat.disappear_ms ? Math.round(e.chat.disappear_ms / 1000) : 0;
    out.push(upsert(await actionMessage(dir, id, e.by, e.ts, { protocolMessage: { type: PROTOCOL.EPHEMERAL_SETTING, ephemeralExpiration: seconds } })));
  }
  return out;
}
