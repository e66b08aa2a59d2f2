/**
 * Remote -> Matrix throughput. Bridge: contacts send on the sandbox network (in this process) and
 * the bridge puts each message into its portal room. Raw: the same ghosts PUT the same content
 * into the same rooms with the appservice token, one request in flight per room (the bridge's
 * per-portal order allows no more). Both end when the person's sync has seen every message.
 */
import { Arrivals, runPrefix, watchMatrix } from './arrivals.js';
import type { BenchContext, BenchPortal } from './context.js';
import { appserviceSend, textContent } from './matrix.js';
import { networkSend } from './portals.js';
import { median } from './stats.js';

export interface RateRuns { bridge: number[]; raw: number[] }

async function measure(ctx: BenchContext, name: string, portals: BenchPortal[], perRoom: number, send: (p: BenchPortal, marker: string) => void | Promise<void>, concurrentRooms: boolean): Promise<number> {
  const prefix = runPrefix(name);
  const arrivals = new Arrivals(prefix);
  const off = watchMatrix(ctx.sync, arrivals);
  const markers = portals.flatMap((_, r) => Array.from({ length: perRoom }, (_x, i) => `${prefix}${r}.${i}`));
  try {
    const t0 = performance.now();
    if (concurrentRooms) {
      // Raw: one sequential sender per room.
      await Promise.all(portals.map(async (p, r) => {
        for (let i = 0; i < perRoom; i++) await send(p, `${prefix}${r}.${i}`);
      }));
    } else {
      // Bridge: the network gets everything at once; the bridge's queues pace it.
      for (let i = 0; i < perRoom; i++) for (let r = 0; r < portals.length; r++) await send(portals[r]!, `${prefix}${r}.${i}`);
    }
    const tEnd = await arrivals.waitAll(markers);
    return markers.length / ((tEnd - t0) / 1000);
  } finally {
    off();
  }
}

export function bridgeRemoteToMatrix(ctx: BenchContext, portals: BenchPortal[], perRoom: number): Promise<number> {
  return measure(ctx, 'r2m-bridge', portals, perRoom, (p, m) => networkSend(ctx.stack, p.account, p.chat, m), false);
}

export function rawRemoteToMatrix(ctx: BenchContext, portals: BenchPortal[], perRoom: number): Promise<number> {
  const { synapse, asToken } = ctx.stack;
  return measure(ctx, 'r2m-raw', portals, perRoom, async (p, m) => void (await appserviceSend(synapse.baseUrl, asToken, p.room, p.ghost, textContent(m))), true);
}

/** Alternates bridge and raw runs (order flipped every repetition so drift cancels); median of each. */
export async function interleave(reps: number, bridge: () => Promise<number>, raw: () => Promise<number>): Promise<RateRuns> {
  const out: RateRuns = { bridge: [], raw: [] };
  for (let i = 0; i < reps; i++) {
    if (i % 2 === 0) {
      out.bridge.push(await bridge());
      out.raw.push(await raw());
    } else {
      out.raw.push(await raw());
      out.bridge.push(await bridge());
    }
  }
  return out;
}

export interface ThroughputResult {
  many: RateRuns & { rooms: number; perRoom: number };
  single: RateRuns & { messages: number };
}

export async function runThroughput(ctx: BenchContext): Promise<ThroughputResult> {
  const { args } = ctx;
  // Warm-up (not recorded): JIT, connection pools, Synapse caches.
  await bridgeRemoteToMatrix(ctx, ctx.portals, 5);
  await rawRemoteToMatrix(ctx, ctx.portals, 5);
  const many = await interleave(args.reps, () => bridgeRemoteToMatrix(ctx, ctx.portals, args.perRoom), () => rawRemoteToMatrix(ctx, ctx.portals, args.perRoom));
  ctx.log(`remote->Matrix, ${ctx.portals.length} portals: bridge ${many.bridge.map(Math.round).join('/')} ev/s, raw ${many.raw.map(Math.round).join('/')} ev/s`);
  const one = ctx.portals.slice(0, 1);
  const single = await interleave(args.reps, () => bridgeRemoteToMatrix(ctx, one, args.single), () => rawRemoteToMatrix(ctx, one, args.single));
  ctx.log(`remote->Matrix, 1 portal: bridge ${single.bridge.map(Math.round).join('/')} ev/s, raw ${single.raw.map(Math.round).join('/')} ev/s`);
  return { many: { ...many, rooms: ctx.portals.length, perRoom: args.perRoom }, single: { ...single, messages: args.single } };
}

export const ratioOfMedians = (r: RateRuns) => median(r.bridge) / median(r.raw);
