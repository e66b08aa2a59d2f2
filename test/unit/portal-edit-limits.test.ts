/**
 * The core refuses a Matrix edit the network's limits forbid (too many edits, too old) before
 * calling the connector, and tells the person plainly that it was not bridged: nothing was sent,
 * so the notice must not say "may not have been".
 */
import assert from 'node:assert/strict';
import { handleMatrixEvent } from '../../shared/src/core/portal-matrix.js';
import type { Portal } from '../../shared/src/core/portal.js';
import type { MatrixRoomEvent } from '../../shared/src/matrix/transaction.js';
import { PERSON, ROOM, startFakeCore, type FakeCore } from '../helpers/fake-core.js';

describe('core: Matrix edits beyond the network\'s limits', () => {
  let core: FakeCore;
  let portal: Portal;
  let edits: number;

  beforeEach(async () => {
    core = await startFakeCore();
    portal = await core.portal();
    edits = 0;
    core.client.handleMatrixEdit = async () => {
      edits++;
    };
  });
  afterEach(() => core.close());

  const event = (eventId: string, body: string, extra: Record<string, unknown> = {}) =>
    ({ type: 'm.room.message', content: { msgtype: 'm.text', body, ...extra }, room_id: ROOM, sender: PERSON, event_id: eventId, origin_server_ts: 1 }) as MatrixRoomEvent;
  const edit = (eventId: string, target: string, body: string) =>
    event(eventId, `* ${body}`, { 'm.new_content': { msgtype: 'm.text', body }, 'm.relates_to': { rel_type: 'm.replace', event_id: target } });
  const notices = () => core.calls.filter((c) => c.method === 'sendEvent' && (c.args[2] as { msgtype?: string }).msgtype === 'm.notice')
    .map((c) => (c.args[2] as { body: string }).body);
  const statuses = () => core.calls.filter((c) => c.method === 'sendEvent' && c.args[1] === 'com.beeper.message_send_status')
    .map((c) => c.args[2] as { status: string; is_certain?: boolean });

  it('refuses the edit after the last allowed one, certain that nothing was sent', async () => {
    core.client.getCapabilities = () => ({ edits: { maxCount: 2 }, reactions: {}, deletes: {} });
    await handleMatrixEvent(portal, event('$m', 'original'));
    await handleMatrixEvent(portal, edit('$e1', '$m', 'one'));
    await handleMatrixEvent(portal, edit('$e2', '$m', 'two'));
    assert.equal(edits, 2);
    await handleMatrixEvent(portal, edit('$e3', '$m', 'three'));
    assert.equal(edits, 2, 'the third edit never reached the connector');
    assert.deepEqual(notices(), ['⚠️ Your message was not bridged: Messages can be edited at most 2 times']);
    const last = statuses().at(-1);
    assert.equal(last?.status, 'FAIL');
    assert.equal(last?.is_certain, true);
  });

  it('refuses an edit of a message older than the window, naming the window', async () => {
    // The fake network stamps its messages at t≈1000 ms, long before now.
    core.client.getCapabilities = () => ({ edits: { maxAgeMs: 15 * 60_000 }, reactions: {}, deletes: {} });
    await handleMatrixEvent(portal, event('$old', 'original'));
    await handleMatrixEvent(portal, edit('$late', '$old', 'late'));
    assert.equal(edits, 0);
    assert.deepEqual(notices(), ['⚠️ Your message was not bridged: Messages can be edited only within 15 minutes of sending']);
  });
});
