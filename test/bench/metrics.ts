/**
 * The results table: each figure with its baseline from the same run, their ratio, and the
 * goal from issue 6 (goals, not pass/fail tests).
 */
import type { BackfillResult } from './phase-backfill.js';
import type { LatencyResult, LatencySamples } from './phase-latency.js';
import type { MemoryResult, SoakResult } from './phase-memory.js';
import type { StartupResult } from './phase-startup.js';
import type { ThroughputResult } from './phase-throughput.js';
import type { TransactionsResult } from './phase-transactions.js';
import type { EncryptionResult } from './phase-encryption.js';
import { median, MiB, percentile, round, slope } from './stats.js';

/** How a figure is judged: its ratio at least / at most a limit, its value at most a limit, or not at all. */
export type Target =
  | { kind: 'ratio-min'; limit: number }
  | { kind: 'ratio-max'; limit: number }
  | { kind: 'value-max'; limit: number; unit: string }
  | { kind: 'none'; text: string };

export interface Metric {
  id: string;
  name: string;
  unit: string;
  value: number | null;
  baseline: number | null;
  ratio: number | null;
  target: Target;
  met: boolean | null;
  note?: string;
}

export interface PhaseResults {
  throughput?: ThroughputResult;
  latency?: LatencyResult;
  transactions?: TransactionsResult;
  backfill?: BackfillResult;
  memory?: MemoryResult;
  soak?: SoakResult;
  startup?: StartupResult;
  encryption?: EncryptionResult;
}

export function targetText(t: Target): string {
  switch (t.kind) {
    case 'ratio-min': return `ratio ≥ ${t.limit}`;
    case 'ratio-max': return `ratio ≤ ${t.limit}`;
    case 'value-max': return `≤ ${t.limit} ${t.unit}`;
    case 'none': return t.text;
  }
}

function judge(t: Target, value: number | null, ratio: number | null): boolean | null {
  if (t.kind === 'ratio-min') return ratio === null ? null : ratio >= t.limit;
  if (t.kind === 'ratio-max') return ratio === null ? null : ratio <= t.limit;
  if (t.kind === 'value-max') return value === null ? null : value <= t.limit;
  return null;
}

function metric(id: string, name: string, unit: string, value: number | undefined, baseline: number | undefined, target: Target, opts: { ratio?: number; note?: string } = {}): Metric {
  const v = value === undefined || !Number.isFinite(value) ? null : round(value);
  const b = baseline === undefined || !Number.isFinite(baseline) ? null : round(baseline);
  const r = opts.ratio !== undefined ? round(opts.ratio) : value !== undefined && baseline ? round(value / baseline) : null;
  return { id, name, unit, value: v, baseline: b, ratio: Number.isFinite(r ?? NaN) ? r : null, target, met: judge(target, v, r), note: opts.note };
}

const NO_TARGET: Target = { kind: 'none', text: '— (reported)' };

function latencyMetrics(dir: string, label: string, s: LatencySamples | undefined): Metric[] {
  const out: Metric[] = [];
  for (const p of [50, 95]) {
    const bridge = s ? percentile(s.bridge, p) : undefined;
    const raw = s ? percentile(s.raw, p) : undefined;
    const added = bridge !== undefined && raw !== undefined ? bridge - raw : undefined;
    out.push(metric(`latency-${dir}-p${p}`, `Added latency ${label}, p${p} (bridge − raw)`, 'ms', added, raw,
      p === 95 ? { kind: 'value-max', limit: 10, unit: 'ms' } : NO_TARGET,
      { ratio: bridge !== undefined && raw ? bridge / raw : undefined, note: bridge !== undefined ? `bridge p${p} ${round(bridge)} ms` : undefined }));
  }
  return out;
}

export function buildMetrics(r: PhaseResults): Metric[] {
  const m: Metric[] = [];
  const t = r.throughput;
  m.push(metric('r2m-many', `Remote → Matrix throughput, ${t?.many.rooms ?? 20} portals`, 'events/s', t && median(t.many.bridge), t && median(t.many.raw), { kind: 'ratio-min', limit: 0.9 }));
  m.push(metric('r2m-single', 'Remote → Matrix throughput, 1 portal', 'events/s', t && median(t.single.bridge), t && median(t.single.raw), { kind: 'ratio-min', limit: 0.9 }));
  const x = r.transactions;
  m.push(metric('m2r-delivery', `Matrix → remote delivery of 100-event transactions, ${t?.many.rooms ?? 20} portals`, 'events/s', x && median(x.bridgeRates), x && median(x.rawRates), { kind: 'ratio-min', limit: 0.9 }));
  m.push(metric('m2r-delivery-single', 'Matrix → remote delivery of 100-event transactions, 1 portal', 'events/s', x && median(x.singleBridgeRates), x && median(x.singleRawRates), { kind: 'ratio-min', limit: 0.9 }));
  m.push(metric('m2r-client', 'Matrix → remote delivery, sent by the person through Synapse', 'events/s', x && median(x.clientBridgeRates), x && median(x.clientRawRates), { kind: 'ratio-min', limit: 0.9 }));
  m.push(metric('txn-ack-p50', 'Transaction acknowledgement (100 events), p50', 'ms', x && percentile(x.bridgeAcks, 50), x && percentile(x.rawAcks, 50), NO_TARGET));
  m.push(metric('txn-ack-p95', 'Transaction acknowledgement (100 events), p95', 'ms', x && percentile(x.bridgeAcks, 95), x && percentile(x.rawAcks, 95), { kind: 'value-max', limit: 20, unit: 'ms' }));
  m.push(...latencyMetrics('r2m', 'remote → Matrix', r.latency?.remoteToMatrix));
  m.push(...latencyMetrics('m2r', 'Matrix → remote', r.latency?.matrixToRemote));
  const mem = r.memory;
  const per1000 = (a: number, b: number) => (mem ? ((a - b) * 1000) / mem.portals / MiB : undefined);
  m.push(metric('memory-heap', 'Heap after GC per 1000 portals + 1000 ghosts', 'MiB', mem && per1000(mem.after.heapUsed, mem.before.heapUsed), mem && mem.before.heapUsed / MiB,
    { kind: 'value-max', limit: 20, unit: 'MiB' }, { ratio: mem && mem.after.heapUsed / mem.before.heapUsed, note: mem ? `${mem.portals} portals created (${round(mem.creationSeconds)} s); baseline = heap before` : undefined }));
  m.push(metric('memory-rss', 'RSS after GC per 1000 portals + 1000 ghosts', 'MiB', mem && per1000(mem.after.rss, mem.before.rss), mem && mem.before.rss / MiB, NO_TARGET,
    { ratio: mem && mem.after.rss / mem.before.rss }));
  const soak = r.soak;
  const soakSlope = soak ? slope(soak.samples.slice(1).map((s) => ({ x: s.minutes, y: s.heapUsed / MiB }))) : undefined;
  const first = soak?.samples[1] ?? soak?.samples[0];
  const last = soak?.samples.at(-1);
  m.push(metric('soak-heap', `Heap growth over a ${soak?.minutes ?? '–'}-minute soak (slope of heap after GC)`, 'MiB/min', soakSlope, first && first.heapUsed / MiB,
    { kind: 'value-max', limit: 1, unit: 'MiB/min' }, { ratio: first && last ? last.heapUsed / first.heapUsed : undefined, note: soak ? `${soak.delivered} of ${soak.sent} messages delivered; baseline = heap at the first sample` : undefined }));
  const st = r.startup;
  const med = (runs: StartupResult['empty'] | undefined, k: 'readyMs' | 'connectedMs' | 'firstMessageMs') => (runs ? median(runs.map((x2) => x2[k])) : undefined);
  m.push(metric('startup-ready', `Start-up to ready with ${st?.portals ?? 10000} portals (vs empty)`, 'ms', med(st?.big, 'readyMs'), med(st?.empty, 'readyMs'), { kind: 'ratio-max', limit: 1.2 }));
  m.push(metric('startup-connected', `Start-up to login connected with ${st?.portals ?? 10000} portals (vs empty)`, 'ms', med(st?.big, 'connectedMs'), med(st?.empty, 'connectedMs'), NO_TARGET));
  m.push(metric('startup-first-message', `Start-up to first live message bridged with ${st?.portals ?? 10000} portals (vs empty)`, 'ms', med(st?.big, 'firstMessageMs'), med(st?.empty, 'firstMessageMs'), NO_TARGET));
  const bf = r.backfill;
  m.push(metric('backfill-rate', `Backfill rate (${bf?.messages ?? 500} messages, catch-up) vs raw sequential sends`, 'events/s', bf && median(bf.bridgeRates), bf && median(bf.rawRates), { kind: 'ratio-min', limit: 0.9 }));
  m.push(metric('backfill-live-p95', 'Live message latency p95 during the backfill (vs during the raw sends)', 'ms', bf && percentile(bf.liveDuring, 95), bf && percentile(bf.liveDuringRaw, 95), NO_TARGET));
  const e = r.encryption;
  m.push(metric('encrypted', `Remote → Matrix throughput, ${e?.rooms ?? 10} encrypted portals (vs as many unencrypted)`, 'events/s', e && median(e.bridge), e && median(e.raw), NO_TARGET));
  m.push(metric('encrypted-snapshot', 'Crypto store snapshot per encrypted event (vs all encryption work per event)', 'ms', e?.persistMsPerEvent ?? undefined, e?.encryptMsPerEvent ?? undefined, NO_TARGET));
  return m;
}
