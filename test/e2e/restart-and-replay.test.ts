/**
 * Nothing lost, nothing doubled, order kept, across replays and restarts: replayed appservice
 * transactions, transactions Synapse could not deliver while the bridge was down, remote messages
 * sent while it was down or killed mid-burst, a clean restart, and a Synapse restart mid-flow.
 *
 * "Exactly once" is checked after a sentinel message sent later in the same direction has arrived:
 * each portal is one ordered queue, so a duplicate would have arrived before it.
 */
import assert from 'node:assert/strict';
import * as sdk from 'matrix-js-sdk';
import { BridgeEnv, eventually, sleep } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import { loginAsMe, networkMessages, portalRoom, sendAs, textOf, waitForNetworkMessage } from '../helpers/portal-setup.js';

const CHAT = 'dm:alice:me';

describe('e2e: restart and replay (real Synapse, bridge process)', function () {
  this.timeout(300_000);
  let env: BridgeEnv;
  let me: TestClient;
  let mgmt: string;
  let room: string;

  before(async function () {
    env = await BridgeEnv.start();
    ({ client: me } = await env.user('rr_me'));
    ({ mgmt } = await loginAsMe(env, me));
    room = await portalRoom(env, me, CHAT);
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  /** Bodies of the room's m.room.message events sent by `sender`, oldest first, read from the server. */
  async function roomBodies(roomId: string, sender: string): Promise<string[]> {
    const bodies: string[] = [];
    let from: string | null = null;
    for (let page = 0; page < 20; page++) {
      const res = await me.client.createMessagesRequest(roomId, from, 200, sdk.Direction.Backward);
      for (const ev of res.chunk) {
        const body = (ev.content as { body?: unknown }).body;
        if (ev.type === 'm.room.message' && ev.sender === sender && typeof body === 'string') bodies.push(body);
      }
      if (!res.end || res.chunk.length === 0) break;
      from = res.end;
    }
    return bodies.reverse();
  }

  /** Texts of the chat's messages on the network sent by `sender`, in network order. */
  async function networkTexts(sender: string): Promise<string[]> {
    return (await networkMessages(env, CHAT)).filter((m) => m.sender === sender).map(textOf);
  }

  /** Asserts `expected` each appear once in `actual`, in that relative order. */
  function assertOnceInOrder(actual: string[], expected: string[]): void {
    for (const text of expected) assert.equal(actual.filter((t) => t === text).length, 1, `"${text}" appears exactly once in ${JSON.stringify(actual)}`);
    assert.deepEqual(actual.filter((t) => expected.includes(t)), expected);
  }

  /** Remote messages from alice reach the room exactly once and in order (after a sentinel). */
  async function expectInRoomOnce(texts: string[], sentinel: string, timeoutMs = 60_000): Promise<void> {
    const alice = env.ghost('alice');
    await eventually(`${texts.length} remote messages in the room`, async () => {
      const bodies = await roomBodies(room, alice);
      return texts.every((t) => bodies.includes(t));
    }, timeoutMs);
    await sendAs(env, CHAT, 'alice', { text: sentinel });
    await eventually(`the sentinel "${sentinel}" in the room`, async () => (await roomBodies(room, alice)).includes(sentinel), timeoutMs);
    assertOnceInOrder(await roomBodies(room, alice), texts);
  }

  /** Matrix messages from the person reach the network exactly once and in order (after a sentinel). */
  async function expectOnNetworkOnce(texts: string[], sentinel: string, timeoutMs = 60_000): Promise<void> {
    await eventually(`${texts.length} Matrix messages on the network`, async () => {
      const sent = await networkTexts('me');
      return texts.every((t) => sent.includes(t));
    }, timeoutMs);
    await me.sendText(room, sentinel);
    await waitForNetworkMessage(env, CHAT, (m) => textOf(m) === sentinel, timeoutMs);
    assertOnceInOrder(await networkTexts('me'), texts);
  }

  async function bridgeState(): Promise<string | undefined> {
    const res = await fetch(`http://127.0.0.1:${env.asPort}/_tributary/v1/bridge_state`, { headers: { Authorization: `Bearer ${env.config.appservice.hs_token}` } });
    const body = (await res.json()) as { logins: Record<string, { state_event: string }> };
    return body.logins.me?.state_event;
  }

  it('bridges a replayed transaction (same id twice, then a new id) once', async () => {
    const eventId = await me.sendText(room, 'replay: original');
    await waitForNetworkMessage(env, CHAT, (m) => textOf(m) === 'replay: original');
    const raw = (await me.client.fetchRoomEvent(room, eventId)) as Record<string, unknown>;
    assert.equal(raw.event_id, eventId);
    const put = async (txnId: string) => {
      const res = await fetch(`http://127.0.0.1:${env.asPort}/_matrix/app/v1/transactions/${txnId}`, {
        method: 'PUT', headers: { Authorization: `Bearer ${env.config.appservice.hs_token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ events: [raw] }),
      });
      assert.equal(res.status, 200, await res.text());
    };
    await put('replay-1');
    await put('replay-1');
    await put('replay-2');
    await expectOnNetworkOnce(['replay: original'], 'replay: sentinel');
  });

  it('delivers Matrix messages sent while the bridge was killed exactly once, in order, after it restarts', async () => {
    await env.stopBridge('SIGKILL');
    const texts = [1, 2, 3, 4, 5].map((i) => `while down ${i}`);
    for (const t of texts) await me.sendText(room, t);
    await env.startBridge();
    // Synapse redelivers on its own schedule (backoff from 2 s, doubling).
    await expectOnNetworkOnce(texts, 'while down: sentinel', 180_000);
  });

  it('brings remote messages sent while the bridge was down into the room once, in order', async () => {
    await env.stopBridge('SIGKILL');
    const texts = [1, 2, 3, 4, 5].map((i) => `remote while down ${i}`);
    for (const t of texts) await sendAs(env, CHAT, 'alice', { text: t });
    await env.startBridge();
    await expectInRoomOnce(texts, 'remote while down: sentinel');
  });

  it('loses and doubles nothing when the bridge is killed in the middle of a remote burst', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `burst ${i + 1}`);
    let killed: Promise<void> | undefined;
    for (const [i, t] of texts.entries()) {
      await sendAs(env, CHAT, 'alice', { text: t });
      if (i === 2) killed = env.stopBridge('SIGKILL');
    }
    await killed;
    await env.startBridge();
    await expectInRoomOnce(texts, 'burst: sentinel');
  });

  it('keeps the login across a clean SIGTERM restart', async () => {
    await env.stopBridge('SIGTERM');
    assert.equal(env.bridgeProc?.exitCode, 0, 'a SIGTERM stop exits with 0');
    await env.startBridge();
    await eventually('the login to be CONNECTED again', async () => (await bridgeState()) === 'CONNECTED', 30_000);
    const asked = Date.now();
    await me.sendText(mgmt, 'list-logins');
    const reply = await me.waitForEvent(mgmt, (e) => e.getSender() === env.botMxid && e.getTs() >= asked - 5_000 && /Your logins/.test(e.getContent().body ?? ''), 30_000);
    assert.match(reply.getContent().body, /• me \(.*\): CONNECTED/);
    await me.sendText(room, 'after sigterm: from matrix');
    await waitForNetworkMessage(env, CHAT, (m) => textOf(m) === 'after sigterm: from matrix');
    await sendAs(env, CHAT, 'alice', { text: 'after sigterm: from alice' });
    await eventually('alice\'s message in the room', async () => (await roomBodies(room, env.ghost('alice'))).includes('after sigterm: from alice'));
  });

  it('keeps both directions working, without duplicates, across a Synapse restart mid-flow', async () => {
    // Matrix -> network first, delivered before the restart: Synapse itself forgets events it has
    // queued in memory for an appservice but not yet written as a transaction when it stops.
    const fromMatrix = [1, 2, 3].map((i) => `before synapse restart ${i}`);
    for (const t of fromMatrix) await me.sendText(room, t);
    await eventually('the Matrix messages on the network', async () => {
      const sent = await networkTexts('me');
      return fromMatrix.every((t) => sent.includes(t));
    });
    // Network -> Matrix while Synapse goes down and comes back: the bridge must wait it out. The
    // outage is held longer than the bridge's per-request retries (a few seconds) on purpose.
    const fromAlice = Array.from({ length: 10 }, (_, i) => `around synapse restart ${i + 1}`);
    for (const [i, t] of fromAlice.entries()) {
      await sendAs(env, CHAT, 'alice', { text: t });
      if (i === 2) await env.synapse.stop();
      if (i === 6) {
        await sleep(8_000);
        await env.synapse.start();
      }
    }
    // The person's client resyncs on its own once Synapse is back.
    await expectInRoomOnce(fromAlice, 'after synapse restart: sentinel from alice', 120_000);
    const after = 'after synapse restart: from matrix';
    await me.sendText(room, after);
    await expectOnNetworkOnce([...fromMatrix, after], 'after synapse restart: sentinel from matrix', 120_000);
  });
});
