/**
 * Sends from Matrix to the network across outages and crashes, as the fault-injection suite found
 * they must work (issue 6). A Matrix event that meets a lost network connection waits for it:
 * before, a message sent while the connection was down (or while a restarted bridge was still
 * connecting) failed for good although the network was back a moment later; only what may safely
 * be repeated is repeated. And a send recorded but left pending by a crash is closed on replay.
 */
import assert from 'node:assert/strict';
import { handleMatrixEvent } from '../../shared/src/core/portal-matrix.js';
import { waitOutNetworkOutage } from '../../shared/src/core/network-outage.js';
import type { Portal } from '../../shared/src/core/portal.js';
import type { MatrixRoomEvent } from '../../shared/src/matrix/transaction.js';
import { BridgeError, type MatrixMessage } from '../../shared/src/network/index.js';
import { PERSON, ROOM, startFakeCore, type FakeCore } from '../helpers/fake-core.js';

const notConnected = () => new BridgeError('send: not connected', { reason: 'm_network_error', status: 'retriable' });
const droppedMidSend = () => new BridgeError('connection lost during send', { reason: 'm_network_error', status: 'retriable', certain: false });

describe('core: Matrix events wait out a network outage', () => {
  let core: FakeCore;
  let portal: Portal;
  let attempts: MatrixMessage[];

  beforeEach(async () => {
    core = await startFakeCore();
    portal = await core.portal();
    attempts = [];
  });
  afterEach(() => core.close());

  /** The network fails the first `failures` sends with what `fail` makes, then takes them. */
  function networkFailing(failures: number, fail: () => Error): void {
    const send = core.client.handleMatrixMessage.bind(core.client);
    core.client.handleMatrixMessage = async (msg: MatrixMessage) => {
      attempts.push(msg);
      if (attempts.length <= failures) throw fail();
      return send(msg);
    };
  }

  const message = (eventId: string, body: string, extra: Record<string, unknown> = {}) =>
    ({ type: 'm.room.message', content: { msgtype: 'm.text', body, ...extra }, room_id: ROOM, sender: PERSON, event_id: eventId, origin_server_ts: 1 }) as MatrixRoomEvent;
  const statuses = () => core.calls.filter((c) => c.method === 'sendEvent' && c.args[1] === 'com.beeper.message_send_status')
    .map((c) => (c.args[2] as { status: string }).status);
  const notices = () => core.calls.filter((c) => c.method === 'sendEvent' && (c.args[2] as { msgtype?: string }).msgtype === 'm.notice');

  it('sends a message once the connection is back, once, with its one transaction id', async () => {
    networkFailing(2, notConnected);
    await handleMatrixEvent(portal, message('$m1', 'hello'));
    assert.equal(attempts.length, 3);
    assert.equal(new Set(attempts.map((a) => a.txnId)).size, 1, 'every attempt carries the same transaction id');
    assert.equal(core.sentToNetwork.length, 1);
    assert.deepEqual(statuses(), ['SUCCESS']);
    assert.deepEqual(notices(), [], 'no "not bridged" notice');
    assert.equal((await core.db.pendingSends.get('$m1'))?.state, 'sent');
  });

  it('repeats a message whose connection dropped mid-send (the network drops the duplicate by its id)', async () => {
    networkFailing(1, droppedMidSend);
    await handleMatrixEvent(portal, message('$m2', 'hello again'));
    assert.equal(attempts.length, 2);
    assert.deepEqual(statuses(), ['SUCCESS']);
  });

  it('does not repeat an edit that may have arrived', async () => {
    await handleMatrixEvent(portal, message('$m3', 'original'));
    let edits = 0;
    core.client.handleMatrixEdit = async () => {
      edits++;
      throw droppedMidSend();
    };
    await handleMatrixEvent(portal, message('$m3e', '* edited', { 'm.new_content': { msgtype: 'm.text', body: 'edited' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$m3' } }));
    assert.equal(edits, 1);
    assert.deepEqual(statuses(), ['SUCCESS', 'PENDING'], 'the edit reports that it may not have arrived');
  });

  it('does not repeat a failure that is not an outage', async () => {
    networkFailing(1, () => new BridgeError('not allowed', { reason: 'm_no_permission', status: 'fail' }));
    await handleMatrixEvent(portal, message('$m4', 'refused'));
    assert.equal(attempts.length, 1);
    assert.deepEqual(statuses(), ['FAIL']);
    assert.equal((await core.db.pendingSends.get('$m4'))?.state, 'failed');
  });

  it('gives up when the outage outlasts the wait, with the outage as the error', async () => {
    let calls = 0;
    await assert.rejects(waitOutNetworkOutage(portal, async () => {
      calls++;
      throw notConnected();
    }, { idempotent: true, waitMs: 600 }), /not connected/);
    assert.ok(calls >= 2 && calls <= 4, `retried with backoff until the wait ran out (${calls} calls)`);
  });
});

describe('core: a send from Matrix recorded but left pending by a crash', () => {
  let core: FakeCore;
  afterEach(() => core.close());

  it('is closed when its event is replayed, and not sent to the network again', async () => {
    core = await startFakeCore();
    const portal = await core.portal();
    await core.db.pendingSends.insert({ eventId: '$sent', portalId: 'chat', portalReceiver: '', loginId: 'alice', txnId: 'txs' });
    await core.db.messages.insert({ portalId: 'chat', portalReceiver: '', roomId: ROOM, id: 'net-9', mxid: '$sent', senderId: 'alice', timestamp: 9 });
    const ev = { type: 'm.room.message', content: { msgtype: 'm.text', body: 'sent before the crash' }, room_id: ROOM, sender: PERSON, event_id: '$sent', origin_server_ts: 1 } as MatrixRoomEvent;
    await handleMatrixEvent(portal, ev);
    assert.deepEqual(core.sentToNetwork, []);
    assert.deepEqual(await core.db.pendingSends.get('$sent').then((p) => [p?.state, p?.remoteMessageId]), ['sent', 'net-9']);
  });
});
