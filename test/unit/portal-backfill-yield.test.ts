/**
 * A long backfill lets the Matrix events that queue up behind it through (issue 6). Before, the
 * backfill held the portal queue from start to end; the Matrix echoes of the backfilled messages
 * filled it, and a full queue stalls every pusher: the intake for all rooms and the connector's
 * event chain for all chats. Live network messages of the chat itself must still come after the
 * backfilled history, in order.
 */
import assert from 'node:assert/strict';
import { catchUp, YIELD_EVERY } from '../../shared/src/core/portal-backfill.js';
import type { Portal } from '../../shared/src/core/portal.js';
import type { MatrixRoomEvent } from '../../shared/src/matrix/transaction.js';
import { messageId, type BackfillMessage, type FetchMessagesParams, type PortalKey, type RemoteUserId } from '../../shared/src/network/index.js';
import { PERSON, ROOM, startFakeCore, type FakeCore } from '../helpers/fake-core.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

const HISTORY = 40;
const text = (body: string) => async () => ({ parts: [{ id: '' as never, type: 'm.room.message', content: { msgtype: 'm.text', body } }] });
const fromBob = (n: number): BackfillMessage => ({
  id: messageId(`chat/${n}`), sender: { user: 'bob' as RemoteUserId, isFromMe: false }, timestamp: n * 100, convert: text(`h${n}`),
});
const personSays = (id: string): MatrixRoomEvent =>
  ({ type: 'm.room.message', content: { msgtype: 'm.text', body: id }, room_id: ROOM, sender: PERSON, event_id: id, origin_server_ts: 1 }) as MatrixRoomEvent;

describe('core: a backfill lets queued Matrix events through', () => {
  let core: FakeCore;
  let portal: Portal;

  beforeEach(async () => {
    core = await startFakeCore();
    const network = Array.from({ length: HISTORY + 1 }, (_, n) => fromBob(n));
    core.client.fetchMessages = async (p: FetchMessagesParams) => {
      const from = p.anchor ? network.findIndex((m) => m.id === p.anchor!.id) + 1 : 0;
      return { messages: network.slice(from, from + p.count), hasMore: from + p.count < network.length };
    };
    core.bridge.config.bridge.portal_queue_size = 4;
    portal = await core.portal();
    // chat/0 was bridged before: the catch-up sends chat/1 .. chat/HISTORY.
    await core.db.messages.insert({ portalId: 'chat', portalReceiver: '', roomId: ROOM, editCount: 0, id: 'chat/0', mxid: '$h0', senderId: 'bob', timestamp: 0 });
  });
  afterEach(() => core.close());

  const bridgedToMatrix = () => core.calls.filter((c) => c.method === 'sendEvent' && c.args[1] === 'm.room.message')
    .map((c) => (c.args[2] as { body: string }).body);

  it('sends queued Matrix messages during the backfill, without a full queue blocking their pushers', async () => {
    let backfillFinished = false;
    const backfill = portal.runInQueue(() => catchUp(portal, core.login)).then(() => (backfillFinished = true));
    const sentDuringHistory: number[] = [];
    const send = core.client.handleMatrixMessage.bind(core.client);
    core.client.handleMatrixMessage = async (msg) => {
      sentDuringHistory.push(bridgedToMatrix().length);
      return send(msg);
    };
    // Twice the queue's capacity: before, the last four pushes waited for the whole backfill.
    const pushed = Array.from({ length: 8 }, (_, i) => portal.queue.push({ kind: 'matrix', event: personSays(`$p${i}`), done: async () => undefined }));
    await Promise.all(pushed);
    assert.equal(backfillFinished, false, 'every push was admitted while the backfill still ran');
    await backfill;
    await portal.settled();
    assert.deepEqual(core.sentToNetwork.map((m) => m.eventId), Array.from({ length: 8 }, (_, i) => `$p${i}`), 'in order, once each');
    assert.ok(sentDuringHistory[0]! <= YIELD_EVERY, `the first was sent after ${sentDuringHistory[0]} backfilled messages`);
    assert.deepEqual(bridgedToMatrix(), Array.from({ length: HISTORY }, (_, i) => `h${i + 1}`), 'the history itself is complete and in order');
  });

  it('holds live network messages of the chat until the history is in, then bridges them in order', async () => {
    const backfill = portal.runInQueue(() => catchUp(portal, core.login));
    const key = { id: 'chat', receiver: '' } as PortalKey;
    const live = (n: number) => core.bridge.queueRemoteEvent(core.login, {
      type: 'message', portal: key, id: messageId(`chat/live${n}`), sender: { user: 'bob' as RemoteUserId, isFromMe: false },
      timestamp: 10_000 + n, convert: text(`live${n}`),
    });
    const queued: Array<Promise<unknown>> = [];
    for (let n = 0; n < 3; n++) {
      queued.push(live(n).then((q) => q.handled));
      // A Matrix message between them, which may go ahead of the held ones.
      queued.push(portal.queue.push({ kind: 'matrix', event: personSays(`$q${n}`), done: async () => undefined }));
    }
    await backfill;
    await Promise.all(queued);
    await portal.settled();
    const history = Array.from({ length: HISTORY }, (_, i) => `h${i + 1}`);
    assert.deepEqual(bridgedToMatrix(), [...history, 'live0', 'live1', 'live2'], 'live messages after the history, in their order');
    assert.deepEqual(core.sentToNetwork.map((m) => m.eventId), ['$q0', '$q1', '$q2']);
  });
});
