import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import {
  coreMigrations, DatabaseTooNewError, getSectionVersion, runMigrations, VERSION_TABLE, type Migration,
} from '../../shared/src/db/index.js';
import { describeBothEngines } from '../helpers/postgres.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

const CORE_TABLES = [
  'users', 'user_logins', 'portals', 'ghosts', 'messages', 'reactions', 'pending_sends', 'as_transactions',
  'inbound_events', 'disappearing_messages', 'user_portals', 'kv',
];

function testSection(): Migration[] {
  return [
    { version: 1, description: 'widgets', up: async (k) => { await k.schema.createTable('widgets', (t) => { t.text('id').primary(); }); } },
    { version: 2, description: 'gadgets', up: async (k) => { await k.schema.createTable('gadgets', (t) => { t.text('id').primary(); }); } },
  ];
}

describeBothEngines('db migrator', (ctx) => {
  it('migrates an empty database to the latest core version and creates every table', async () => {
    const db = await ctx.open();
    assert.equal(await getSectionVersion(db.knex, 'core'), 0);
    const result = await db.migrate();
    assert.deepEqual(result, { section: 'core', from: 0, to: coreMigrations.length });
    for (const table of CORE_TABLES) assert.equal(await db.knex.schema.hasTable(table), true, table);
    assert.equal(await getSectionVersion(db.knex, 'core'), coreMigrations.length);
  });

  it('re-running is a no-op', async () => {
    const db = await ctx.open();
    await db.migrate();
    await db.kv.set('k', 'v');
    const again = await db.migrate();
    assert.equal(again.from, again.to);
    assert.equal(await db.kv.get('k'), 'v');
  });

  it('refuses a database newer than the code', async () => {
    const db = await ctx.open();
    await db.migrate();
    await db.knex(VERSION_TABLE).where({ section: 'core' }).update({ version: 5 });
    await assert.rejects(db.migrate(), (err: unknown) => {
      assert.ok(err instanceof DatabaseTooNewError);
      assert.equal(err.message, `database section core is at version 5 but this build knows up to ${coreMigrations.length}; upgrade Tributary`);
      return true;
    });
    assert.equal(await getSectionVersion(db.knex, 'core'), 5);
  });

  it('keeps sections independent', async () => {
    const db = await ctx.open();
    await db.migrate();
    const first = await db.migrateSection('widgets', testSection().slice(0, 1));
    assert.deepEqual(first, { section: 'widgets', from: 0, to: 1 });
    assert.equal(await db.knex.schema.hasTable('widgets'), true);
    assert.equal(await db.knex.schema.hasTable('gadgets'), false);
    const second = await db.migrateSection('widgets', testSection());
    assert.deepEqual(second, { section: 'widgets', from: 1, to: 2 });
    assert.equal(await db.knex.schema.hasTable('gadgets'), true);
    assert.equal(await getSectionVersion(db.knex, 'core'), coreMigrations.length);
  });

  it('rolls back a failing step: version unchanged, no half-created table', async () => {
    const db = await ctx.open();
    const steps: Migration[] = [
      ...testSection(),
      {
        version: 3,
        description: 'fails halfway',
        up: async (k: Knex.Transaction) => {
          await k.schema.createTable('half_done', (t) => { t.text('id').primary(); });
          await k('half_done').insert({ id: 'x' });
          await k.raw('select * from no_such_table');
        },
      },
    ];
    await assert.rejects(runMigrations(db.knex, 'flaky', steps), /no_such_table/);
    // Steps 1 and 2 committed on their own; step 3 left nothing behind.
    assert.equal(await getSectionVersion(db.knex, 'flaky'), 2);
    assert.equal(await db.knex.schema.hasTable('gadgets'), true);
    assert.equal(await db.knex.schema.hasTable('half_done'), false);
  });

  it('rejects a sequence with gaps before touching the database', async () => {
    const db = await ctx.open();
    const broken = [testSection()[0]!, { ...testSection()[1]!, version: 3 }];
    await assert.rejects(runMigrations(db.knex, 'gappy', broken), /numbered 1\.\.n without gaps/);
    assert.equal(await db.knex.schema.hasTable('widgets'), false);
  });

  it('two processes migrating at once run each step exactly once', async () => {
    const a = await ctx.open();
    const b = await ctx.openAnother();
    let runs = 0;
    const counted: Migration[] = [
      { version: 1, description: 'counted', up: async (k) => { runs++; await k.schema.createTable('counted', (t) => { t.text('id').primary(); }); } },
      { version: 2, description: 'counted 2', up: async (k) => { runs++; await k.schema.createTable('counted2', (t) => { t.text('id').primary(); }); } },
    ];
    const results = await Promise.all([
      a.migrate().then(() => a.migrateSection('counted', counted)),
      b.migrate().then(() => b.migrateSection('counted', counted)),
    ]);
    assert.equal(runs, 2, 'each step ran once across both processes');
    assert.deepEqual(results.map((r) => r.to), [2, 2]);
    assert.equal(await getSectionVersion(a.knex, 'core'), coreMigrations.length);
    assert.equal(await b.knex.schema.hasTable('counted2'), true);
  });
});
