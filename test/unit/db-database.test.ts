import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { describeBothEngines } from '../helpers/postgres.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

describe('openDatabase [sqlite specifics]', () => {
  let dir: string;
  const opened: Database[] = [];
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'tributary-dbopen-')); });
  afterEach(async () => {
    for (const db of opened.splice(0)) await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves a relative path against dataDir and sets the durability pragmas', async () => {
    const db = await openDatabase({ type: 'sqlite', uri: 'sub/bridge.db', dataDir: dir });
    opened.push(db);
    assert.equal(db.type, 'sqlite');
    assert.equal(existsSync(path.join(dir, 'sub', 'bridge.db')), true);
    const pragma = async (name: string): Promise<unknown> => {
      const rows = (await db.knex.raw(`PRAGMA ${name}`)) as Array<Record<string, unknown>>;
      return rows[0]?.[name] ?? rows[0]?.timeout;
    };
    assert.equal(await pragma('journal_mode'), 'wal');
    assert.equal(await pragma('foreign_keys'), 1);
    assert.equal(await pragma('synchronous'), 2, 'synchronous = FULL');
    assert.equal(await pragma('busy_timeout'), 5000);
  });

  it('supports :memory: and keeps it across queries (single pooled connection)', async () => {
    const db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    opened.push(db);
    await db.migrate();
    await db.kv.set('a', '1');
    assert.equal(await db.kv.get('a'), '1');
  });

  it('rejects an unknown type and an unreachable PostgreSQL with an error', async () => {
    await assert.rejects(openDatabase({ type: 'mysql' as 'sqlite', uri: 'x' }), /unknown database type mysql/);
    await assert.rejects(openDatabase({ type: 'postgres', uri: 'postgres://nobody@127.0.0.1:1/none' }), /ECONNREFUSED|connect/);
  });
});

describeBothEngines('Database', (ctx) => {
  async function fresh(): Promise<Database> {
    return ctx.openMigrated();
  }

  it('transaction() commits on success with tx-bound query objects', async () => {
    const db = await fresh();
    const result = await db.transaction(async (tx) => {
      assert.notEqual(tx, db);
      await tx.users.getOrCreate('@a:example.org');
      await tx.kv.set('k', 'v');
      return 42;
    });
    assert.equal(result, 42);
    assert.equal((await db.users.get('@a:example.org'))?.mxid, '@a:example.org');
    assert.equal(await db.kv.get('k'), 'v');
  });

  it('transaction() rolls back everything when the callback throws', async () => {
    const db = await fresh();
    await assert.rejects(db.transaction(async (tx) => {
      await tx.users.getOrCreate('@a:example.org');
      await tx.kv.set('k', 'v');
      throw new Error('boom');
    }), /boom/);
    assert.equal(await db.users.get('@a:example.org'), undefined);
    assert.equal(await db.kv.get('k'), undefined);
  });

  it('nested transaction() is a savepoint', async () => {
    const db = await fresh();
    await db.transaction(async (tx) => {
      await tx.kv.set('outer', '1');
      await assert.rejects(tx.transaction(async (inner) => {
        await inner.kv.set('inner', '1');
        throw new Error('inner fails');
      }));
      assert.equal(await tx.kv.get('inner'), undefined);
    });
    assert.equal(await db.kv.get('outer'), '1');
    assert.equal(await db.kv.get('inner'), undefined);
  });

  it('close() is refused on a tx-bound Database', async () => {
    const db = await fresh();
    await db.transaction(async (tx) => {
      await assert.rejects(tx.close(), /transaction-bound/);
    });
    assert.equal(await db.kv.get('nothing'), undefined);
  });

  it('returns millisecond timestamps beyond 32 bits as numbers, booleans as booleans, JSON parsed', async () => {
    const db = await fresh();
    const ts = 1_893_456_000_123; // 2030, needs more than 32 bits
    await db.ghosts.upsert({ id: 'g', isBot: true, identifiers: ['tel:+1555'], metadata: { nested: { list: [1, 'two', null] }, ok: false } }, ts);
    const ghost = await db.ghosts.get('g');
    assert.ok(ghost);
    assert.equal(ghost.updatedAt, ts);
    assert.equal(typeof ghost.updatedAt, 'number');
    assert.equal(ghost.isBot, true);
    assert.equal(ghost.nameSet, false);
    assert.equal(typeof ghost.nameSet, 'boolean');
    assert.deepEqual(ghost.identifiers, ['tel:+1555']);
    assert.deepEqual(ghost.metadata, { nested: { list: [1, 'two', null] }, ok: false });
  });

  it('enforces foreign keys', async () => {
    const db = await fresh();
    await assert.rejects(db.logins.upsert({ id: 'l', userMxid: '@nobody:example.org' }), /foreign key|FOREIGN KEY/i);
    assert.deepEqual(await db.logins.listAll(), []);
  });
});
