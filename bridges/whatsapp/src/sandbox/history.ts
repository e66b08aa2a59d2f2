/**
 * The history a phone sends a newly linked device, built from the sandbox's chats: one
 * `proto.HistorySync` (INITIAL_BOOTSTRAP, conversations newest message first, push names) run
 * through Baileys' own `processHistoryMessage`, as the real socket does with each downloaded blob.
 * Reactions ride on their messages like in WhatsApp's history. The connector applies its own
 * chat and message limits; this sends what a phone would, up to PHONE_MESSAGES per chat.
 */
import { processHistoryMessage, proto, type BaileysEventMap, type WAMessage } from 'baileys';
import type { WireChat, WireMessage } from '@tributary/sandbox/client/index';
import type { EventContext } from './events.js';
import { waMessageOf } from './to-wa.js';

const PHONE_MESSAGES = 500;

async function withReactions(msg: WireMessage, wa: WAMessage, ctx: EventContext): Promise<WAMessage> {
  if (msg.reactions.length === 0) return wa;
  const dir = ctx.directory;
  const reactions: proto.IReaction[] = [];
  for (const r of msg.reactions) {
    const fromMe = r.user_id === dir.self.id;
    const jid = await dir.jidOfAccount(r.user_id);
    reactions.push({
      key: { remoteJid: wa.key.remoteJid, fromMe, id: `${wa.key.id}R`, ...(fromMe ? {} : { participant: jid }) },
      text: r.emoji, senderTimestampMs: r.ts,
    });
  }
  wa.reactions = reactions;
  return wa;
}

async function conversationOf(chat: WireChat, ctx: EventContext): Promise<proto.IConversation> {
  const id = await ctx.directory.chatJid(chat);
  const { messages } = await ctx.client.getMessages(chat.id, { limit: PHONE_MESSAGES });
  const out: proto.IHistorySyncMsg[] = [];
  for (const m of [...messages].reverse()) {
    if (m.deleted) continue;
    try {
      out.push({ message: await withReactions(m, await waMessageOf(m, id, ctx), ctx) });
    } catch {
      // A message whose media is gone is skipped, as a phone skips what it no longer has.
    }
  }
  const last = messages[messages.length - 1];
  return {
    id, messages: out,
    ...(chat.name ? { name: chat.name } : {}),
    conversationTimestamp: Math.floor((last?.ts ?? chat.created_at) / 1000),
  };
}

/**
 * The history sets a phone sends a new device: the bootstrap with every chat of the account, then
 * a RECENT set at 100% that says the sync is complete (as a phone ends its initial sync).
 */
export async function initialHistory(ctx: EventContext): Promise<Array<BaileysEventMap['messaging-history.set']>> {
  const chats = await ctx.client.getChats();
  const conversations: proto.IConversation[] = [];
  for (const chat of chats) conversations.push(await conversationOf(chat, ctx));
  conversations.sort((a, b) => Number(b.conversationTimestamp ?? 0) - Number(a.conversationTimestamp ?? 0));
  const contacts = await ctx.directory.loadContacts();
  const sync = proto.HistorySync.fromObject({
    syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
    conversations,
    pushnames: await Promise.all(contacts.map(async (c) => ({ id: await ctx.directory.jidOfAccount(c.id), pushname: c.name }))),
  });
  const processed = processHistoryMessage(sync, ctx.logger);
  const done = processHistoryMessage(proto.HistorySync.fromObject({ syncType: proto.HistorySync.HistorySyncType.RECENT, conversations: [], progress: 100 }), ctx.logger);
  return [{ ...processed, isLatest: true }, { ...done, isLatest: false, progress: 100 }];
}

/** Older messages of one chat (fetchMessageHistory), as an ON_DEMAND history set. */
export async function olderHistory(chatId: string, before: string, count: number, ctx: EventContext): Promise<BaileysEventMap['messaging-history.set']> {
  const chat = await ctx.client.getChat(chatId);
  const id = await ctx.directory.chatJid(chat);
  const { messages } = await ctx.client.getMessages(chatId, { before, limit: Math.min(Math.max(count, 1), PHONE_MESSAGES) });
  const out: WAMessage[] = [];
  for (const m of [...messages].reverse()) if (!m.deleted) out.push(await waMessageOf(m, id, ctx));
  return { chats: [], contacts: [], messages: out, syncType: proto.HistorySync.HistorySyncType.ON_DEMAND, isLatest: false };
}
