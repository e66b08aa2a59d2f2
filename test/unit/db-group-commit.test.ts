/**
 * Group commit on SQLite (issue 6): transactions that arrive while another commits share the next
 * COMMIT, yet each caller keeps its own atomicity, its own error, and a promise that settles only
 * once its writes are committed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '../../shared/src/db/index.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Database.transaction group commit [sqlite]', () => {
  let dir: string;
  let db: Database;
  let other: Database;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tributary-groupcommit-'));
    db = await openDatabase({ type: 'sqlite', uri: 'bridge.db', dataDir: dir });
    await db.migrate();
    // A second connection sees only what is committed.
    other = await openDatabase({ type: 'sqlite', uri: 'bridge.db', dataDir: dir });
  });
  afterEach(async () => {
    await other.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Holds the connection in a transaction until `release` is called, so later callers queue up. */
  function blocker(): { release: () => void; done: Promise<void> } {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const done = db.transaction(async (tx) => {
      await tx.kv.set('blocker', 'x');
      await gate;
    });
    return { release, done };
  }

  it('commits concurrent transactions together, and each is visible to another connection once it resolves', async () => {
    const before = db.groupCommit!.stats.commits;
    const b = blocker();
    const writes = Array.from({ length: 20 }, (_, i) => db.transaction((tx) => tx.kv.set(`k${i}`, String(i))));
    b.release();
    await b.done;
    await Promise.all(writes);
    // The blocker's commit, then one commit for the 20 that queued behind it.
    assert.equal(db.groupCommit!.stats.commits - before, 2);
    for (let i = 0; i < 20; i++) assert.equal(await other.kv.get(`k${i}`), String(i));
  });

  it('settles a transaction only after the shared commit, not when its own function returns', async () => {
    const b = blocker();
    let slowFinished = 0;
    let fastResolved = 0;
    const fast = db.transaction((tx) => tx.kv.set('fast', '1')).then(() => (fastResolved = performance.now()));
    const slow = db.transaction(async (tx) => {
      await tx.kv.set('slow', '1');
      await sleep(50);
      slowFinished = performance.now();
    });
    b.release();
    await Promise.all([b.done, fast, slow]);
    assert.ok(fastResolved >= slowFinished, 'the fast one waited for the commit it shares with the slow one');
    assert.equal(await other.kv.get('fast'), '1');
  });

  it('rolls back only the failing transaction of a batch and gives the error to its caller alone', async () => {
    const b = blocker();
    const order: string[] = [];
    const a = db.transaction(async (tx) => { order.push('a'); await tx.kv.set('a', '1'); });
    const bad = db.transaction(async (tx) => {
      order.push('bad');
      await tx.kv.set('bad', '1');
      throw new Error('refused');
    });
    const c = db.transaction(async (tx) => { order.push('c'); await tx.kv.set('c', '1'); return 'c-result'; });
    b.release();
    await b.done;
    await a;
    await assert.rejects(bad, /refused/);
    assert.equal(await c, 'c-result');
    assert.deepEqual(order, ['a', 'bad', 'c'], 'run in call order');
    assert.equal(await other.kv.get('a'), '1');
    assert.equal(await other.kv.get('bad'), undefined);
    assert.equal(await other.kv.get('c'), '1');
  });

  it('a transaction alone that throws is rolled back whole', async () => {
    await assert.rejects(db.transaction(async (tx) => {
      await tx.kv.set('alone', '1');
      throw new Error('nope');
    }), /nope/);
    assert.equal(await db.kv.get('alone'), undefined);
  });

  it('write(): a plain write alone commits at once, and in a batch a failing one costs only itself', async () => {
    await db.write((w) => w.kv.set('plain', '1'));
    assert.equal(await other.kv.get('plain'), '1', 'committed when it resolves');
    await db.users.getOrCreate('@u:example.org');
    await db.logins.upsert({ id: 'l', userMxid: '@u:example.org', remoteName: 'u', spaceRoom: null, metadata: {}, createdAt: 1 });
    await db.portals.upsert({ id: 'p', receiver: '', roomType: 'group', mxid: '!p:example.org' });
    const send = (eventId: string, txnId: string) => db.write((w) => w.pendingSends.insert({ eventId, portalId: 'p', portalReceiver: '', loginId: 'l', txnId }));
    const b = blocker();
    const ok1 = send('$1', 'tx1');
    const clash = send('$2', 'tx1'); // the same network txn id for another event: refused
    const ok2 = send('$3', 'tx3');
    b.release();
    await Promise.all([b.done, ok1, ok2]);
    await assert.rejects(clash);
    assert.deepEqual(await Promise.all(['$1', '$2', '$3'].map(async (e) => (await other.pendingSends.get(e))?.txnId)), ['tx1', undefined, 'tx3']);
  });

  it('nested transactions inside a batched one are savepoints of it', async () => {
    const b = blocker();
    const outer = db.transaction(async (tx) => {
      await tx.kv.set('outer', '1');
      await assert.rejects(tx.transaction(async (inner) => {
        await inner.kv.set('inner', '1');
        throw new Error('inner fails');
      }));
      await tx.transaction((inner) => inner.kv.set('inner2', '1'));
    });
    const neighbour = db.transaction((tx) => tx.kv.set('neighbour', '1'));
    b.release();
    await Promise.all([b.done, outer, neighbour]);
    assert.deepEqual(
      await Promise.all(['outer', 'inner', 'inner2', 'neighbour'].map((k) => other.kv.get(k))),
      ['1', undefined, '1', '1'],
    );
  });
});
