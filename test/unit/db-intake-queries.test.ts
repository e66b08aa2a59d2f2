import assert from 'node:assert/strict';
import type { Database, InboundItem, PortalKey } from '../../shared/src/db/index.js';
import { describeBothEngines } from '../helpers/postgres.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

const PORTAL: PortalKey = { id: 'chat1', receiver: '' };
const DAY = 86_400_000;
const NOW = 1_893_456_000_000;

function roomEvent(eventId: string, body: unknown = { type: 'm.room.message', event_id: eventId }): InboundItem {
  return { kind: 'event', eventId, roomId: '!room:example.org', body };
}

describeBothEngines('db intake queue, pending sends, disappearing, user portals', (ctx) => {
  let db: Database;
  beforeEach(async () => {
    db = await ctx.openMigrated();
    await db.users.getOrCreate('@alice:example.org');
    await db.logins.upsert({ id: 'login1', userMxid: '@alice:example.org' });
    await db.portals.upsert({ ...PORTAL, roomType: 'group' });
  });

  describe('inbound', () => {
    it('queues a transaction in order with its JSON bodies', async () => {
      const body = { type: 'm.room.message', content: { body: 'hi', 'm.relates_to': null }, n: [1, 2] };
      const res = await db.inbound.enqueueTransaction('txn1', [
        roomEvent('$a', body),
        { kind: 'ephemeral', roomId: '!room:example.org', body: { type: 'm.typing' } },
        { kind: 'to_device', body: { type: 'm.room.encrypted' } },
      ], NOW);
      assert.deepEqual(res, { duplicateTransaction: false, queued: 3 });
      const queued = await db.inbound.listQueued(10);
      assert.deepEqual(queued.map((q) => q.kind), ['event', 'ephemeral', 'to_device']);
      assert.ok(queued[0]!.seq < queued[1]!.seq && queued[1]!.seq < queued[2]!.seq);
      assert.equal(typeof queued[0]!.seq, 'number');
      assert.deepEqual(queued[0], {
        seq: queued[0]!.seq, eventId: '$a', txnId: 'txn1', kind: 'event', roomId: '!room:example.org', body,
        state: 'queued', attempts: 0, createdAt: NOW,
      });
      assert.equal(queued[2]!.eventId, null);
      assert.equal(queued[2]!.roomId, null);
      assert.deepEqual((await db.inbound.listQueued(1)).map((q) => q.eventId), ['$a']);
    });

    it('the same transaction id twice inserts nothing the second time', async () => {
      await db.inbound.enqueueTransaction('txn1', [roomEvent('$a'), roomEvent('$b')]);
      const again = await db.inbound.enqueueTransaction('txn1', [roomEvent('$a'), roomEvent('$b'), roomEvent('$c')]);
      assert.deepEqual(again, { duplicateTransaction: true, queued: 0 });
      assert.deepEqual((await db.inbound.listQueued(10)).map((q) => q.eventId), ['$a', '$b']);
    });

    it('the same event under a new transaction id is skipped; new events in it are queued', async () => {
      await db.inbound.enqueueTransaction('txn1', [roomEvent('$a')]);
      const res = await db.inbound.enqueueTransaction('txn2', [roomEvent('$a'), roomEvent('$b'), { kind: 'ephemeral', body: {} }]);
      assert.deepEqual(res, { duplicateTransaction: false, queued: 2 });
      const queued = await db.inbound.listQueued(10);
      assert.deepEqual(queued.map((q) => [q.eventId, q.txnId]), [['$a', 'txn1'], ['$b', 'txn2'], [null, 'txn2']]);
    });

    it('an event already processed (done) still dedups', async () => {
      await db.inbound.enqueueTransaction('txn1', [roomEvent('$a')]);
      const [first] = await db.inbound.listQueued(1);
      await db.inbound.markDone(first!.seq);
      const res = await db.inbound.enqueueTransaction('txn2', [roomEvent('$a')]);
      assert.equal(res.queued, 0);
      assert.deepEqual(await db.inbound.listQueued(10), []);
    });

    it('is atomic: a failing item leaves neither the transaction nor earlier items', async () => {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await assert.rejects(db.inbound.enqueueTransaction('txn1', [roomEvent('$a'), roomEvent('$b', circular)]), /circular/i);
      assert.deepEqual(await db.inbound.listQueued(10), []);
      const retry = await db.inbound.enqueueTransaction('txn1', [roomEvent('$a')]);
      assert.deepEqual(retry, { duplicateTransaction: false, queued: 1 });
    });

    it('concurrent deliveries of one transaction from two connections queue it once', async () => {
      const other = await ctx.openAnother();
      const items = [roomEvent('$a'), roomEvent('$b')];
      const results = await Promise.all([
        db.inbound.enqueueTransaction('txn1', items),
        other.inbound.enqueueTransaction('txn1', items),
      ]);
      assert.deepEqual(results.map((r) => r.duplicateTransaction).sort(), [false, true]);
      assert.equal((await db.inbound.listQueued(10)).length, 2);
    });

    it('markDone, markFailed and incrementAttempts move items out of the queue', async () => {
      await db.inbound.enqueueTransaction('txn1', [roomEvent('$a'), roomEvent('$b'), roomEvent('$c')]);
      const [a, b, c] = await db.inbound.listQueued(10);
      assert.equal(await db.inbound.incrementAttempts(a!.seq), 1);
      assert.equal(await db.inbound.incrementAttempts(a!.seq), 2);
      assert.equal(await db.inbound.markDone(a!.seq), true);
      assert.equal(await db.inbound.markFailed(b!.seq), true);
      assert.deepEqual((await db.inbound.listQueued(10)).map((q) => q.seq), [c!.seq]);
      assert.equal((await db.inbound.get(a!.seq))?.state, 'done');
      assert.equal((await db.inbound.get(a!.seq))?.attempts, 2);
      assert.equal((await db.inbound.get(b!.seq))?.state, 'failed');
      assert.equal(await db.inbound.markDone(999_999), false);
    });

    it('pruneDone deletes only old done items; pruneTransactions forgets old txn ids', async () => {
      await db.inbound.enqueueTransaction('old', [roomEvent('$old'), roomEvent('$oldFailed')], NOW - 3 * DAY);
      await db.inbound.enqueueTransaction('new', [roomEvent('$new')], NOW);
      for (const q of await db.inbound.listQueued(10)) if (q.eventId !== '$oldFailed') await db.inbound.markDone(q.seq);
      assert.equal(await db.inbound.pruneDone(DAY, NOW), 1);
      assert.equal(await db.inbound.pruneTransactions(DAY, NOW), 1);
      // The old txn id is forgotten; the old queued item and its event id are kept.
      const replay = await db.inbound.enqueueTransaction('old', [roomEvent('$oldFailed'), roomEvent('$old')], NOW);
      assert.deepEqual(replay, { duplicateTransaction: false, queued: 1 }, '$old was pruned so it is queued again');
      assert.equal((await db.inbound.enqueueTransaction('new', [], NOW)).duplicateTransaction, true);
    });
  });

  describe('pendingSends', () => {
    const send = { eventId: '$ev1', portalId: PORTAL.id, portalReceiver: PORTAL.receiver, loginId: 'login1', txnId: 'wa-txn-1' };

    it('insert once per event id; get and getByTxnId', async () => {
      assert.equal(await db.pendingSends.insert(send, NOW), true);
      assert.equal(await db.pendingSends.insert({ ...send, txnId: 'wa-txn-2' }, NOW), false);
      const row = await db.pendingSends.get('$ev1');
      assert.deepEqual(row, { ...send, state: 'pending', remoteMessageId: null, error: null, createdAt: NOW, updatedAt: NOW });
      assert.deepEqual(await db.pendingSends.getByTxnId('wa-txn-1'), row);
      assert.equal(await db.pendingSends.getByTxnId('wa-txn-2'), undefined);
      await assert.rejects(db.pendingSends.insert({ ...send, eventId: '$ev2' }), /unique|UNIQUE/i, 'a txn id is never reused');
    });

    it('markSent, markFailed, listPending, delete', async () => {
      await db.pendingSends.insert(send, NOW);
      await db.pendingSends.insert({ ...send, eventId: '$ev2', txnId: 't2' }, NOW + 1);
      await db.pendingSends.insert({ ...send, eventId: '$ev3', txnId: 't3' }, NOW + 2);
      assert.equal(await db.pendingSends.markSent('$ev1', 'remote-1', NOW + 10), true);
      assert.equal(await db.pendingSends.markFailed('$ev2', 'network said no', NOW + 11), true);
      assert.deepEqual((await db.pendingSends.listPending()).map((p) => p.eventId), ['$ev3']);
      const sent = await db.pendingSends.get('$ev1');
      assert.equal(sent?.state, 'sent');
      assert.equal(sent?.remoteMessageId, 'remote-1');
      assert.equal(sent?.updatedAt, NOW + 10);
      const failed = await db.pendingSends.get('$ev2');
      assert.equal(failed?.state, 'failed');
      assert.equal(failed?.error, 'network said no');
      assert.equal(await db.pendingSends.delete('$ev1'), true);
      assert.equal(await db.pendingSends.get('$ev1'), undefined);
      assert.equal(await db.pendingSends.markSent('$ev1', 'x'), false);
    });
  });

  describe('disappearing', () => {
    it('after_send rows are due at their time; listDue orders and limits', async () => {
      await db.disappearing.upsert({ mxid: '$b', roomId: '!r', type: 'after_send', timerMs: 1000, disappearAt: NOW + 2000 });
      await db.disappearing.upsert({ mxid: '$a', roomId: '!r', type: 'after_send', timerMs: 1000, disappearAt: NOW + 1000 });
      await db.disappearing.upsert({ mxid: '$c', roomId: '!r', type: 'after_send', timerMs: 1000, disappearAt: NOW + 9000 });
      assert.deepEqual(await db.disappearing.listDue(NOW, 10), []);
      assert.deepEqual((await db.disappearing.listDue(NOW + 2000, 10)).map((d) => d.mxid), ['$a', '$b']);
      assert.deepEqual((await db.disappearing.listDue(NOW + 2000, 1)).map((d) => d.mxid), ['$a']);
      assert.equal(await db.disappearing.nextDeadline(), NOW + 1000);
      const due = (await db.disappearing.listDue(NOW + 1000, 1))[0];
      assert.deepEqual(due, { mxid: '$a', roomId: '!r', type: 'after_send', timerMs: 1000, disappearAt: NOW + 1000 });
    });

    it('startTimersForRoom starts unread after_read timers in that room only', async () => {
      await db.disappearing.upsert({ mxid: '$r1', roomId: '!r', type: 'after_read', timerMs: DAY, disappearAt: null });
      await db.disappearing.upsert({ mxid: '$r2', roomId: '!r', type: 'after_read', timerMs: 60_000, disappearAt: null });
      await db.disappearing.upsert({ mxid: '$started', roomId: '!r', type: 'after_read', timerMs: 5, disappearAt: NOW - 1 });
      await db.disappearing.upsert({ mxid: '$send', roomId: '!r', type: 'after_send', timerMs: 5, disappearAt: NOW + 5 });
      await db.disappearing.upsert({ mxid: '$elsewhere', roomId: '!other', type: 'after_read', timerMs: 5, disappearAt: null });
      assert.equal(await db.disappearing.nextDeadline(), NOW - 1);
      assert.equal(await db.disappearing.startTimersForRoom('!r', NOW), 2);
      assert.equal((await db.disappearing.get('$r1'))?.disappearAt, NOW + DAY);
      assert.equal((await db.disappearing.get('$r2'))?.disappearAt, NOW + 60_000);
      assert.equal((await db.disappearing.get('$started'))?.disappearAt, NOW - 1);
      assert.equal((await db.disappearing.get('$elsewhere'))?.disappearAt, null);
      assert.equal(await db.disappearing.startTimersForRoom('!r', NOW + 1), 0, 'already started');
      assert.equal(await db.disappearing.delete('$r1'), true);
      assert.equal(await db.disappearing.get('$r1'), undefined);
    });
  });

  describe('userPortals', () => {
    it('upsert, get, listForLogin, listForPortal, setInSpace, setPreferred, delete', async () => {
      const other: PortalKey = { id: 'chat2', receiver: 'login1' };
      await db.portals.upsert({ ...other, roomType: 'dm' });
      await db.logins.upsert({ id: 'login2', userMxid: '@alice:example.org' });
      await db.userPortals.upsert({ loginId: 'login1', portalId: PORTAL.id, portalReceiver: PORTAL.receiver, userMxid: '@alice:example.org' });
      await db.userPortals.upsert({ loginId: 'login1', portalId: other.id, portalReceiver: other.receiver, userMxid: '@alice:example.org', inSpace: true });
      await db.userPortals.upsert({ loginId: 'login2', portalId: PORTAL.id, portalReceiver: PORTAL.receiver, userMxid: '@alice:example.org', preferred: true });
      assert.deepEqual(await db.userPortals.get('login1', PORTAL), {
        loginId: 'login1', portalId: 'chat1', portalReceiver: '', userMxid: '@alice:example.org', inSpace: false, preferred: false,
      });
      assert.deepEqual((await db.userPortals.listForLogin('login1')).map((u) => [u.portalId, u.inSpace]), [['chat1', false], ['chat2', true]]);
      assert.deepEqual((await db.userPortals.listForPortal(PORTAL)).map((u) => [u.loginId, u.preferred]), [['login1', false], ['login2', true]]);
      assert.equal(await db.userPortals.setInSpace('login1', PORTAL, true), true);
      assert.equal((await db.userPortals.get('login1', PORTAL))?.inSpace, true);
      assert.equal(await db.userPortals.setPreferred('login1', PORTAL, true), true);
      assert.equal((await db.userPortals.get('login1', PORTAL))?.preferred, true);
      assert.equal(await db.userPortals.delete('login1', PORTAL), true);
      assert.equal(await db.userPortals.get('login1', PORTAL), undefined);
      // Deleting a login removes its rows.
      await db.logins.delete('login2');
      assert.deepEqual(await db.userPortals.listForPortal(PORTAL), []);
    });
  });
});
