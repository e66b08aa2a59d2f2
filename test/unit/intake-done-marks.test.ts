/**
 * Done marks written in batches (issue 6). The portal no longer waits for each event's done mark,
 * so a crash can replay events whose handling had finished: through the real Bridge, router and
 * portal queue these replays must be dropped (nothing sent twice), order must hold, and a clean
 * stop must leave nothing to replay.
 */
import assert from 'node:assert/strict';
import { MatrixRouter } from '../../shared/src/core/matrix-router.js';
import { TransactionIntake } from '../../shared/src/matrix/intake.js';
import type { MatrixRoomEvent, ParsedTransaction } from '../../shared/src/matrix/transaction.js';
import { PERSON, ROOM, startFakeCore, type FakeCore } from '../helpers/fake-core.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

const message = (id: string, body: string): MatrixRoomEvent =>
  ({ type: 'm.room.message', content: { msgtype: 'm.text', body }, room_id: ROOM, sender: PERSON, event_id: id, origin_server_ts: 1 }) as MatrixRoomEvent;
const reaction = (id: string, target: string): MatrixRoomEvent =>
  ({ type: 'm.reaction', content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: '👍' } }, room_id: ROOM, sender: PERSON, event_id: id, origin_server_ts: 2 }) as MatrixRoomEvent;
const txn = (events: MatrixRoomEvent[]): ParsedTransaction => ({ events, ephemeral: [], crypto: { toDevice: [] } });

describe('intake: done marks in batches', () => {
  let core: FakeCore;
  let reactionsSent: string[];

  beforeEach(async () => {
    core = await startFakeCore();
    await core.portal();
    reactionsSent = [];
    core.client.preHandleMatrixReaction = (msg: { emoji: string }) => ({ emojiId: msg.emoji, emoji: msg.emoji });
    core.client.handleMatrixReaction = async (msg: { eventId: string }) => void reactionsSent.push(msg.eventId);
    core.client.handleMatrixReactionRemove = async () => undefined;
  });
  afterEach(() => core.close());

  const queuedCount = async () => (await core.db.inbound.listQueued(10_000)).length;

  it('marks every handled event done in far fewer commits than events, once idle', async () => {
    const before = core.db.groupCommit!.stats.commits;
    core.bridge.intake.start();
    const events = Array.from({ length: 60 }, (_, i) => message(`$m${i}`, `m${i}`));
    await core.bridge.intake.onTransaction('t1', txn(events));
    await core.bridge.idle();
    assert.deepEqual(core.sentToNetwork.map((m) => m.eventId), events.map((e) => e.event_id), 'sent once each, in order');
    assert.equal(await queuedCount(), 0, 'idle() waits until every done mark is committed');
    // Per event: its pending send and its record (2 transactions, one after the other in this one
    // portal). The marks ride along in those commits instead of adding one commit per event (3 per
    // event before); a few may still go alone when the 10 ms fallback fires on a slow machine.
    const commits = core.db.groupCommit!.stats.commits - before;
    assert.ok(commits < 2.5 * events.length, `expected the marks to ride along, got ${commits} commits for ${events.length} events`);
  });

  it('a replay of handled events whose done marks were lost sends nothing again and keeps order', async () => {
    core.bridge.intake.start();
    await core.bridge.intake.onTransaction('t1', txn([message('$a', 'a'), message('$b', 'b'), reaction('$r', '$a'), message('$c', 'c')]));
    await core.bridge.idle();
    assert.deepEqual(core.sentToNetwork.map((m) => m.eventId), ['$a', '$b', '$c']);
    assert.deepEqual(reactionsSent, ['$r']);

    // A crash after the portal handled them but before any mark was committed: all still queued.
    core.bridge.intake.stopped = true;
    await core.db.knex('inbound_events').update({ state: 'queued' });
    const restarted = new TransactionIntake(core.db, new MatrixRouter(core.bridge));
    restarted.start();
    // Something new arrives after the restart: it must come after the replayed ones, and be sent.
    await restarted.onTransaction('t2', txn([message('$d', 'd')]));
    await restarted.drained();
    await core.bridge.idle();
    await restarted.drained();
    assert.deepEqual(core.sentToNetwork.map((m) => m.eventId), ['$a', '$b', '$c', '$d'], 'nothing doubled, order kept');
    assert.deepEqual(reactionsSent, ['$r'], 'the reaction is not sent again');
    assert.equal(await queuedCount(), 0);
    restarted.stopped = true;
  });
});
