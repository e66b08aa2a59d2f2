/**
 * Matrix -> network throughput fixes found by the benchmark (issue 6, docs/performance.md):
 * - a message's success status is sent beside the portal queue, so the next message of the portal
 *   does not wait for that homeserver round trip (before, it held each message behind the previous
 *   one's status), with at most `portal_queue_size` statuses in flight per portal;
 * - the intake's dispatch loop does not look up the management room for messages in portal rooms
 *   (one database read per message in a loop that dispatches one event at a time).
 */
import assert from 'node:assert/strict';
import { handleMatrixEvent } from '../../shared/src/core/portal-matrix.js';
import { MatrixRouter } from '../../shared/src/core/matrix-router.js';
import type { Portal } from '../../shared/src/core/portal.js';
import type { CommandProcessor } from '../../shared/src/commands/processor.js';
import type { MatrixRoomEvent } from '../../shared/src/matrix/transaction.js';
import { PERSON, ROOM, startFakeCore, type FakeCore } from '../helpers/fake-core.js';

const STATUS = 'com.beeper.message_send_status';
const message = (eventId: string, body: string, room = ROOM) =>
  ({ type: 'm.room.message', content: { msgtype: 'm.text', body }, room_id: room, sender: PERSON, event_id: eventId, origin_server_ts: 1 }) as MatrixRoomEvent;

/** Rejects when `p` has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)))])
    .finally(() => clearTimeout(timer));
}

/** Polls `cond` (database work runs on another thread) until true; rejects after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  return done;
};

describe('core: success statuses trail the portal queue', () => {
  let core: FakeCore;
  let portal: Portal;
  /** Status sends started, in order; each waits until its gate is opened. */
  let started: string[];
  let gates: Array<() => void>;

  beforeEach(async () => {
    core = await startFakeCore();
    portal = await core.portal();
    started = [];
    gates = [];
    const api = (core.bridge as unknown as { api: Record<string, (...a: unknown[]) => Promise<unknown>> }).api;
    (core.bridge as unknown as { api: unknown }).api = new Proxy(api, {
      get(target, name) {
        if (name !== 'sendEvent') return Reflect.get(target, name);
        return async (...args: unknown[]) => {
          if (args[1] === STATUS) {
            started.push((args[2] as { 'm.relates_to': { event_id: string } })['m.relates_to'].event_id);
            await new Promise<void>((resolve) => gates.push(resolve));
          }
          return target.sendEvent!(...args);
        };
      },
    });
  });
  afterEach(() => core.close());

  const statuses = () => core.calls.filter((c) => c.method === 'sendEvent' && c.args[1] === STATUS)
    .map((c) => [(c.args[2] as { 'm.relates_to': { event_id: string } })['m.relates_to'].event_id, (c.args[2] as { status: string }).status]);

  it('hands the next message to the network while the previous status is still on its way', async () => {
    await within(handleMatrixEvent(portal, message('$m1', 'one')), 2000, 'the first message');
    await within(handleMatrixEvent(portal, message('$m2', 'two')), 2000, 'the second message');
    assert.deepEqual(core.sentToNetwork.map((m) => m.eventId), ['$m1', '$m2']);
    assert.deepEqual(started, ['$m1', '$m2'], 'both statuses were started');
    assert.deepEqual(statuses(), [], 'neither has completed');

    const idle = core.bridge.idle();
    assert.equal(await settled(idle), false, 'Bridge.idle() waits for statuses in flight');
    for (const open of gates) open();
    await within(idle, 2000, 'Bridge.idle()');
    assert.deepEqual(statuses(), [['$m1', 'SUCCESS'], ['$m2', 'SUCCESS']]);
  });

  it('waits for the oldest status once portal_queue_size are in flight (backpressure)', async () => {
    (core.bridge.config.bridge as { portal_queue_size: number }).portal_queue_size = 2;
    await within(handleMatrixEvent(portal, message('$a', 'a')), 2000, 'a');
    await within(handleMatrixEvent(portal, message('$b', 'b')), 2000, 'b');
    const third = handleMatrixEvent(portal, message('$c', 'c'));
    await until(() => core.sentToNetwork.length === 3, 2000, 'the third message on the network');
    assert.equal(await settled(third), false, 'the third message is sent but waits for a status slot');
    assert.deepEqual(started, ['$a', '$b'], 'its status has not started');
    gates[0]!();
    await within(third, 2000, 'the third message after a slot freed');
    assert.deepEqual(started, ['$a', '$b', '$c']);
    assert.deepEqual(core.sentToNetwork.map((m) => m.eventId), ['$a', '$b', '$c']);
    for (const open of gates) open();
    await core.bridge.idle();
    assert.deepEqual(statuses().map(([id]) => id).sort(), ['$a', '$b', '$c']);
  });

  it('keeps a failed status from breaking the queue: the failure is logged and later messages go on', async () => {
    const api = (core.bridge as unknown as { api: Record<string, (...a: unknown[]) => Promise<unknown>> }).api;
    (core.bridge as unknown as { api: unknown }).api = new Proxy(api, {
      get(target, name) {
        if (name !== 'sendEvent') return Reflect.get(target, name);
        return async (...args: unknown[]) => {
          if (args[1] === STATUS) throw new Error('homeserver said no');
          return target.sendEvent!(...args);
        };
      },
    });
    await within(handleMatrixEvent(portal, message('$x', 'x')), 2000, 'x');
    await within(handleMatrixEvent(portal, message('$y', 'y')), 2000, 'y');
    await within(core.bridge.idle(), 2000, 'Bridge.idle()');
    assert.deepEqual(core.sentToNetwork.map((m) => m.eventId), ['$x', '$y']);
  });
});

describe('core: intake dispatch of messages in portal rooms', () => {
  let core: FakeCore;
  let lookups: string[];
  let commands: Array<{ body: unknown; isManagementRoom: boolean }>;

  beforeEach(async () => {
    core = await startFakeCore();
    await core.portal();
    lookups = [];
    commands = [];
    const original = core.db.users.getByManagementRoom.bind(core.db.users);
    core.db.users.getByManagementRoom = async (roomId: string) => {
      lookups.push(roomId);
      return original(roomId);
    };
    core.bridge.commands = {
      handle: async (ev: MatrixRoomEvent, ctx: { isManagementRoom: boolean }) => void commands.push({ body: ev.content.body, isManagementRoom: ctx.isManagementRoom }),
    } as unknown as CommandProcessor;
  });
  afterEach(() => core.close());

  it('routes a portal message to its portal without the management-room lookup', async () => {
    const router = new MatrixRouter(core.bridge);
    let done = 0;
    await router.dispatch({ seq: 1, kind: 'event', event: message('$p1', 'hello portal') }, async () => void done++);
    await core.bridge.idle();
    assert.deepEqual(lookups, []);
    assert.deepEqual(core.sentToNetwork.map((m) => m.eventId), ['$p1']);
    assert.equal(done, 1);
    assert.deepEqual(commands, []);
  });

  it('still runs the owner\'s messages in their management room as commands, and prefixed commands in portals', async () => {
    await core.db.users.setManagementRoom(PERSON, '!mgmt:example.org');
    const router = new MatrixRouter(core.bridge);
    await router.dispatch({ seq: 1, kind: 'event', event: message('$c1', 'help', '!mgmt:example.org') }, async () => undefined);
    await router.dispatch({ seq: 2, kind: 'event', event: message('$c2', `${core.bridge.config.bridge.command_prefix} help`) }, async () => undefined);
    await core.bridge.idle();
    assert.deepEqual(lookups, ['!mgmt:example.org']);
    assert.deepEqual(commands, [
      { body: 'help', isManagementRoom: true },
      { body: `${core.bridge.config.bridge.command_prefix} help`, isManagementRoom: false },
    ]);
    assert.deepEqual(core.sentToNetwork, [], 'commands are not bridged');
  });
});
