/**
 * History messages -> backfill: which history messages are bridged, each as a BackfillMessage of
 * its chat, and a chat's messages as one RemoteBackfill, oldest first. When and how many is
 * history-sync.ts's business (the limits); the set's LID/phone pairs and contacts are reported
 * before its messages are read, so history senders addressed by LID resolve to their phone-number
 * ghosts.
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

type Handler = Pick<WAEventHandler, 'portalOf' | 'keySender' | 'deps'>;

/** A history message the bridge shows, with its chat. */
export interface HistoryItem {
  portal: PortalKey;
  msg: BackfillMessage;
  raw: WAMessage;
}

async function backfillMessage(h: Handler, msg: WAMessage): Promise<HistoryItem | undefined> {
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
    portal, raw: msg,
    msg: {
      id: makeMessageId(portal.id, sender.user, key.id), sender, timestamp,
      convert: (ctx) => convertWAMessage(msg, ctx, h.deps),
      ...(reactions.length ? { reactions } : {}),
    },
  };
}

/**
 * The bridgeable messages of a history set, in the order they were sent: history arrives newest
 * first, so the set is read backwards (equal timestamps keep their order).
 */
export async function historyItems(h: Handler, messages: readonly WAMessage[]): Promise<HistoryItem[]> {
  const out: HistoryItem[] = [];
  for (const msg of [...messages].reverse()) {
    const item = await backfillMessage(h, msg);
    if (item) out.push(item);
  }
  return out;
}

/** Poll votes of a history set (not messages of their own; they count towards a poll's tally). */
export function isPollVote(msg: WAMessage): boolean {
  return Boolean(normalizeMessageContent(msg.message)?.pollUpdateMessage);
}

/** One chat's messages (already in order) as a RemoteBackfill. */
export function backfillEvent(portal: PortalKey, messages: BackfillMessage[]): RemoteEvent {
  const last = messages[messages.length - 1];
  return { type: 'backfill', portal, timestamp: last ? last.timestamp : Date.now(), messages };
}

/** Every bridgeable message of a set, one backfill per chat, oldest first (no limits: on-demand history). */
export async function historyEvents(h: Handler, set: Pick<BaileysEventMap['messaging-history.set'], 'messages'>): Promise<RemoteEvent[]> {
  const chats = new Map<string, { portal: PortalKey; items: Array<{ msg: BackfillMessage; order: number }> }>();
  for (const [order, item] of (await historyItems(h, set.messages ?? [])).entries()) {
    const k = portalKeyString(item.portal);
    let chat = chats.get(k);
    if (!chat) chats.set(k, (chat = { portal: item.portal, items: [] }));
    chat.items.push({ msg: item.msg, order });
  }
  return [...chats.values()].map(({ portal, items }) =>
    backfillEvent(portal, items.sort((a, b) => a.msg.timestamp - b.msg.timestamp || a.order - b.order).map((i) => i.msg)));
}
