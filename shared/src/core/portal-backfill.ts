/**
 * History for a portal: the initial backfill of a new room, and catch-up after a reconnect, both
 * sent oldest first with their original timestamps and deduplicated by remote id. Both run inside
 * the portal's queue, so live messages of the chat wait behind them and order is kept; every
 * YIELD_EVERY messages the backfill lets the Matrix events queued meanwhile through
 * (Portal.letOthersThrough), so the queue does not fill up and stall other rooms.
 */
import { isBackfilling, type BackfillMessage } from '../network/index.js';
import type { Portal } from './portal.js';
import type { UserLogin } from './user-login.js';
import { recordEcho, sendConverted } from './portal-remote.js';

export async function initialBackfill(portal: Portal, login: UserLogin): Promise<number> {
  const b = portal.bridge;
  const cfg = b.config.bridge.backfill;
  if (!cfg.enabled || cfg.max_initial_messages <= 0 || !isBackfilling(login.client)) return 0;
  const res = await login.client.fetchMessages({ portal: portal.key, forward: false, count: cfg.max_initial_messages });
  return sendNew(portal, login, res.messages);
}

/**
 * Fetches what the network has after the newest message bridged from it. A message sent from
 * Matrix is no anchor: the network may have placed it after messages still on their way to the
 * bridge, and catching up from there would skip them now and bridge them out of order later.
 */
export async function catchUp(portal: Portal, login: UserLogin): Promise<number> {
  const b = portal.bridge;
  const cfg = b.config.bridge.backfill;
  if (!portal.roomId || !isBackfilling(login.client)) return 0;
  const last = await b.db.messages.getLast(portal.key, { fromNetwork: true });
  if (!last) return catchUpFromRoomStart(portal, login);
  let total = 0;
  let anchor = { id: last.id as never, timestamp: last.timestamp };
  while (total < cfg.max_catchup_messages) {
    const res = await login.client.fetchMessages({ portal: portal.key, forward: true, anchor, count: Math.min(100, cfg.max_catchup_messages - total) });
    total += await sendNew(portal, login, res.messages);
    const newest = res.messages[res.messages.length - 1];
    if (!res.hasMore || !newest) break;
    anchor = { id: newest.id as never, timestamp: newest.timestamp };
  }
  if (total) portal.log.info({ count: total }, 'caught up missed messages');
  return total;
}

/**
 * Catch-up for a room that has nothing from the network bridged yet: everything the network got
 * since the room was made is new (older history was the initial backfill's to take or to leave).
 * Pages back to the room's creation, then sends oldest first.
 */
async function catchUpFromRoomStart(portal: Portal, login: UserLogin): Promise<number> {
  const cfg = portal.bridge.config.bridge.backfill;
  if (!isBackfilling(login.client)) return 0;
  const since = portal.row.createdAt;
  let fresh: BackfillMessage[] = [];
  let anchor: { id: never; timestamp: number } | undefined;
  while (fresh.length < cfg.max_catchup_messages) {
    const res = await login.client.fetchMessages({ portal: portal.key, forward: false, count: Math.min(100, cfg.max_catchup_messages - fresh.length), ...(anchor ? { anchor } : {}) });
    const page = res.messages.filter((m) => m.timestamp >= since);
    fresh = [...page, ...fresh];
    const oldest = res.messages[0];
    if (!res.hasMore || !oldest || page.length < res.messages.length) break;
    anchor = { id: oldest.id as never, timestamp: oldest.timestamp };
  }
  const total = await sendNew(portal, login, fresh);
  if (total) portal.log.info({ count: total }, 'caught up missed messages');
  return total;
}

/** Messages sent between two calls of Portal.letOthersThrough. */
export const YIELD_EVERY = 10;

async function sendNew(portal: Portal, login: UserLogin, messages: Parameters<typeof sendConverted>[2][]): Promise<number> {
  let sent = 0;
  for (const [i, msg] of messages.entries()) {
    if (i > 0 && i % YIELD_EVERY === 0) await portal.letOthersThrough();
    if ((await portal.bridge.db.messages.getAllParts(portal.key, msg.id)).length) continue;
    if (await recordEcho(portal, login, msg)) continue;
    await sendConverted(portal, login, msg, { backfill: true });
    sent++;
  }
  return sent;
}
