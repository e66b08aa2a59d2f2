/**
 * `npm run bench`: starts Synapse, the sandbox network, the sandbox bridge and a raw appservice,
 * runs each measurement against its baseline in the same run, and writes bench/results.json,
 * bench/results.md and bench/results.png. Flags: see args.ts (`npm run bench -- --help`).
 */
import { cpus, loadavg } from 'node:os';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseBenchArgs, runs, type BenchArgs } from './args.js';
import { startStack, stopStack } from './stack.js';
import { setupContext } from './context.js';
import { runThroughput } from './phase-throughput.js';
import { runLatency } from './phase-latency.js';
import { runTransactions } from './phase-transactions.js';
import { runBackfill } from './phase-backfill.js';
import { runMemory, runSoak } from './phase-memory.js';
import { runStartup } from './phase-startup.js';
import { runEncryption } from './phase-encryption.js';
import { buildMetrics, type PhaseResults } from './metrics.js';
import { renderChart } from './chart.js';
import { writeResults } from './report.js';
import { ROOT } from './bridge-process.js';

// The core's logger is configured on first use: this process logs only warnings.
process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

let args: BenchArgs;
try {
  args = parseBenchArgs(process.argv.slice(2));
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
const outDir = resolve(ROOT, args.out);
const started = new Date();
const loadStart = loadavg();
const t0 = performance.now();
const log = (msg: string) => console.log(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${msg}`);
const notes: string[] = [
  `A shared ${cpus().length}-core machine: Synapse, the bridge, the raw appservice and the benchmark itself share it, and other work may have run at the same time; absolute numbers vary between runs, ratios much less.`,
];

const cpuProfDir = args.cpuProf ? resolve(outDir, 'profiles') : undefined;
if (cpuProfDir) await mkdir(cpuProfDir, { recursive: true });
log('starting Synapse, the sandbox network, the bridge and the raw appservice');
const stack = await startStack({ cpuProfDir, set: args.set });
log(`stack up in ${stack.dir}`);
const phases: PhaseResults = {};
let failed: unknown;
try {
  const ctx = await setupContext(stack, args, log);
  const phase = async <K extends keyof PhaseResults>(name: K, fn: () => Promise<NonNullable<PhaseResults[K]>>) => {
    if (!runs(args, name)) return;
    log(`phase ${name}`);
    try {
      phases[name] = await fn();
    } catch (err) {
      log(`phase ${name} failed: ${(err as Error).stack ?? String(err)}`);
      notes.push(`The ${name} phase failed in this run: ${(err as Error).message}`);
    }
  };
  await phase('throughput', () => runThroughput(ctx));
  await phase('latency', () => runLatency(ctx));
  await phase('transactions', () => runTransactions(ctx));
  await phase('backfill', () => runBackfill(ctx));
  await phase('memory', () => runMemory(ctx));
  await phase('soak', () => runSoak(ctx, args.soakMinutes));
  await phase('startup', () => runStartup(ctx));
  // Last: it turns encryption on in half of the bench portals.
  await phase('encryption', () => runEncryption(ctx));
  if (ctx.sync.limitedRooms.size) notes.push(`The person's sync returned a limited timeline in ${ctx.sync.limitedRooms.size} room(s); arrival times there may be late.`);
  await ctx.sync.stop();
} catch (err) {
  failed = err;
  log(`setup failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await stopStack(stack, args.keep);
}
if (args.keep) notes.push(`Logs and databases kept in ${stack.dir}.`);
if (args.only || args.soakMinutes !== 10 || args.memoryPortals !== 1000 || args.reps !== 3 || Object.keys(args.set).length) {
  const set = Object.entries(args.set).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
  notes.push(`Flags: soak ${args.soakMinutes} min, ${args.memoryPortals} memory portals, ${args.reps} repetitions${args.only ? `, only ${[...args.only].join(', ')}` : ''}${set ? `, bridge config ${set}` : ''}.`);
}
const metrics = buildMetrics(phases);
let png: Buffer | undefined;
try {
  png = renderChart(metrics);
} catch (err) {
  log(`chart not rendered: ${(err as Error).message}`);
}
const finished = new Date();
await writeResults(outDir, metrics, {
  startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationMinutes: Math.round((finished.getTime() - started.getTime()) / 6000) / 10,
  node: process.version, synapse: stack.synapse.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown',
  loadAverage: { start: loadStart, end: loadavg() }, args: { ...args, only: args.only ? [...args.only] : null }, notes,
}, phases, png);
log(`wrote ${outDir}/results.{json,md,png}`);
for (const m of metrics) log(`${m.name}: ${m.value ?? '—'} ${m.unit} (baseline ${m.baseline ?? '—'}, ratio ${m.ratio ?? '—'}) met: ${m.met ?? '—'}`);
process.exit(failed ? 1 : 0);
