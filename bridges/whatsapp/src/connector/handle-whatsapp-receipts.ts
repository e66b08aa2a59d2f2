/**
 * Receipts, typing and presence from WhatsApp: a message's status in `messages.update` (read or
 * delivered in a DM, or read by us on another device), per-user receipts of groups
 * (`message-receipt.update`), and `presence.update` (online / offline with last seen, which goes
 * to the core outside the portal queues, and typing / recording, which are portal events).
 */
import type { PortalKey, RemoteEvent } from '@tributary/core/network/index';
import { isJidStatusBroadcast, proto, type BaileysEventMap, type WAMessage, type WAMessageKey } from 'baileys';
import type { WAEventHandler } from './handle-whatsapp.js';
import { msOf } from './handle-whatsapp-history.js';

/** How long a "composing" presence shows as typing unless WhatsApp says "paused" first. */
export const TYPING_TIMEOUT_MS = 30_000;

const STATUS = proto.WebMessageInfo.Status;

type Handler = Pick<WAEventHandler, 'portalOf' | 'senderOf' | 'targetOf' | 'me' | 'login' | 'phoneSeen'>;

/** A message's new status (messages.update): read, played or delivered. */
async function fromStatus(h: Handler, portal: PortalKey, key: WAMessageKey, update: Partial<WAMessage>, timestamp: number): Promise<RemoteEvent[]> {
  const status = update.status;
  if (status !== STATUS.READ && status !== STATUS.PLAYED && status !== STATUS.DELIVERY_ACK) return [];
  const target = await h.targetOf(portal, key);
  if (!target) return [];
  if (!key.fromMe) {
    // We read it on another device (a sign of the phone, see phone-watchdog.ts).
    if (status === STATUS.DELIVERY_ACK) return [];
    h.phoneSeen();
    return [{ type: 'read_receipt', portal, sender: h.me(), target, timestamp }];
  }
  if (!portal.receiver || isJidStatusBroadcast(portal.id)) return []; // groups report per user (message-receipt.update)
  const other = await h.senderOf(portal.id);
  if (!other || other.isFromMe) return [];
  return status === STATUS.DELIVERY_ACK
    ? [{ type: 'delivery_receipt', portal, sender: other, targets: [target], timestamp }]
    : [{ type: 'read_receipt', portal, sender: other, target, timestamp }];
}

/** A group member's receipt (message-receipt.update). */
async function fromReceipt(h: Handler, key: WAMessageKey, receipt: proto.IUserReceipt): Promise<RemoteEvent[]> {
  const portal = await h.portalOf(key.remoteJid, key.remoteJidAlt);
  const reader = await h.senderOf(receipt.userJid);
  if (!portal || !reader || reader.isFromMe) return [];
  const target = await h.targetOf(portal, key);
  if (!target) return [];
  const read = receipt.readTimestamp ?? receipt.playedTimestamp;
  if (read) return [{ type: 'read_receipt', portal, sender: reader, target, timestamp: msOf(read) }];
  if (receipt.receiptTimestamp) return [{ type: 'delivery_receipt', portal, sender: reader, targets: [target], timestamp: msOf(receipt.receiptTimestamp) }];
  return [];
}

async function fromPresence(h: Handler, p: BaileysEventMap['presence.update']): Promise<RemoteEvent[]> {
  const out: RemoteEvent[] = [];
  const portal = await h.portalOf(p.id);
  for (const [jid, data] of Object.entries(p.presences ?? {})) {
    const sender = await h.senderOf(jid);
    const state = data?.lastKnownPresence;
    if (sender?.isFromMe && state === 'available') h.phoneSeen();
    if (!sender || sender.isFromMe) continue;
    if (state === 'available' || state === 'unavailable') {
      const lastSeen = typeof data.lastSeen === 'number' && data.lastSeen > 0 ? Math.max(0, Date.now() - data.lastSeen * 1000) : undefined;
      h.login.updatePresence({ user: sender.user, presence: state === 'available' ? 'online' : 'offline', ...(lastSeen !== undefined ? { lastActiveAgoMs: lastSeen } : {}) });
    } else if (portal && (state === 'composing' || state === 'recording' || state === 'paused')) {
      out.push({ type: 'typing', portal, sender, timestamp: Date.now(), timeoutMs: state === 'paused' ? 0 : TYPING_TIMEOUT_MS });
    }
  }
  return out;
}

export const receiptEvents = { fromStatus, fromReceipt, fromPresence };
