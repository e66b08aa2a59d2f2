/**
 * Added latency without load: one message at a time, bridge and raw alternating so both see the
 * same moment of the machine.
 * - Remote -> Matrix: from the network send (bridge) or the start of the appservice PUT (raw) to
 *   the person's sync seeing the event.
 * - Matrix -> remote: from the start of the person's own PUT /send to the network delivering the
 *   message to the contact; bridge path in portal rooms, raw path (raw appservice) in rooms
 *   without the bridge. Both go through Synapse's transaction push.
 */
import { Arrivals, runPrefix, watchMatrix, watchNetwork } from './arrivals.js';
import { RAW_ACCOUNT, type BenchContext } from './context.js';
import { appserviceSend, clientSend, textContent } from './matrix.js';
import { networkSend } from './portals.js';
import { rawForward } from './stack.js';
import { sleep } from './stats.js';

export interface LatencySamples { bridge: number[]; raw: number[]; failures: number }

/**
 * One message in flight at a time (each waits for the previous one's arrival, then `gapMs`), so
 * neither path queues behind the other and a busy machine cannot turn the figure into a
 * throughput measurement. Even k = bridge, odd k = raw.
 */
async function alternate(n: number, gapMs: number, prefix: string, arrivals: Arrivals, send: (k: number, marker: string) => Promise<unknown>): Promise<LatencySamples> {
  const out: LatencySamples = { bridge: [], raw: [], failures: 0 };
  for (let k = 0; k < 2 * n; k++) {
    const marker = `${prefix}${k}`;
    const t0 = performance.now();
    try {
      await send(k, marker);
      const at = await arrivals.waitAll([marker], 30_000);
      (k % 2 === 0 ? out.bridge : out.raw).push(at - t0);
    } catch {
      out.failures++;
    }
    await sleep(gapMs);
  }
  return out;
}

export async function remoteToMatrixLatency(ctx: BenchContext, n: number, gapMs: number): Promise<LatencySamples> {
  const prefix = runPrefix('lat-r2m');
  const arrivals = new Arrivals(prefix);
  const off = watchMatrix(ctx.sync, arrivals);
  const { synapse, asToken } = ctx.stack;
  try {
    return await alternate(n, gapMs, prefix, arrivals, async (k, marker) => {
      const p = ctx.portals[Math.floor(k / 2) % ctx.portals.length]!;
      if (k % 2 === 0) networkSend(ctx.stack, p.account, p.chat, marker);
      else await appserviceSend(synapse.baseUrl, asToken, p.room, p.ghost, textContent(marker));
    });
  } finally {
    off();
  }
}

export async function matrixToRemoteLatency(ctx: BenchContext, n: number, gapMs: number): Promise<LatencySamples> {
  const prefix = runPrefix('lat-m2r');
  const arrivals = new Arrivals(prefix);
  const off = watchNetwork(ctx.stack.sandbox.network, arrivals, new Set(ctx.portals.map((p) => p.account)));
  const { synapse, person } = ctx.stack;
  await rawForward(ctx.stack, RAW_ACCOUNT, Object.fromEntries(ctx.rawRooms.map((r) => [r.room, r.chat])));
  try {
    return await alternate(n, gapMs, prefix, arrivals, (k, marker) => {
      const i = Math.floor(k / 2) % ctx.portals.length;
      const room = k % 2 === 0 ? ctx.portals[i]!.room : ctx.rawRooms[i]!.room;
      return clientSend(synapse.baseUrl, person.accessToken, room, textContent(marker));
    });
  } finally {
    off();
    await rawForward(ctx.stack, RAW_ACCOUNT, {});
  }
}

export interface LatencyResult { remoteToMatrix: LatencySamples; matrixToRemote: LatencySamples; n: number; gapMs: number }

export async function runLatency(ctx: BenchContext): Promise<LatencyResult> {
  const n = ctx.args.reps >= 3 ? 100 : 20;
  const gapMs = 100;
  await remoteToMatrixLatency(ctx, 5, gapMs); // warm-up
  const remoteToMatrix = await remoteToMatrixLatency(ctx, n, gapMs);
  await matrixToRemoteLatency(ctx, 5, gapMs);
  const matrixToRemote = await matrixToRemoteLatency(ctx, n, gapMs);
  return { remoteToMatrix, matrixToRemote, n, gapMs };
}
