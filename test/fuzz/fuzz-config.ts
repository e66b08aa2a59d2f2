/**
 * Run counts, seed and the property runner shared by the fuzz suites.
 *
 * - TRIBUTARY_FUZZ_RUNS: cases per converter property (default 2,000: the CI sample).
 * - TRIBUTARY_FUZZ_HTTP_RUNS: requests per HTTP property (default 1,000).
 * - TRIBUTARY_FUZZ_SEED: the seed (default 42, so CI always runs the same cases; "random" for a
 *   fresh one).
 * - TRIBUTARY_FUZZ_PATH: with the seed of a failure, replays exactly its shrunk case.
 * - TRIBUTARY_FUZZ_CASE_MS: time bound of one converter case (default 1,000 ms);
 *   TRIBUTARY_FUZZ_HTTP_CASE_MS the same for one HTTP request (default 5,000 ms).
 */
import fc from 'fast-check';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a whole number, not ${JSON.stringify(raw)}`);
  return n;
}

/**
 * "random" picks a fresh seed (printed with every result) to explore beyond the fixed sample; one
 * per process, kept on globalThis since the loader may instantiate this module once per suite.
 */
function randomSeed(): number {
  const g = globalThis as { tributaryFuzzSeed?: number };
  g.tributaryFuzzSeed ??= Math.floor(Math.random() * 2 ** 31);
  return g.tributaryFuzzSeed;
}

export const FUZZ_SEED = process.env.TRIBUTARY_FUZZ_SEED === 'random' ? randomSeed() : envInt('TRIBUTARY_FUZZ_SEED', 42);
export const CONVERTER_RUNS = envInt('TRIBUTARY_FUZZ_RUNS', 2000);
export const HTTP_RUNS = envInt('TRIBUTARY_FUZZ_HTTP_RUNS', 1000);
export const CASE_LIMIT_MS = envInt('TRIBUTARY_FUZZ_CASE_MS', 1000);
/** HTTP cases move megabytes over a socket and write SQLite: a wider bound. */
export const HTTP_CASE_LIMIT_MS = envInt('TRIBUTARY_FUZZ_HTTP_CASE_MS', 5000);
const REPLAY_PATH = process.env.TRIBUTARY_FUZZ_PATH;

/** Runs for properties over 64 KiB or 20,000-deep inputs, which take ~100 times longer per case. */
export function hugeRuns(runs: number): number {
  return Math.max(20, Math.ceil(runs / 50));
}

/** Mocha timeout for a property of `runs` cases: generous, since a full run takes minutes. */
export function timeoutFor(runs: number, perCaseMs = 5): number {
  return 60_000 + runs * perCaseMs;
}

interface Timing {
  slowestMs: number;
  limitMs: number;
}

/** Runs `body` and throws when it took longer than the per-case bound. */
function timed<R>(timing: Timing, body: () => R): R {
  const started = performance.now();
  const result = body();
  const took = performance.now() - started;
  if (took > timing.slowestMs) timing.slowestMs = took;
  if (took > timing.limitMs) throw new Error(`one case took ${took.toFixed(0)} ms (bound ${timing.limitMs} ms)`);
  return result;
}

async function timedAsync<R>(timing: Timing, body: () => Promise<R>): Promise<R> {
  const started = performance.now();
  const result = await body();
  const took = performance.now() - started;
  if (took > timing.slowestMs) timing.slowestMs = took;
  if (took > timing.limitMs) throw new Error(`one case took ${took.toFixed(0)} ms (bound ${timing.limitMs} ms)`);
  return result;
}

function parameters(runs: number): fc.Parameters<unknown> {
  return { seed: FUZZ_SEED, numRuns: runs, ...(REPLAY_PATH ? { path: REPLAY_PATH } : {}) };
}

/** Long inputs (64 KiB, 20,000-deep nesting) are cut in reports; replay the path to see all of one. */
function clip(s: string, max = 3000): string {
  return s.length <= max ? s : `${s.slice(0, max)}... (${s.length} characters)`;
}

function replayHint(name: string, details: fc.RunDetails<unknown>): string {
  const path = details.counterexamplePath ?? '';
  return (
    `fuzz property "${name}" failed (seed ${details.seed}). Replay the shrunk case with\n` +
    `  TRIBUTARY_FUZZ_SEED=${details.seed} TRIBUTARY_FUZZ_PATH=${path} npx mocha test/fuzz/<file>.fuzz.ts -g ${JSON.stringify(name)}\n\n` +
    `after ${details.numRuns} cases, shrunk ${details.numShrinks} times\n` +
    `counterexample: ${clip(fc.stringify(details.counterexample))}\n` +
    `error: ${clip(details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance))}`
  );
}

function summary(name: string, details: fc.RunDetails<unknown>, timing: Timing, started: number): void {
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`      ${name}: ${details.numRuns} cases in ${secs} s, slowest ${timing.slowestMs.toFixed(1)} ms (seed ${details.seed})`);
}

/** Checks a synchronous property over `runs` generated cases; each case is time-bounded. */
export function fuzz<T>(name: string, arb: fc.Arbitrary<T>, runs: number, check: (value: T) => void): void {
  const timing: Timing = { slowestMs: 0, limitMs: CASE_LIMIT_MS };
  const started = performance.now();
  const details = fc.check(
    fc.property(arb, (value) => {
      timed(timing, () => check(value));
    }),
    parameters(runs),
  );
  if (details.failed) fail(name, details);
  summary(name, details, timing, started);
}

/** Prints the failure at once (a later hook that hangs must not hide it), then throws it. */
function fail(name: string, details: fc.RunDetails<unknown>): never {
  const message = replayHint(name, details);
  console.log(`\n${message}\n`);
  throw new Error(message);
}

/** The asynchronous twin of `fuzz` (HTTP requests, database checks). */
export async function fuzzAsync<T>(
  name: string, arb: fc.Arbitrary<T>, runs: number, check: (value: T) => Promise<void>, limitMs = CASE_LIMIT_MS,
): Promise<void> {
  const timing: Timing = { slowestMs: 0, limitMs };
  const started = performance.now();
  const details = await fc.check(
    fc.asyncProperty(arb, async (value) => {
      await timedAsync(timing, () => check(value));
    }),
    parameters(runs),
  );
  if (details.failed) fail(name, details);
  summary(name, details, timing, started);
}
