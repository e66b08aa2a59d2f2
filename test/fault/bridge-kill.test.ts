/**
 * The bridge is SIGKILLed five times at seeded random points while both directions are under
 * load in several portals, and restarted each time. The bridge may lose, double or reorder
 * nothing on either side, and its own ledger must agree with both.
 */
import assert from 'node:assert/strict';
import { sleep } from '../helpers/bridge-env.js';
import { MIN_PER_DIRECTION, faultSeed, itDeliveredExactlyOnce, runScenario, type ScenarioResult } from './harness/scenario.js';
import { startFaultStack, type FaultStack } from './harness/stack.js';

const KILLS = 5;

describe('fault: SIGKILL the bridge five times under mixed load', function () {
  this.timeout(420_000);
  let stack: FaultStack;
  let result: ScenarioResult;
  const kills: Array<{ afterMs: number; pid: number | undefined; restartMs: number }> = [];

  before(async function () {
    stack = await startFaultStack('fault_kill');
    result = await runScenario(stack, {
      name: 'bridge SIGKILL x5', tag: 'kill', seed: faultSeed(), loadMs: 30_000,
      faults: async (next) => {
        for (let i = 0; i < KILLS; i++) {
          // Anywhere from right after the restart (catch-up and replay still running) to 5 s later.
          const afterMs = Math.floor(next() * 5_000);
          await sleep(afterMs);
          const pid = stack.env.bridgeProc?.pid;
          await stack.env.stopBridge('SIGKILL');
          assert.equal(stack.env.bridgeProc?.signalCode, 'SIGKILL', 'the bridge died of SIGKILL');
          const t = Date.now();
          await stack.env.startBridge();
          kills.push({ afterMs, pid, restartMs: Date.now() - t });
        }
      },
    });
    console.log(`[fault] bridge SIGKILL x5: kills ${JSON.stringify(kills)}`);
  });
  after(async () => {
    await stack?.stop();
  });

  it('killed and restarted the bridge five times while messages flowed both ways', () => {
    assert.equal(kills.length, KILLS);
    assert.equal(new Set(kills.map((k) => k.pid)).size, KILLS, 'five different bridge processes were killed');
    assert.ok(result.load.count('matrix') >= MIN_PER_DIRECTION && result.load.count('network') >= MIN_PER_DIRECTION, 'both directions carried load');
    assert.deepEqual(result.load.unsent, [], 'Synapse accepted every send of the person');
  });

  itDeliveredExactlyOnce(() => result);

  it('saw Synapse neither drop nor double anything (it was never restarted)', () => {
    assert.deepEqual([result.verdict.homeserver.droppedInRestart, result.verdict.homeserver.storedTwice], [[], []]);
  });
});
