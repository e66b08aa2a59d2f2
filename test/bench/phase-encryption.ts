/**
 * Encrypted against unencrypted portals, remote -> Matrix, in the same run on the same bridge.
 * The bridge is restarted with `encryption.allow` (and metrics, to read the crypto timings); half
 * of the bench portals get `m.room.encryption` from the person, the other half stay plain. Each
 * run sends the same number of messages into each half; both are timed until the person's own
 * /sync has seen every event (encrypted events are counted, the bench reads no plaintext).
 *
 * The snapshot cost comes from the bridge's `tributary_crypto_seconds` histogram: store snapshot
 * time per encrypted event, against the whole encryption time per event.
 *
 * It changes the bench portals for good (half become encrypted), so it runs last.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { freePort } from '../helpers/ports.js';
import type { BenchContext, BenchPortal } from './context.js';
import { matrixRequest } from './matrix.js';
import { networkSend } from './portals.js';
import { interleave, type RateRuns } from './phase-throughput.js';
import { runPrefix } from './arrivals.js';

export interface EncryptionResult extends RateRuns {
  /** `bridge` = encrypted portals, `raw` = unencrypted ones (the baseline), events/s. */
  rooms: number;
  perRoom: number;
  /** Mean store-snapshot time per encrypted event, and mean total encryption time per event (ms). */
  persistMsPerEvent: number | null;
  encryptMsPerEvent: number | null;
}

interface Histo { sum: number; count: number }

async function cryptoHistograms(port: number): Promise<Record<string, Histo>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, Histo> = {};
  for (const m of text.matchAll(/^tributary_crypto_seconds_(sum|count)\{[^}]*op="(\w+)"[^}]*\} ([0-9.e+-]+)$/gm)) {
    const h = (out[m[2]!] ??= { sum: 0, count: 0 });
    h[m[1] as 'sum' | 'count'] += Number(m[3]);
  }
  return out;
}

/** Resolves with the time the person's sync has seen `expected` events from ghosts in `rooms`. */
async function countArrivals(ctx: BenchContext, rooms: Set<string>, expected: number, since: string): Promise<number> {
  const { synapse, person } = ctx.stack;
  const filter = JSON.stringify({ room: { rooms: [...rooms], timeline: { types: ['m.room.message', 'm.room.encrypted'], limit: 1000 }, state: { lazy_load_members: true } }, presence: { types: [] }, account_data: { types: [] } });
  let seen = 0;
  let token = since;
  const deadline = performance.now() + 300_000;
  while (performance.now() < deadline) {
    const res = await matrixRequest<{ next_batch: string; rooms?: { join?: Record<string, { timeline?: { events?: Array<{ sender: string }> } }> } }>(
      synapse.baseUrl, 'GET', '/_matrix/client/v3/sync', { token: person.accessToken, query: { since: token, timeout: 10_000, filter } },
    );
    token = res.next_batch;
    for (const room of Object.values(res.rooms?.join ?? {})) {
      seen += (room.timeline?.events ?? []).filter((e) => e.sender.startsWith('@sandbox_')).length;
    }
    if (seen >= expected) return performance.now();
  }
  throw new Error(`only ${seen} of ${expected} events arrived`);
}

async function syncToken(ctx: BenchContext): Promise<string> {
  const { synapse, person } = ctx.stack;
  const filter = JSON.stringify({ room: { rooms: [], timeline: { limit: 1 } } });
  return (await matrixRequest<{ next_batch: string }>(synapse.baseUrl, 'GET', '/_matrix/client/v3/sync', { token: person.accessToken, query: { timeout: 0, filter } })).next_batch;
}

async function rate(ctx: BenchContext, portals: BenchPortal[], perRoom: number): Promise<number> {
  const since = await syncToken(ctx);
  const prefix = runPrefix('enc');
  const t0 = performance.now();
  const done = countArrivals(ctx, new Set(portals.map((p) => p.room)), portals.length * perRoom, since);
  for (let i = 0; i < perRoom; i++) for (const p of portals) networkSend(ctx.stack, p.account, p.chat, `${prefix}${i}`);
  return (portals.length * perRoom) / (((await done) - t0) / 1000);
}

export async function runEncryption(ctx: BenchContext): Promise<EncryptionResult> {
  const { stack, args } = ctx;
  const metricsPort = await freePort();
  const cfg = parse(await readFile(stack.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
  cfg.encryption = { ...(cfg.encryption ?? {}), allow: true };
  cfg.metrics = { enabled: true, hostname: '127.0.0.1', port: metricsPort };
  await writeFile(stack.configPath, stringify(cfg));
  await stack.bridge.stop();
  await stack.bridge.start();

  const half = Math.max(1, Math.floor(ctx.portals.length / 2));
  const encrypted = ctx.portals.slice(0, half);
  const plain = ctx.portals.slice(half, half * 2);
  if (plain.length === 0) throw new Error('the encryption phase needs at least two bench portals');
  for (const p of encrypted) {
    await matrixRequest(stack.synapse.baseUrl, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(p.room)}/state/m.room.encryption/`, {
      token: stack.person.accessToken, body: { algorithm: 'm.megolm.v1.aes-sha2' },
    });
  }
  // Warm-up, not recorded: each ghost's device is created and cross-signed, sessions are shared.
  await rate(ctx, encrypted, 2);
  await rate(ctx, plain, 2);
  const before = await cryptoHistograms(metricsPort);
  const runs = await interleave(args.reps, () => rate(ctx, encrypted, args.perRoom), () => rate(ctx, plain, args.perRoom));
  const after = await cryptoHistograms(metricsPort);
  const delta = (op: string) => ({ sum: (after[op]?.sum ?? 0) - (before[op]?.sum ?? 0), count: (after[op]?.count ?? 0) - (before[op]?.count ?? 0) });
  const enc = delta('encrypt');
  const persist = delta('persist');
  ctx.log(`encrypted ${runs.bridge.map(Math.round).join('/')} ev/s, unencrypted ${runs.raw.map(Math.round).join('/')} ev/s; ${enc.count} encryptions, ${persist.count} snapshots`);
  return {
    ...runs, rooms: half, perRoom: args.perRoom,
    encryptMsPerEvent: enc.count ? (enc.sum * 1000) / enc.count : null,
    persistMsPerEvent: enc.count ? (persist.sum * 1000) / enc.count : null,
  };
}
