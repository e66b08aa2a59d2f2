/**
 * Outcome of each Matrix event sent to the network, as `com.beeper.message_send_status` events
 * (shown by clients that support them) and, for failures, a notice replying to the event.
 */
import { asBridgeError, type BridgeError } from '../network/index.js';
import { getLogger } from '../logging.js';
import type { Bridge } from './bridge.js';

const log = getLogger('message-status');

export interface StatusTarget {
  roomId: string;
  eventId: string;
  eventType: string;
}

export async function sendSuccessStatus(bridge: Bridge, t: StatusTarget): Promise<void> {
  if (!bridge.config.bridge.message_status_events) return;
  await sendStatus(bridge, t, { status: 'SUCCESS' });
  if (bridge.config.bridge.delivery_receipts) {
    await bridge.api.sendReceipt(t.roomId, t.eventId, bridge.botMxid).catch(() => undefined);
  }
}

export async function sendFailureStatus(bridge: Bridge, t: StatusTarget, err: unknown): Promise<void> {
  const e: BridgeError = asBridgeError(err);
  log.warn({ room: t.roomId, event: t.eventId, reason: e.reason, err: e.message }, 'Matrix event not bridged');
  bridge.metrics?.failed('matrix_to_remote', e.reason);
  if (bridge.config.bridge.message_status_events) {
    await sendStatus(bridge, t, {
      status: e.status === 'retriable' ? 'PENDING' : 'FAIL',
      reason: e.reason.toUpperCase(),
      error: e.message,
      message: e.userMessage,
      is_certain: e.certain,
    });
  }
  if (bridge.config.bridge.message_error_notices && e.sendNotice) {
    const verb = e.certain ? 'was not' : 'may not have been';
    const text = `⚠️ Your message ${verb} bridged: ${e.userMessage}`;
    await bridge.api.sendEvent(t.roomId, 'm.room.message', {
      msgtype: 'm.notice', body: text, 'm.relates_to': { 'm.in_reply_to': { event_id: t.eventId } },
    }, { asUser: bridge.botMxid, txnId: `notice.${t.eventId}` }).catch((err2) => log.warn({ err: err2 }, 'failure notice not sent'));
  }
}

async function sendStatus(bridge: Bridge, t: StatusTarget, body: Record<string, unknown>): Promise<void> {
  const content = {
    network: bridge.connector.name.networkId,
    'm.relates_to': { rel_type: 'm.reference', event_id: t.eventId },
    ...body,
  };
  try {
    await bridge.api.sendEvent(t.roomId, 'com.beeper.message_send_status', content, {
      asUser: bridge.botMxid, txnId: `mss.${String(body.status)}.${t.eventId}`,
    });
  } catch (err) {
    log.debug({ err: (err as Error).message }, 'status event not sent');
  }
}
