/**
 * One fault scenario: mixed load in both directions, faults injected while it runs, then the wait
 * for every message and a sentinel round (one more message per chat and direction: each portal is
 * one ordered queue, so a straggling duplicate would arrive before it), then the final counts and
 * the verdict on who caused what they found (verdict.ts).
 */
import assert from 'node:assert/strict';
import { sleep } from '../../helpers/bridge-env.js';
import { rng } from '../../helpers/seeded-random.js';
import { MixedLoad } from './load.js';
import { awaitDelivery, summarise, type DeliveryResult } from './observe.js';
import type { FaultStack } from './stack.js';
import { describeHomeserver, gatherEvidence, homeserverExcuse, judge, type Verdict } from './verdict.js';

/**
 * How long after the last send every message must have arrived. The slowest recovery path is a
 * Matrix message whose appservice transaction failed while the bridge was down: Synapse retries
 * after 2, 4, 8, 16, 32 s (doubling from 2 s, reset on success), so a bridge down for up to ~30 s
 * in total is retried within 32 s of coming back; 60 s leaves room for draining the backlog on a
 * loaded 2-core machine. docs/fault-injection.md explains the figure.
 */
export const DELIVERY_BOUND_MS = 60_000;

/** Each direction must have carried at least this many messages for a scenario to count. */
export const MIN_PER_DIRECTION = 30;

/** The run's seed: TRIBUTARY_FAULT_SEED to replay a failing schedule, else a fresh one. */
export function faultSeed(): number {
  const fromEnv = process.env.TRIBUTARY_FAULT_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
  if (!Number.isSafeInteger(seed)) throw new Error(`TRIBUTARY_FAULT_SEED must be an integer, got ${fromEnv}`);
  return seed;
}

export interface ScenarioOptions {
  name: string;
  /** Unique per scenario in a stack: it prefixes every body. */
  tag: string;
  seed: number;
  /** The shortest time the load runs; it runs on until the faults are done. */
  loadMs: number;
  gapMs?: number;
  /** Injects the faults while the load runs; gets its own seeded generator and the load. */
  faults: (next: () => number, load: MixedLoad) => Promise<void>;
  /** Whether the faults restart Synapse (only then may it drop or double events). */
  synapseRestarted?: boolean;
}

export interface ScenarioResult {
  load: MixedLoad;
  seed: number;
  /** The wait after the load: the delivery time is measured here. */
  delivery: DeliveryResult;
  /** After the sentinel round: the final counts over everything sent. */
  final: DeliveryResult;
  verdict: Verdict;
}

export async function runScenario(stack: FaultStack, opts: ScenarioOptions): Promise<ScenarioResult> {
  console.log(`[fault] ${opts.name}: seed ${opts.seed} (replay with TRIBUTARY_FAULT_SEED=${opts.seed})`);
  const load = new MixedLoad(stack, { tag: opts.tag, next: rng(opts.seed ^ 0x10ad), gapMs: opts.gapMs });
  const started = Date.now();
  load.start();
  try {
    await Promise.all([opts.faults(rng(opts.seed), load), sleep(opts.loadMs)]);
  } finally {
    await load.stop();
  }
  console.log(`[fault] ${opts.name}: load ran ${((Date.now() - started) / 1000).toFixed(1)} s, ${load.count('matrix')} from Matrix, ${load.count('network')} from the network`);
  const excuse = homeserverExcuse(stack, opts.synapseRestarted ?? false);
  const delivery = await awaitDelivery(stack, load, DELIVERY_BOUND_MS, excuse);
  console.log(summarise(opts.name, delivery));
  await load.sendRound();
  const final = await awaitDelivery(stack, load, DELIVERY_BOUND_MS, excuse);
  console.log(summarise(`${opts.name} (after the sentinel round)`, final));
  const verdict = judge(final.report, await gatherEvidence(stack, opts.synapseRestarted ?? false), load.sent, final.observed);
  console.log(`[fault] ${opts.name}: homeserver faults proven: ${describeHomeserver(verdict.homeserver)}`);
  return { load, seed: opts.seed, delivery, final, verdict };
}

const CLEAN = { lost: [], duplicated: [], reordered: [], unexpected: [] };

/** The checks every scenario makes of its result, as mocha tests. */
export function itDeliveredExactlyOnce(result: () => ScenarioResult): void {
  it(`delivered everything within ${DELIVERY_BOUND_MS / 1000} s of the last send`, () => {
    const d = result().delivery;
    assert.ok(d.complete, `not all delivered within the bound: ${d.report.matrix.lost.length} missing in Matrix, ${d.report.network.lost.length} on the network`);
    assert.ok(d.deliveryMs < DELIVERY_BOUND_MS);
  });

  it('lost, doubled and reordered nothing in Matrix', () => {
    assert.deepEqual(result().verdict.bridge.matrix, CLEAN);
  });

  it('lost, doubled and reordered nothing on the network', () => {
    assert.deepEqual(result().verdict.bridge.network, CLEAN);
  });

  it("agrees with the bridge's own ledger", () => {
    assert.deepEqual(result().verdict.bridge.ledger, { unsent: [], unmapped: [], neverDelivered: [], inboundQueued: 0 });
  });
}
