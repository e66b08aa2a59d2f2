/** bench/results.json and bench/results.md from one run. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { targetText, type Metric, type PhaseResults } from './metrics.js';

export interface RunMeta {
  startedAt: string;
  finishedAt: string;
  durationMinutes: number;
  node: string;
  synapse: string;
  cpus: number;
  cpuModel: string;
  loadAverage: { start: number[]; end: number[] };
  args: Record<string, unknown>;
  notes: string[];
}

function fmt(v: number | null, unit = ''): string {
  if (v === null) return '—';
  return `${v}${unit ? ` ${unit}` : ''}`;
}

function metCell(m: Metric): string {
  if (m.met === null) return m.target.kind === 'none' ? '—' : 'not run';
  return m.met ? 'yes' : '**no**';
}

export function markdownTable(metrics: Metric[]): string {
  const rows = metrics.map((m) => {
    const value = m.value === null && m.target.kind === 'none' && m.id === 'encrypted' ? 'n/a (issue 4)' : fmt(m.value, m.unit);
    return `| ${m.name} | ${value} | ${fmt(m.baseline, m.unit)} | ${fmt(m.ratio)} | ${targetText(m.target)} | ${metCell(m)} |`;
  });
  return ['| Metric | Tributary | Baseline | Ratio | Target | Met? |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

function baselineLegend(): string {
  return [
    'Baselines, all measured in the same run on the same Synapse:',
    '- throughput and backfill: raw appservice `PUT /send` calls (as_token + `user_id`) by the same ghosts into the same rooms, one request in flight per room (backfill: sequential, with `ts`);',
    '- Matrix → remote delivery and acknowledgement: the same 100-event transactions posted to a raw appservice process that reads the body, answers 200 and forwards each message to the same contacts over the same sandbox wire client;',
    '- added latency: the raw path at the same moment (alternating messages), bridge minus raw; the ratio is bridge / raw;',
    '- memory: the bridge\'s own heap before the portals were added; soak: heap at the first sample;',
    '- start-up: the same bridge and login with an empty database; live latency during backfill: the same probes while the raw sends of the backfill baseline run.',
  ].join('\n');
}

export function markdownReport(metrics: Metric[], meta: RunMeta): string {
  return [
    '# Tributary benchmark results',
    '',
    `Run ${meta.startedAt} → ${meta.finishedAt} (${meta.durationMinutes} min) · Node ${meta.node} · Synapse ${meta.synapse} · ${meta.cpus} × ${meta.cpuModel} · load average at start ${meta.loadAverage.start.map((l) => l.toFixed(2)).join(' ')}, at end ${meta.loadAverage.end.map((l) => l.toFixed(2)).join(' ')}`,
    '',
    'Written by `npm run bench` (test/bench). Every figure is compared with a baseline measured in the same run, so machine noise largely cancels in the ratio; targets are the goals of issue 6, not pass/fail tests. What limits each missed goal is in [docs/performance.md](../docs/performance.md).',
    '',
    markdownTable(metrics),
    '',
    baselineLegend(),
    '',
    ...(meta.notes.length ? ['Notes:', ...meta.notes.map((n) => `- ${n}`), ''] : []),
    ...metrics.filter((m) => m.note).map((m) => `- ${m.name}: ${m.note}`),
    '',
    '![ratios against targets](results.png)',
    '',
  ].join('\n');
}

export async function writeResults(outDir: string, metrics: Metric[], meta: RunMeta, phases: PhaseResults, png: Buffer | undefined): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'results.json'), JSON.stringify({ meta, metrics, phases }, null, 2) + '\n');
  await writeFile(join(outDir, 'results.md'), markdownReport(metrics, meta));
  if (png) await writeFile(join(outDir, 'results.png'), png);
}
