import type { Knex } from 'knex';
import { getLogger } from '../logging.js';

/**
 * Versioned schema migrations, one independent sequence per section: `core` for the shared
 * tables, and one per bridge (`whatsapp`, ...) for the tables a connector must add itself.
 * The version of each section lives in `tributary_version`.
 */
export interface Migration {
  /** 1, 2, 3, ... within the section; each step moves the section from version-1 to version. */
  version: number;
  description: string;
  /**
   * Runs inside the step's transaction. Use the knex schema builder so one set of steps runs on
   * SQLite and PostgreSQL. SQLite has transactional DDL, but knex emulates some ALTERs on SQLite
   * by copying the table; prefer adding tables and columns over altering them.
   */
  up(knex: Knex.Transaction): Promise<void>;
}

export interface MigrationResult {
  section: string;
  from: number;
  to: number;
}

export const VERSION_TABLE = 'tributary_version';

/**
 * One PostgreSQL advisory lock (for all sections, since a bridge's tables may reference core
 * tables) serialises migrating processes. The number is just 'tributar' in ASCII.
 */
const PG_MIGRATION_LOCK = '8390891582207881586';

export class DatabaseTooNewError extends Error {
  constructor(readonly section: string, readonly dbVersion: number, readonly knownVersion: number) {
    super(
      `database section ${section} is at version ${dbVersion} but this build knows up to ${knownVersion}; upgrade Tributary`,
    );
    this.name = 'DatabaseTooNewError';
  }
}

function isPostgres(knex: Knex): boolean {
  const client = (knex.client as { config?: { client?: unknown } }).config?.client;
  return client === 'pg' || client === 'postgres' || client === 'postgresql';
}

/**
 * Takes the migration lock for the rest of the transaction. PostgreSQL: a transaction-scoped
 * advisory lock. SQLite: a no-op UPDATE as the transaction's first statement, which takes the
 * database write lock (waiting up to busy_timeout); being first, it cannot meet a stale WAL
 * snapshot. Either way a second migrating process waits here and then re-reads the version.
 */
async function lockForMigration(trx: Knex.Transaction): Promise<void> {
  if (isPostgres(trx)) {
    await trx.raw('select pg_advisory_xact_lock(?::bigint)', [PG_MIGRATION_LOCK]);
  } else {
    await trx(VERSION_TABLE).where({ section: '' }).update({ version: trx.ref('version') });
  }
}

async function ensureVersionTable(knex: Knex): Promise<void> {
  // Raw SQL: knex's createTableIfNotExists is deprecated (and warns on the console).
  const sql = `create table if not exists ${VERSION_TABLE} (section text primary key, version integer not null)`;
  if (isPostgres(knex)) {
    // Concurrent CREATE TABLE IF NOT EXISTS can still collide on PostgreSQL's catalogs.
    await knex.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?::bigint)', [PG_MIGRATION_LOCK]);
      await trx.raw(sql);
    });
  } else {
    // One autocommit statement; SQLite re-checks IF NOT EXISTS once it holds the write lock.
    await knex.raw(sql);
  }
}

/** The section's current version, 0 when it has never been migrated. */
export async function getSectionVersion(knex: Knex, section: string): Promise<number> {
  if (!(await knex.schema.hasTable(VERSION_TABLE))) return 0;
  const row = (await knex(VERSION_TABLE).where({ section }).first('version')) as { version: unknown } | undefined;
  return row ? Number(row.version) : 0;
}

async function setSectionVersion(trx: Knex.Transaction, section: string, version: number): Promise<void> {
  await trx(VERSION_TABLE).insert({ section, version }).onConflict('section').merge(['version']);
}

function checkSequence(section: string, migrations: readonly Migration[]): Migration[] {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`migrations of section ${section} must be numbered 1..n without gaps; found ${m.version} at position ${i + 1}`);
    }
  });
  return sorted;
}

/**
 * Brings `section` up to the newest version in `migrations`. Each pending step runs in its own
 * transaction together with its version bump, so a failing step leaves the schema and the
 * version exactly as they were. Refuses (DatabaseTooNewError) when the database is newer than
 * this build. Safe to call from several processes at once.
 */
export async function runMigrations(knex: Knex, section: string, migrations: readonly Migration[]): Promise<MigrationResult> {
  const log = getLogger('db', { section });
  const steps = checkSequence(section, migrations);
  const latest = steps.length;
  await ensureVersionTable(knex);
  const from = await getSectionVersion(knex, section);
  if (from > latest) throw new DatabaseTooNewError(section, from, latest);

  let current = from;
  for (const step of steps) {
    if (step.version <= current) continue;
    current = await knex.transaction(async (trx) => {
      await lockForMigration(trx);
      // Another process may have migrated while we waited for the lock.
      const now = await getSectionVersion(trx, section);
      if (now > latest) throw new DatabaseTooNewError(section, now, latest);
      if (now >= step.version) return now;
      log.info({ version: step.version, description: step.description }, 'migrating');
      await step.up(trx);
      await setSectionVersion(trx, section, step.version);
      return step.version;
    });
  }
  if (current !== from) log.info({ from, to: current }, 'database section up to date');
  return { section, from, to: current };
}
