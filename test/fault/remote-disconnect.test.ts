/**
 * The network drops the bridge's connection several times (sandbox control
 * `/accounts/me/disconnect`, each time refusing reconnects for a while) while both directions are
 * under load. Messages sent from Matrix while the connection is down must wait and go out once,
 * in order; messages sent on the network meanwhile must be replayed once, in order.
 */
import assert from 'node:assert/strict';
import { eventually, sleep } from '../helpers/bridge-env.js';
import { MIN_PER_DIRECTION, faultSeed, itDeliveredExactlyOnce, runScenario, type ScenarioResult } from './harness/scenario.js';
import { startFaultStack, type FaultStack } from './harness/stack.js';

const DROPS = 4;

describe('fault: the network drops the connection under mixed load', function () {
  this.timeout(300_000);
  let stack: FaultStack;
  let result: ScenarioResult;
  const drops: Array<{ afterMs: number; refuseMs: number; dropped: number }> = [];

  before(async function () {
    stack = await startFaultStack('fault_drop');
    result = await runScenario(stack, {
      name: 'remote connection drops', tag: 'drop', seed: faultSeed(), loadMs: 30_000,
      faults: async (next) => {
        for (let i = 0; i < DROPS; i++) {
          const afterMs = 1_000 + Math.floor(next() * 4_000);
          // Up to 5 s without a connection, while sends from Matrix pile up behind it.
          const refuseMs = 500 + Math.floor(next() * 4_500);
          await sleep(afterMs);
          // Drop a live connection, not one still reconnecting from the last drop.
          await eventually('the bridge to be connected again', () => stack.env.sandbox.wire.connectionCount('me') > 0, 30_000);
          const { dropped } = await stack.env.control<{ dropped: number }>('POST', '/accounts/me/disconnect', { refuse_ms: refuseMs });
          drops.push({ afterMs, refuseMs, dropped });
          await sleep(refuseMs);
        }
      },
    });
    console.log(`[fault] remote connection drops: ${JSON.stringify(drops)}`);
  });
  after(async () => {
    await stack?.stop();
  });

  it('dropped the live connection several times while messages flowed both ways', () => {
    assert.equal(drops.length, DROPS);
    assert.ok(drops.every((d) => d.dropped >= 1), `every drop found a connection to drop: ${JSON.stringify(drops)}`);
    assert.ok(result.load.count('matrix') >= MIN_PER_DIRECTION && result.load.count('network') >= MIN_PER_DIRECTION, 'both directions carried load');
    assert.deepEqual(result.load.unsent, []);
  });

  itDeliveredExactlyOnce(() => result);

  it('left Synapse nothing to get wrong (the bridge never went down)', () => {
    assert.deepEqual(result.verdict.homeserver, { stranded: [], deliveredOutOfOrder: [], droppedInRestart: [], storedTwice: [] });
  });
});
