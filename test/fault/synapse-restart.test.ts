/**
 * Synapse is stopped and started again on the same data directory and port, twice, while both
 * directions are under load. The bridge must lose, double and reorder nothing. Synapse itself may
 * drop an event it held only in memory, or store a bridge send twice when its response was lost
 * in the stop (verdict.ts); the evidence tells those apart, and they are counted and reported
 * rather than hidden.
 */
import assert from 'node:assert/strict';
import { sleep } from '../helpers/bridge-env.js';
import { MIN_PER_DIRECTION, faultSeed, itDeliveredExactlyOnce, runScenario, type ScenarioResult } from './harness/scenario.js';
import { startFaultStack, type FaultStack } from './harness/stack.js';

const RESTARTS = 2;

describe('fault: restart Synapse under mixed load', function () {
  this.timeout(360_000);
  let stack: FaultStack;
  let result: ScenarioResult;
  const restarts: Array<{ afterMs: number; downMs: number; startMs: number }> = [];

  before(async function () {
    stack = await startFaultStack('fault_hs');
    result = await runScenario(stack, {
      name: 'Synapse restarts', tag: 'hs', seed: faultSeed(), loadMs: 30_000, synapseRestarted: true,
      faults: async (next) => {
        for (let i = 0; i < RESTARTS; i++) {
          const afterMs = 3_000 + Math.floor(next() * 7_000);
          // Down from a moment to several seconds: past the bridge's own quick retries.
          const downMs = Math.floor(next() * 6_000);
          await sleep(afterMs);
          await stack.env.synapse.stop();
          await sleep(downMs);
          const t = Date.now();
          await stack.env.synapse.start();
          restarts.push({ afterMs, downMs, startMs: Date.now() - t });
        }
      },
    });
    console.log(`[fault] Synapse restarts: ${JSON.stringify(restarts)}`);
  });
  after(async () => {
    await stack?.stop();
  });

  it('restarted Synapse twice while messages flowed both ways', () => {
    assert.equal(restarts.length, RESTARTS);
    assert.ok(result.load.count('matrix') >= MIN_PER_DIRECTION && result.load.count('network') >= MIN_PER_DIRECTION, 'both directions carried load');
    assert.deepEqual(result.load.unsent, [], 'Synapse accepted every send of the person once it was back');
  });

  itDeliveredExactlyOnce(() => result);
});
