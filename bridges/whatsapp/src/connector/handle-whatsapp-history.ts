/**
 * History sync (`messaging-history.set`) -> one RemoteBackfill per chat, oldest first. The set's
 * LID/phone pairs and contacts are reported before its messages are read, so history senders
 * addressed by LID resolve to their phone-number ghosts.
 */
import { emojiId, portalKeyString, type BackfillMessage, type PortalKey, type RemoteEvent } from '@tributary/core/network/index';
import { normalizeMessageContent, type BaileysEventMap, type proto, type WAMessage } from 'baileys';
import { convertWAMessage } from '../msgconv/to-matrix.js';
import type { WAEventHandler } from './handle-whatsapp.js';
import { makeMessageId } from './ids.js';

/** Content keys that carry nothing to show. */
const NOT_CONTENT = new Set(['messageContextInfo', 'senderKeyDistributionMessage', 'fastRatchetKeySenderKeyDistributionMessage']);
/** Kinds that are not messages of their own (poll votes, encrypted reactions, pins). */
const INVISIBLE = new Set(['pollUpdateMessage', 'encReactionMessage', 'encEventResponseMessage', 'keepInChatMessage', 'pinInChatMessage', 'encCommentMessage']);

/** Whether (unwrapped) content has something besides key distribution, context info and invisible kinds. */
export function hasVisibleContent(content: proto.IMessage): boolean {
  const kinds = Object.keys(content).filter((k) => !NOT_CONTENT.has(k));
  return kinds.length > 0 && !kinds.every((k) => INVISIBLE.has(k));
}

type Long = number | { toNumber(): number } | null | undefined;
/** Seconds since the epoch (number or Long) -> milliseconds; now when absent. */
export function msOf(seconds: Long): number {
  const s = typeof seconds === 'number' ? seconds : seconds ? seconds.toNumber() : 0;
  return s > 0 ? s * 1000 : Date.now();
}

type Handler = Pick<WAEventHandler, 'learn' | 'contacts' | 'portalOf' | 'keySender' | 'deps'>;

async function backfillMessage(h: Handler, msg: WAMessage): Promise<{ portal: PortalKey; msg: BackfillMessage } | undefined> {
  const key = msg.key;
  if (!key?.id) return undefined;
  const content = normalizeMessageContent(msg.message);
  if (!content || !hasVisibleContent(content) || content.protocolMessage || content.reactionMessage) return undefined;
  const portal = await h.portalOf(key.remoteJid, key.remoteJidAlt);
  const sender = await h.keySender(key);
  if (!portal || !sender) return undefined;
  const timestamp = msOf(msg.messageTimestamp);
  const reactions: NonNullable<BackfillMessage['reactions']> = [];
  for (const r of msg.reactions ?? []) {
    const reactor = r.key ? await h.keySender(r.key) : undefined;
    if (reactor && r.text) reactions.push({ sender: reactor, emojiId: emojiId(r.text), emoji: r.text, timestamp: r.senderTimestampMs ? Number(r.senderTimestampMs) : timestamp });
  }
  return {
    portal,
    msg: {
      id: makeMessageId(portal.id, sender.user, key.id), sender, timestamp,
      convert: (ctx) => convertWAMessage(msg, ctx, h.deps),
      ...(reactions.length ? { reactions } : {}),
    },
  };
}

export async function historyEvents(h: Handler, set: BaileysEventMap['messaging-history.set']): Promise<RemoteEvent[]> {
  await h.learn(set.lidPnMappings ?? []);
  await h.contacts(set.contacts ?? []);
  const chats = new Map<string, { portal: PortalKey; items: Array<{ msg: BackfillMessage; order: number }> }>();
  // History arrives newest first; reversed, equal timestamps keep the order they were sent in.
  const messages = [...(set.messages ?? [])].reverse();
  for (const [order, msg] of messages.entries()) {
    const item = await backfillMessage(h, msg);
    if (!item) continue;
    const k = portalKeyString(item.portal);
    let chat = chats.get(k);
    if (!chat) chats.set(k, (chat = { portal: item.portal, items: [] }));
    chat.items.push({ msg: item.msg, order });
  }
  const out: RemoteEvent[] = [];
  for (const { portal, items } of chats.values()) {
    items.sort((a, b) => a.msg.timestamp - b.msg.timestamp || a.order - b.order);
    const last = items[items.length - 1];
    out.push({ type: 'backfill', portal, timestamp: last ? last.msg.timestamp : Date.now(), messages: items.map((i) => i.msg) });
  }
  return out;
}
