/**
 * Catch-up after a reconnect or restart, as the fault-injection suite found it must work (issue 6):
 * it starts after the newest message that came from the network, not after a message sent from
 * Matrix (which the network may have placed after messages still on their way), and it does not
 * bridge back a message sent from Matrix whose send the bridge had not recorded yet.
 */
import assert from 'node:assert/strict';
import { catchUp } from '../../shared/src/core/portal-backfill.js';
import { handleMatrixEvent } from '../../shared/src/core/portal-matrix.js';
import type { MatrixRoomEvent } from '../../shared/src/matrix/transaction.js';
import { messageId, type BackfillMessage, type FetchMessagesParams, type RemoteUserId } from '../../shared/src/network/index.js';
import { LOGIN_ID, PERSON, ROOM, startFakeCore, type FakeCore } from '../helpers/fake-core.js';

/** The chat on the network: [seq, sender, text, client txn id of a send from Matrix]. */
const NETWORK: Array<[number, string, string, string?]> = [
  [1, 'bob', 'one'], [2, 'bob', 'two'], [3, LOGIN_ID, 'three', 'tx3'], [4, 'bob', 'four'], [5, LOGIN_ID, 'five', 'tx5'], [6, 'bob', 'six'],
];

function asBackfill([seq, sender, text, txn]: (typeof NETWORK)[number]): BackfillMessage {
  return {
    id: messageId(`chat/${seq}`), sender: { user: sender as RemoteUserId, isFromMe: sender === LOGIN_ID }, timestamp: seq * 100,
    ...(txn ? { echoOf: txn } : {}),
    convert: async () => ({ parts: [{ id: '' as never, type: 'm.room.message', content: { msgtype: 'm.text', body: text } }] }),
  };
}

describe('core: catch-up keeps order and does not echo sends from Matrix', () => {
  let core: FakeCore;

  beforeEach(async () => {
    core = await startFakeCore();
    core.client.fetchMessages = async (p: FetchMessagesParams) => {
      const from = p.anchor ? NETWORK.findIndex(([seq]) => `chat/${seq}` === p.anchor!.id) + 1 : 0;
      return { messages: NETWORK.slice(from, from + p.count).map(asBackfill), hasMore: from + p.count < NETWORK.length };
    };
    const portal = await core.portal();
    const row = { portalId: 'chat', portalReceiver: '', roomId: ROOM, editCount: 0 };
    // Bridged before the crash: bob's first message, and the person's "three" sent from Matrix.
    await core.db.messages.insert({ ...row, id: 'chat/1', mxid: '$one', senderId: 'bob', timestamp: 100 });
    await core.db.pendingSends.insert({ eventId: '$three', portalId: 'chat', portalReceiver: '', loginId: LOGIN_ID, txnId: 'tx3' });
    await core.db.messages.insert({ ...row, id: 'chat/3', mxid: '$three', senderId: LOGIN_ID, timestamp: 300 });
    await core.db.pendingSends.markSent('$three', 'chat/3');
    // Killed after the network took "five" and before the bridge wrote it down.
    await core.db.pendingSends.insert({ eventId: '$five', portalId: 'chat', portalReceiver: '', loginId: LOGIN_ID, txnId: 'tx5' });
    await portal.runInQueue(() => catchUp(portal, core.login));
  });
  afterEach(() => core.close());

  const bridgedToMatrix = () => core.calls.filter((c) => c.method === 'sendEvent' && c.args[1] === 'm.room.message')
    .map((c) => (c.args[2] as { body: string }).body);

  it('starts after the newest message from the network, so nothing is skipped or sent out of order', () => {
    // From "three" (sent from Matrix) it would skip "two" now and bridge it after "six" later.
    assert.deepEqual(bridgedToMatrix(), ['two', 'four', 'six']);
  });

  it('records an unrecorded send from Matrix against its event instead of bridging it back', async () => {
    assert.ok(!bridgedToMatrix().includes('five'), 'the person\'s own message is not doubled in the room');
    assert.equal((await core.db.messages.getByMxid('$five'))?.id, 'chat/5');
    assert.deepEqual(await core.db.pendingSends.get('$five').then((p) => [p?.state, p?.remoteMessageId]), ['sent', 'chat/5']);
  });

  it('does not send that message to the network again when its Matrix event is replayed', async () => {
    const portal = (await core.bridge.getPortalByRoom(ROOM))!;
    const ev = { type: 'm.room.message', content: { msgtype: 'm.text', body: 'five' }, room_id: ROOM, sender: PERSON, event_id: '$five', origin_server_ts: 500 } as MatrixRoomEvent;
    await handleMatrixEvent(portal, ev);
    assert.deepEqual(core.sentToNetwork, []);
  });
});

describe('core: catch-up in a room with nothing from the network bridged yet', () => {
  let core: FakeCore;
  afterEach(() => core.close());

  it('sends what the network got since the room was made, oldest first, and nothing older', async () => {
    core = await startFakeCore();
    const network = NETWORK.map(asBackfill);
    core.client.fetchMessages = async (p: FetchMessagesParams) => {
      const to = p.anchor ? network.findIndex((m) => m.id === p.anchor!.id) : network.length;
      const from = Math.max(0, to - p.count);
      return { messages: network.slice(from, to), hasMore: from > 0 };
    };
    // The room was made between "one" (history, left to the initial backfill) and "two".
    const portal = await core.portal(150);
    // Only the person's "three" was bridged before the crash (it is no anchor); "five" was on its way.
    await core.db.pendingSends.insert({ eventId: '$three', portalId: 'chat', portalReceiver: '', loginId: LOGIN_ID, txnId: 'tx3' });
    await core.db.messages.insert({ portalId: 'chat', portalReceiver: '', roomId: ROOM, editCount: 0, id: 'chat/3', mxid: '$three', senderId: LOGIN_ID, timestamp: 300 });
    await core.db.pendingSends.markSent('$three', 'chat/3');
    await core.db.pendingSends.insert({ eventId: '$five', portalId: 'chat', portalReceiver: '', loginId: LOGIN_ID, txnId: 'tx5' });
    await portal.runInQueue(() => catchUp(portal, core.login));
    const bodies = core.calls.filter((c) => c.method === 'sendEvent' && c.args[1] === 'm.room.message').map((c) => (c.args[2] as { body: string }).body);
    assert.deepEqual(bodies, ['two', 'four', 'six'], 'not "one" (older than the room), not the person\'s own messages');
  });
});
