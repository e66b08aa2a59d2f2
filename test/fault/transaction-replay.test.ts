/**
 * Appservice transactions replayed at the bridge under mixed load: batches of the person's events
 * the bridge has already sent are pushed again with the same transaction id, then again under a
 * new transaction id, as a homeserver does when a response is lost; once right after the bridge
 * was SIGKILLed and restarted, so the deduplication must be the database's, not memory's. Every
 * message must reach the network exactly once (counted on the sandbox's message list).
 */
import assert from 'node:assert/strict';
import { sleep, type BridgeEnv } from '../helpers/bridge-env.js';
import { networkMessages, textOf } from '../helpers/portal-setup.js';
import { MIN_PER_DIRECTION, faultSeed, itDeliveredExactlyOnce, runScenario, type ScenarioResult } from './harness/scenario.js';
import { startFaultStack, type FaultStack } from './harness/stack.js';
import { MATRIX_ORIGIN, type MixedLoad } from './harness/load.js';

const ROUNDS = 6;
/** The round that follows a SIGKILL and restart of the bridge. */
const AFTER_KILL = 3;
const BATCH = 8;

async function putTransaction(env: BridgeEnv, txnId: string, events: unknown[]): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${env.asPort}/_matrix/app/v1/transactions/${encodeURIComponent(txnId)}`, {
    method: 'PUT', headers: { Authorization: `Bearer ${env.config.appservice.hs_token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  await res.text();
  return res.status;
}

describe('fault: replayed appservice transactions under mixed load', function () {
  this.timeout(300_000);
  let stack: FaultStack;
  let result: ScenarioResult;
  const replayed = new Set<string>();
  const statuses: number[] = [];

  /** A random batch of the person's messages already on the network, in the order they were sent. */
  async function sentBatch(load: MixedLoad, next: () => number) {
    const onNetwork = new Set((await Promise.all(stack.chats.map((c) => networkMessages(stack.env, c.id)))).flat().map(textOf));
    const candidates = load.sent.filter((m) => m.origin === MATRIX_ORIGIN && onNetwork.has(m.body));
    const picked = new Set<number>();
    while (picked.size < Math.min(BATCH, candidates.length)) picked.add(Math.floor(next() * candidates.length));
    return [...picked].sort((a, b) => a - b).map((i) => candidates[i]!);
  }

  before(async function () {
    stack = await startFaultStack('fault_replay');
    const seed = faultSeed();
    result = await runScenario(stack, {
      name: 'transaction replay', tag: 'replay', seed, loadMs: 30_000,
      faults: async (next, load) => {
        for (let round = 0; round < ROUNDS; round++) {
          await sleep(2_000 + Math.floor(next() * 3_000));
          if (round === AFTER_KILL) {
            await stack.env.stopBridge('SIGKILL');
            await stack.env.startBridge();
          }
          const batch = await sentBatch(load, next);
          const rooms = new Map(stack.chats.map((c) => [c.id, c.room]));
          const events = await Promise.all(batch.map((m) => stack.sender.fetchRoomEvent(rooms.get(m.chat)!, m.id)));
          const txnId = `fault-replay-${seed}-${round}`;
          statuses.push(await putTransaction(stack.env, txnId, events));
          statuses.push(await putTransaction(stack.env, txnId, events));
          statuses.push(await putTransaction(stack.env, `${txnId}-again`, events));
          for (const m of batch) replayed.add(m.body);
        }
      },
    });
    console.log(`[fault] transaction replay: ${replayed.size} distinct messages replayed ${statuses.length / ROUNDS}x each in ${ROUNDS} rounds`);
  });
  after(async () => {
    await stack?.stop();
  });

  it('acknowledged every replay with 200 while messages flowed both ways', () => {
    assert.equal(statuses.length, ROUNDS * 3);
    assert.deepEqual(statuses.filter((s) => s !== 200), []);
    assert.ok(replayed.size >= 15, `enough messages were replayed (${replayed.size})`);
    assert.ok(result.load.count('matrix') >= MIN_PER_DIRECTION && result.load.count('network') >= MIN_PER_DIRECTION, 'both directions carried load');
  });

  it('sent every replayed message to the network exactly once', async () => {
    const counts = new Map<string, number>();
    for (const chat of stack.chats) {
      for (const m of await networkMessages(stack.env, chat.id)) counts.set(textOf(m), (counts.get(textOf(m)) ?? 0) + 1);
    }
    assert.deepEqual([...replayed].filter((b) => counts.get(b) !== 1).map((b) => `${b}: ${counts.get(b) ?? 0}`), []);
  });

  itDeliveredExactlyOnce(() => result);
});
