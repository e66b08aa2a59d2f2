/**
 * Backfill: the bridge is stopped, a contact sends N messages, and the bridge starts again. The
 * network's event replay is skipped (the stored sync position is moved to the head, as if the
 * network kept no replay log), so the messages come in through the core's catch-up, which sends
 * them as history (oldest first, original timestamps) in the portal's queue. Its rate is compared
 * with raw sequential appservice sends of the same messages (with `ts`) by the same ghost into the
 * same room, made right after a restart without a gap (the same start-up work runs beside both);
 * both are timed from the first to the last event the person's sync sees.
 *
 * Live latency while it runs: other contacts' messages (every 500 ms, the bench portals) from
 * network send to Matrix, during the bridge's backfill and during the raw sends (the same load on
 * Synapse without the bridge doing the backfill). Repetitions alternate; the rates' medians count.
 */
import { Arrivals, runPrefix, watchMatrix } from './arrivals.js';
import type { BenchContext, BenchPortal } from './context.js';
import type { Contact } from './portals.js';
import { appserviceSend, textContent } from './matrix.js';
import { bridgeDbPath, createContacts, networkSend, PERSON_ACCOUNT, waitForPortals, withDb } from './portals.js';
import { sleep } from './stats.js';
import { interleave } from './phase-throughput.js';

export interface BackfillResult {
  messages: number;
  bridgeRates: number[];
  rawRates: number[];
  /** Live probe latencies while the bridge backfilled, and while the raw sends ran. */
  liveDuring: number[];
  liveDuringRaw: number[];
}

/** Stops the bridge, runs `gap` while it is down, skips the network's replay, starts it again. */
async function restartWithGap(ctx: BenchContext, gap?: () => void): Promise<void> {
  const { stack } = ctx;
  await stack.bridge.stop();
  gap?.();
  await withDb(bridgeDbPath(stack), async (db) => {
    const login = await db.logins.get(PERSON_ACCOUNT);
    if (!login) throw new Error('the person has no login in the bridge database');
    await db.logins.updateMetadata(PERSON_ACCOUNT, { ...login.metadata, since: stack.sandbox.network.headSeq(PERSON_ACCOUNT) });
  });
  await stack.bridge.start();
}

/** Network -> Matrix latency probes every `intervalMs` until `done()` (or `maxMs`). */
async function liveProbes(ctx: BenchContext, portals: BenchPortal[], done: () => boolean, maxMs: number, intervalMs = 500): Promise<number[]> {
  const prefix = runPrefix('live');
  const arrivals = new Arrivals(prefix);
  const off = watchMatrix(ctx.sync, arrivals);
  const sentAt = new Map<string, number>();
  const start = performance.now();
  try {
    for (let k = 0; !done() && performance.now() - start < maxMs; k++) {
      const p = portals[k % portals.length]!;
      const marker = `${prefix}${k}`;
      sentAt.set(marker, performance.now());
      networkSend(ctx.stack, p.account, p.chat, marker);
      await sleep(intervalMs);
    }
    await arrivals.waitAll([...sentAt.keys()]);
    return [...sentAt].map(([m, t]) => arrivals.times.get(m)! - t);
  } finally {
    off();
  }
}

function spanRate(arrivals: Arrivals, markers: string[]): { rate: number; seconds: number } {
  const times = markers.map((m) => arrivals.times.get(m)!);
  const seconds = (Math.max(...times) - Math.min(...times)) / 1000;
  return { rate: (markers.length - 1) / seconds, seconds };
}

/** One backfill of `n` messages (restart with a gap), with live probes while it runs. */
async function bridgeBackfill(ctx: BenchContext, contact: Contact, n: number): Promise<{ rate: number; seconds: number; live: number[] }> {
  const { stack } = ctx;
  const prefix = runPrefix('bf-bridge');
  const markers = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const arrivals = new Arrivals(prefix);
  const off = watchMatrix(ctx.sync, arrivals);
  try {
    await restartWithGap(ctx, () => {
      for (const m of markers) networkSend(stack, contact.account, contact.chat, m);
    });
    const all = arrivals.waitAll(markers, 120_000);
    let finished = false;
    void all.then(() => (finished = true), () => (finished = true));
    const live = await liveProbes(ctx, ctx.portals, () => finished, 600_000);
    await all;
    return { ...spanRate(arrivals, markers), live };
  } finally {
    off();
  }
}

/**
 * The raw counterpart: a restart without a gap (the same start-up work), then sequential
 * appservice sends of `n` messages with `ts` by the same ghost into the same room, with the same
 * live probes while they run.
 */
async function rawBackfill(ctx: BenchContext, contact: Contact, room: string, n: number): Promise<{ rate: number; seconds: number; live: number[] }> {
  const { stack } = ctx;
  const prefix = runPrefix('bf-raw');
  const markers = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const arrivals = new Arrivals(prefix);
  const off = watchMatrix(ctx.sync, arrivals);
  try {
    await restartWithGap(ctx);
    let finished = false;
    const sends = (async () => {
      const ts0 = Date.now() - 3_600_000;
      for (let i = 0; i < n; i++) {
        await appserviceSend(stack.synapse.baseUrl, stack.asToken, room, stack.ghost(contact.account), textContent(markers[i]!), ts0 + i);
      }
      await arrivals.waitAll(markers);
    })().finally(() => (finished = true));
    const live = await liveProbes(ctx, ctx.portals, () => finished, 600_000);
    await sends;
    return { ...spanRate(arrivals, markers), live };
  } finally {
    off();
  }
}

export async function runBackfill(ctx: BenchContext): Promise<BackfillResult> {
  const { stack } = ctx;
  const n = ctx.args.backfill;
  const [contact] = createContacts(stack, 'bf', 1);
  const room = (await waitForPortals(stack, [contact!.chat], 120_000)).get(contact!.chat)!;
  ctx.sync.addRooms([room]);
  // One live message first: catch-up continues from the newest bridged message.
  const first = runPrefix('bf-first');
  const seenFirst = ctx.sync.waitFor('the first backfill-room message', (ev) => (ev.body === `${first}0` ? true : undefined), 60_000);
  networkSend(stack, contact!.account, contact!.chat, `${first}0`);
  await seenFirst;

  const out: BackfillResult = { messages: n, bridgeRates: [], rawRates: [], liveDuring: [], liveDuringRaw: [] };
  const bridge = async () => {
    const r = await bridgeBackfill(ctx, contact!, n);
    out.liveDuring.push(...r.live);
    ctx.log(`backfill of ${n}: bridge ${r.rate.toFixed(1)} ev/s over ${r.seconds.toFixed(1)} s`);
    return r.rate;
  };
  const raw = async () => {
    const r = await rawBackfill(ctx, contact!, room, n);
    out.liveDuringRaw.push(...r.live);
    ctx.log(`backfill of ${n}: raw ${r.rate.toFixed(1)} ev/s over ${r.seconds.toFixed(1)} s`);
    return r.rate;
  };
  const rates = await interleave(ctx.args.reps, bridge, raw);
  out.bridgeRates = rates.bridge;
  out.rawRates = rates.raw;
  return out;
}
