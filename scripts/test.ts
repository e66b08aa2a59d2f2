/**
 * Every test, in the order that fails fastest: lint, types, generated examples, unit tests (SQLite
 * and PostgreSQL), the connector tier, the fixed-seed fuzz sample, then the e2e suites against a
 * real Synapse on SQLite and again on PostgreSQL, then the fault-injection suite.
 * Prints one closing line "N passed, N failed". Steps can be picked: `npm test -- unit e2e-sqlite`.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

interface Step { name: string; cmd: string[]; env?: Record<string, string>; mocha?: boolean }

const MOCHA = ['npx', 'mocha'];
const STEPS: Step[] = [
  // Idempotent and quick once done: Synapse in its cached virtualenv, PostgreSQL's binaries, Chromium.
  { name: 'setup', cmd: ['bash', '-c', 'bash scripts/ensure-synapse.sh && bash scripts/ensure-postgres-binaries.sh && bash scripts/ensure-chromium.sh'] },
  { name: 'lint', cmd: ['npx', 'eslint', '.'] },
  { name: 'types', cmd: ['npx', 'tsc', '-p', 'tsconfig.check.json'] },
  { name: 'build', cmd: ['npx', 'tsc', '-b'] },
  { name: 'examples', cmd: ['node', '--conditions=source', '--import', 'tsx', 'scripts/gen-examples.ts', '--check'] },
  { name: 'unit', cmd: [...MOCHA, 'test/unit/**/*.test.ts'], env: { TRIBUTARY_LOG_LEVEL: process.env.TRIBUTARY_LOG_LEVEL ?? 'warn' }, mocha: true },
  // Connector tier: real connector code driven through its port by fakes built from the real library.
  { name: 'connectors', cmd: [...MOCHA, 'test/connectors/**/*.test.ts'], env: { TRIBUTARY_LOG_LEVEL: process.env.TRIBUTARY_LOG_LEVEL ?? 'warn' }, mocha: true },
  // Fixed-seed fuzz sample (docs/fuzzing.md): 2,000 cases per converter property, 1,000 requests
  // per HTTP property, about 20 s; `npm run fuzz` is the full run.
  { name: 'fuzz', cmd: [...MOCHA, 'test/fuzz/**/*.fuzz.ts'], env: { TRIBUTARY_LOG_LEVEL: process.env.TRIBUTARY_LOG_LEVEL ?? 'warn', TRIBUTARY_FUZZ_RUNS: '2000', TRIBUTARY_FUZZ_HTTP_RUNS: '1000', TRIBUTARY_FUZZ_SEED: '42' }, mocha: true },
  // The same unit suites and one e2e suite (bridge process included) on Node 22.
  { name: 'node22', cmd: ['bash', '-c', 'N=$(bash scripts/ensure-node22.sh) && PATH="$(dirname "$N"):$PATH" && node --version && node node_modules/.bin/mocha "test/unit/**/*.test.ts" test/e2e/core-basics.test.ts'], env: { TRIBUTARY_LOG_LEVEL: process.env.TRIBUTARY_LOG_LEVEL ?? 'warn' }, mocha: true },
  { name: 'e2e-sqlite', cmd: [...MOCHA, 'test/e2e/**/*.test.ts'], env: { TRIBUTARY_E2E_DB: 'sqlite' }, mocha: true },
  { name: 'e2e-postgres', cmd: [...MOCHA, 'test/e2e/**/*.test.ts'], env: { TRIBUTARY_E2E_DB: 'postgres' }, mocha: true },
  // Fault injection under mixed load (docs/fault-injection.md): bridge SIGKILLs, Synapse restarts,
  // dropped network connections, replayed transactions; about 4 minutes.
  { name: 'fault', cmd: [...MOCHA, 'test/fault/*.test.ts'], env: { TRIBUTARY_E2E_DB: 'sqlite' }, mocha: true },
];

function run(step: Step): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    const [cmd, ...args] = step.cmd;
    const child = spawn(cmd!, args, { cwd: ROOT, env: { ...process.env, ...step.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d: Buffer) => { process.stderr.write(d); });
    child.on('close', (code) => done({ code: code ?? 1, out }));
  });
}

const wanted = process.argv.slice(2);
const steps = wanted.length ? STEPS.filter((s) => wanted.includes(s.name)) : STEPS;
let passed = 0;
let failed = 0;
const failedSteps: string[] = [];
const started = Date.now();
for (const step of steps) {
  const t = Date.now();
  console.log(`\n=== ${step.name} ===`);
  const { code, out } = await run(step);
  if (step.mocha) {
    passed += Number(/(\d+) passing/.exec(out)?.[1] ?? 0);
    failed += Number(/(\d+) failing/.exec(out)?.[1] ?? 0);
  }
  if (code !== 0) {
    failedSteps.push(step.name);
    if (!step.mocha) failed++;
  }
  console.log(`=== ${step.name}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} in ${((Date.now() - t) / 1000).toFixed(0)} s ===`);
}
console.log(`\nTest steps: ${steps.map((s) => s.name).join(', ')}; took ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (failedSteps.length) console.log(`Failed steps: ${failedSteps.join(', ')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failedSteps.length ? 1 : 0);
