/**
 * Matrix -> network handling waits out a lost network connection, holding the portal's queue, the
 * way remote events wait out a homeserver outage (portal.ts). Without it a message sent from Matrix
 * while the connection is down (a dropped socket, or a restart whose socket is not up yet) would
 * fail for good although the network is back a second later.
 */
import { isBridgeError } from '../network/index.js';
import type { Portal } from './portal.js';

/** How long one Matrix event may wait for the network before its failure is reported. */
export const NETWORK_OUTAGE_WAIT_MS = 120_000;

/**
 * Whether `err` says the network could not be reached (not connected, connection lost, timed out)
 * and the operation may be repeated: either the network surely did not get it, or the operation is
 * `idempotent` (a message send carries a transaction id the network deduplicates).
 */
export function isNetworkOutage(err: unknown, idempotent: boolean): boolean {
  if (!isBridgeError(err) || err.status !== 'retriable') return false;
  if (err.reason !== 'm_network_error' && err.reason !== 'm_timeout') return false;
  return err.certain || idempotent;
}

/** Runs `fn`, repeating it with backoff (250 ms doubling to 5 s) while it fails with an outage. */
export async function waitOutNetworkOutage<T>(portal: Portal, fn: () => Promise<T>, opts: { idempotent: boolean; waitMs?: number }): Promise<T> {
  const deadline = Date.now() + (opts.waitMs ?? NETWORK_OUTAGE_WAIT_MS);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isNetworkOutage(err, opts.idempotent) || Date.now() >= deadline || portal.bridge.intake.stopped) throw err;
      portal.log.warn({ err: (err as Error).message, attempt }, 'network unavailable; retrying the Matrix event');
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** Math.min(attempt, 5))));
    }
  }
}
