/**
 * Encrypted Matrix events in a portal, handled in the portal's queue: an event whose key has not
 * arrived holds the queue (later events of the chat wait behind it, so order is kept) for up to
 * `encryption.undecryptable_notice_after_seconds`. Then the sender is told, and the event is kept
 * (in kv, so a restart keeps it too): when its key turns up later, it is bridged then and the notice
 * is edited to say so. After `encryption.late_key_max_hours` the bridge stops waiting, drops the
 * row and edits the notice to say the message was never bridged.
 */
import type { MatrixRoomEvent } from '../matrix/transaction.js';
import { sendFailureStatus } from './message-status.js';
import { BridgeError } from '../network/index.js';
import type { Bridge } from './bridge.js';
import type { Portal } from './portal.js';
import { handleMatrixEvent } from './portal-matrix.js';

/** Types the bridge would send to the network; anything else in plaintext is simply not bridged. */
const MESSAGE_TYPES = new Set(['m.room.message', 'm.sticker', 'm.reaction']);
const LATE_PREFIX = 'crypto.late:';

interface LateEvent {
  event: MatrixRoomEvent;
  noticeId?: string;
  /** When the bridge gave up waiting in the queue (ms); rows from before this field use the event's own time. */
  since?: number;
}

/** Handles one Matrix event of the portal, decrypting it first when it is encrypted. */
export async function handlePortalMatrixEvent(portal: Portal, ev: MatrixRoomEvent): Promise<void> {
  const b = portal.bridge;
  const crypto = b.crypto;
  if (ev.type === 'm.room.encrypted' && crypto && !b.isGhost(ev.sender) && ev.sender !== b.botMxid) {
    const out = await crypto.decrypt(ev, b.config.encryption.undecryptable_notice_after_seconds * 1000);
    if (out.ok) return handleMatrixEvent(portal, out.event);
    const why = out.withheld ? `the sender's device withheld the key (${out.withheld})` : out.reason;
    portal.log.warn({ event: ev.event_id, code: out.code, withheld: out.withheld }, 'Matrix event could not be decrypted');
    const noticeId = await notifyUndecryptable(b, ev, out.waitable
      ? 'The bridge has not received the key for this message yet, so it was not bridged. It will be bridged if the key arrives.'
      : `The bridge could not decrypt this message (${why}), so it was not bridged.`);
    if (out.waitable) await rememberLate(b, { event: ev, noticeId, since: Date.now() });
    return;
  }
  if (b.config.encryption.require && !ev.decrypted && MESSAGE_TYPES.has(ev.type) && ev.state_key === undefined && !b.isGhost(ev.sender) && ev.sender !== b.botMxid) {
    await sendFailureStatus(b, { roomId: ev.room_id, eventId: ev.event_id, eventType: ev.type }, new BridgeError('unencrypted message refused (encryption.require)', {
      reason: 'm_unsupported', userMessage: 'This bridge only bridges encrypted messages; turn on encryption in this room',
    }));
    return;
  }
  return handleMatrixEvent(portal, ev);
}

async function notifyUndecryptable(b: Bridge, ev: MatrixRoomEvent, text: string): Promise<string | undefined> {
  await b.api.sendEvent(ev.room_id, 'com.beeper.message_send_status', {
    network: b.connector.name.networkId, 'm.relates_to': { rel_type: 'm.reference', event_id: ev.event_id },
    status: 'FAIL', reason: 'M_UNDECRYPTABLE', message: text,
  }, { asUser: b.botMxid, txnId: `mss.utd.${ev.event_id}` }).catch(() => undefined);
  if (!b.config.bridge.message_error_notices) return undefined;
  return b.api.sendEvent(ev.room_id, 'm.room.message', {
    msgtype: 'm.notice', body: `⚠️ ${text}`, 'm.relates_to': { 'm.in_reply_to': { event_id: ev.event_id } },
  }, { asUser: b.botMxid, txnId: `utd.${ev.event_id}` }).catch((err: Error) => {
    b.log.warn({ err: err.message }, 'undecryptable notice not sent');
    return undefined;
  });
}

async function rememberLate(b: Bridge, late: LateEvent): Promise<void> {
  await b.db.kv.set(LATE_PREFIX + late.event.event_id, JSON.stringify(late));
  watchLate(b, late);
}

/**
 * Waits (without holding anything) for the key of a message given up on; bridges it through its
 * portal's queue when the key comes, and edits the notice.
 */
function watchLate(b: Bridge, late: LateEvent): void {
  const session = sessionIdOf(late.event);
  const crypto = b.crypto;
  if (!session || !crypto) return;
  const maxAge = b.config.encryption.late_key_max_hours * 3_600_000;
  const deadline = (late.since ?? late.event.origin_server_ts) + maxAge;
  const attempt = async (): Promise<void> => {
    if (b.intake.stopped) return;
    const out = await crypto.tryDecrypt(late.event);
    if (!out.ok) {
      if (!out.waitable) return void (await b.db.kv.delete(LATE_PREFIX + late.event.event_id));
      const left = deadline - Date.now();
      if (left <= 0) return giveUp(b, late);
      await crypto.waiters.wait(session, Math.min(60_000, left));
      return attempt();
    }
    const portal = await b.getPortalByRoom(late.event.room_id);
    if (portal) await portal.runInQueue(() => handleMatrixEvent(portal, out.event));
    await b.db.kv.delete(LATE_PREFIX + late.event.event_id);
    if (late.noticeId) {
      await b.api.sendEvent(late.event.room_id, 'm.room.message', {
        msgtype: 'm.notice', body: '* ✓ The key arrived late; this message has now been bridged.',
        'm.new_content': { msgtype: 'm.notice', body: '✓ The key arrived late; this message has now been bridged.' },
        'm.relates_to': { rel_type: 'm.replace', event_id: late.noticeId },
      }, { asUser: b.botMxid, txnId: `utd.late.${late.event.event_id}` }).catch(() => undefined);
    }
  };
  void attempt().catch((err: Error) => b.log.warn({ err: err.message, event: late.event.event_id }, 'late decryption failed'));
}

async function giveUp(b: Bridge, late: LateEvent): Promise<void> {
  await b.db.kv.delete(LATE_PREFIX + late.event.event_id);
  b.log.info({ event: late.event.event_id, room: late.event.room_id }, 'stopped waiting for the key of an undecryptable message');
  if (!late.noticeId) return;
  const body = `✗ The key never arrived (waited ${b.config.encryption.late_key_max_hours} hours); this message was not bridged.`;
  await b.api.sendEvent(late.event.room_id, 'm.room.message', {
    msgtype: 'm.notice', body: `* ${body}`,
    'm.new_content': { msgtype: 'm.notice', body },
    'm.relates_to': { rel_type: 'm.replace', event_id: late.noticeId },
  }, { asUser: b.botMxid, txnId: `utd.expired.${late.event.event_id}` }).catch(() => undefined);
}

function sessionIdOf(ev: MatrixRoomEvent): string | undefined {
  return typeof ev.content.session_id === 'string' ? ev.content.session_id : undefined;
}

/** Picks up, after a restart, the messages still waiting for their keys. */
export async function resumeLateEvents(b: Bridge): Promise<number> {
  const rows = await b.db.kv.listPrefix(LATE_PREFIX);
  for (const raw of rows) watchLate(b, JSON.parse(raw) as LateEvent);
  return rows.length;
}
