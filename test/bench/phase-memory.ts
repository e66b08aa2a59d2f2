/**
 * Memory of the bridge process after a forced full GC (through the inspector; see inspector.ts).
 * - Per portal and ghost: heap with the bench portals loaded, then again after N more DMs, each
 *   with its own new contact (N portals, N ghosts, each room created and one message bridged).
 * - Soak: a steady mixed load (remote -> Matrix and Matrix -> remote alternating, 5 msg/s each)
 *   with a heap sample every interval; the slope of heapUsed over time shows growth.
 */
import { Arrivals, runPrefix, watchMatrix, watchNetwork } from './arrivals.js';
import type { MemorySample } from './inspector.js';
import type { BenchContext } from './context.js';
import { clientSend, textContent } from './matrix.js';
import { bridgeDbPath, createContacts, networkSend, waitForPortals, withDb } from './portals.js';
import { sleep } from './stats.js';

export interface MemoryResult { portals: number; before: MemorySample; after: MemorySample; creationSeconds: number }

const BATCH = 50;

/** Waits until every chat has at least one bridged message in the bridge's database. */
async function waitForBridgedMessages(ctx: BenchContext, chats: readonly string[]): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const n = await withDb(bridgeDbPath(ctx.stack), async (db) => {
      let total = 0;
      // Chunks: SQLite caps the number of bound parameters.
      for (let i = 0; i < chats.length; i += 500) {
        const row = (await db.knex('messages').whereIn('portal_id', chats.slice(i, i + 500)).countDistinct({ n: 'portal_id' }).first()) as { n: number | string };
        total += Number(row.n);
      }
      return total;
    });
    if (n >= chats.length) return;
    if (Date.now() > deadline) throw new Error(`only ${n} of ${chats.length} portals got their message bridged`);
    await sleep(500);
  }
}

export async function runMemory(ctx: BenchContext): Promise<MemoryResult> {
  const { stack } = ctx;
  const n = ctx.args.memoryPortals;
  const before = await stack.bridge.memory();
  const t0 = performance.now();
  // In batches: the bridge sets up every announced chat at once, and a thousand concurrent room
  // creations would only measure Synapse's queueing.
  for (let done = 0; done < n; done += BATCH) {
    const batch = createContacts(stack, 'mem', Math.min(n, done + BATCH)).slice(done);
    await waitForPortals(stack, batch.map((c) => c.chat), 600_000);
    if ((done / BATCH) % 4 === 3) ctx.log(`memory: ${done + batch.length} of ${n} portals set up`);
  }
  const creationSeconds = (performance.now() - t0) / 1000;
  const contacts = createContacts(stack, 'mem', n);
  for (const c of contacts) networkSend(stack, c.account, c.chat, `hello from ${c.account}`);
  await waitForBridgedMessages(ctx, contacts.map((c) => c.chat));
  const after = await stack.bridge.memory();
  return { portals: n, before, after, creationSeconds };
}

export interface SoakSample { minutes: number; heapUsed: number; rss: number }
export interface SoakResult { minutes: number; samples: SoakSample[]; sent: number; delivered: number }

export async function runSoak(ctx: BenchContext, minutes: number): Promise<SoakResult> {
  const { stack } = ctx;
  const durationMs = minutes * 60_000;
  const sampleEveryMs = Math.max(15_000, durationMs / 20);
  const prefix = runPrefix('soak');
  const arrivals = new Arrivals(prefix);
  const offMatrix = watchMatrix(ctx.sync, arrivals);
  const offNet = watchNetwork(stack.sandbox.network, arrivals, new Set(ctx.portals.map((p) => p.account)));
  const markers: string[] = [];
  const samples: SoakSample[] = [];
  const t0 = performance.now();
  const sample = async () => {
    const m = await stack.bridge.memory();
    samples.push({ minutes: (performance.now() - t0) / 60_000, heapUsed: m.heapUsed, rss: m.rss });
  };
  let failures = 0;
  try {
    await sample();
    let nextSample = t0 + sampleEveryMs;
    for (let k = 0; performance.now() - t0 < durationMs; k++) {
      const p = ctx.portals[Math.floor(k / 2) % ctx.portals.length]!;
      const marker = `${prefix}${k}`;
      markers.push(marker);
      if (k % 2 === 0) networkSend(stack, p.account, p.chat, marker);
      else void clientSend(stack.synapse.baseUrl, stack.person.accessToken, p.room, textContent(marker)).catch(() => void failures++);
      if (performance.now() >= nextSample) {
        await sample();
        nextSample += sampleEveryMs;
      }
      await sleep(100);
    }
    await arrivals.waitAll(markers, 120_000).catch((err: Error) => ctx.log(`soak: ${err.message}`));
    await sample();
  } finally {
    offMatrix();
    offNet();
  }
  const delivered = markers.filter((m) => arrivals.times.has(m)).length;
  ctx.log(`soak: ${markers.length} sent, ${delivered} delivered, ${failures} send failures`);
  return { minutes, samples, sent: markers.length, delivered };
}
