import { mkdirSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { getLogger } from '../logging.js';
import { coreMigrations, CORE_SECTION } from './migrations/core.js';
import { runMigrations, type Migration, type MigrationResult } from './migrator.js';
import { GroupCommit } from './group-commit.js';
import { DisappearingMessageQueries } from './queries/disappearing.js';
import { GhostQueries } from './queries/ghosts.js';
import { InboundQueries } from './queries/inbound.js';
import { KvQueries } from './queries/kv.js';
import { UserLoginQueries } from './queries/logins.js';
import { MessageQueries } from './queries/messages.js';
import { PendingSendQueries } from './queries/pending-sends.js';
import { PortalQueries } from './queries/portals.js';
import { ReactionQueries } from './queries/reactions.js';
import { UserPortalQueries } from './queries/user-portals.js';
import { UserQueries } from './queries/users.js';

export type DatabaseType = 'sqlite' | 'postgres';

export interface DatabaseOptions {
  type: DatabaseType;
  /** SQLite: a file path (relative to dataDir) or ':memory:'. PostgreSQL: a postgres:// URL. */
  uri: string;
  /** Base directory for a relative SQLite path; defaults to the working directory. */
  dataDir?: string;
  /** PostgreSQL pool size (default 10). SQLite always uses one connection. */
  maxConnections?: number;
}

/**
 * The bridge database: a knex instance plus one query object per core table. A Database made
 * by `transaction()` has the same query objects, bound to that transaction.
 *
 * SQLite runs on a single pooled connection, so inside `transaction()` use only the tx-bound
 * Database handed to the callback: a query on the outer one would wait for the connection the
 * transaction holds.
 */
export class Database {
  readonly users: UserQueries;
  readonly logins: UserLoginQueries;
  readonly portals: PortalQueries;
  readonly ghosts: GhostQueries;
  readonly messages: MessageQueries;
  readonly reactions: ReactionQueries;
  readonly pendingSends: PendingSendQueries;
  readonly inbound: InboundQueries;
  readonly disappearing: DisappearingMessageQueries;
  readonly userPortals: UserPortalQueries;
  readonly kv: KvQueries;
  /** SQLite, outside a transaction: top-level transactions share commits (see group-commit.ts). */
  readonly groupCommit: GroupCommit<Database> | undefined;

  constructor(readonly knex: Knex, readonly type: DatabaseType, private readonly isTransaction = false) {
    this.users = new UserQueries(knex);
    this.logins = new UserLoginQueries(knex);
    this.portals = new PortalQueries(knex);
    this.ghosts = new GhostQueries(knex);
    this.messages = new MessageQueries(knex);
    this.reactions = new ReactionQueries(knex);
    this.pendingSends = new PendingSendQueries(knex);
    this.inbound = new InboundQueries(knex);
    this.disappearing = new DisappearingMessageQueries(knex);
    this.userPortals = new UserPortalQueries(knex);
    this.kv = new KvQueries(knex);
    this.groupCommit = type === 'sqlite' && !isTransaction
      ? new GroupCommit<Database>(
        (cb) => knex.transaction(cb),
        (trx) => new Database(trx, type, true),
        (tx, fn) => tx.transaction(fn),
        new Database(knex, type, true),
      )
      : undefined;
  }

  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. Nested
   * calls on a tx-bound Database become savepoints. On SQLite, transactions started while another
   * commits share the next commit (each in a savepoint); the promise still settles only once its
   * writes are committed. Use it for single writes too where many callers write at once.
   */
  async transaction<T>(fn: (tx: Database) => Promise<T>): Promise<T> {
    if (this.groupCommit) return this.groupCommit.run(fn);
    return this.knex.transaction(async (trx) => fn(new Database(trx, this.type, true)));
  }

  /**
   * A write of one statement (or of several whose partial application is harmless): on SQLite it
   * joins the next shared commit without a savepoint, or runs as a plain autocommit statement when
   * nothing else is committing; elsewhere it just runs. Settles once the write is committed.
   */
  async write<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    if (this.groupCommit) return this.groupCommit.run(fn, true);
    return fn(this);
  }

  /** Brings the core tables up to date. */
  async migrate(): Promise<MigrationResult> {
    return runMigrations(this.knex, CORE_SECTION, coreMigrations);
  }

  /** Brings a bridge's own section up to date (run after `migrate()`). */
  async migrateSection(section: string, migrations: readonly Migration[]): Promise<MigrationResult> {
    return runMigrations(this.knex, section, migrations);
  }

  async close(): Promise<void> {
    if (this.isTransaction) throw new Error('close() called on a transaction-bound Database');
    await this.knex.destroy();
  }
}

/** SQLite connection settings applied to every new connection. */
const SQLITE_PRAGMAS = [
  'PRAGMA foreign_keys = ON',
  'PRAGMA busy_timeout = 5000',
  // WAL with synchronous=NORMAL can lose the last commits on power loss; the intake queue acks
  // transactions to the homeserver after commit, so a commit must be on disk.
  'PRAGMA synchronous = FULL',
  'PRAGMA journal_mode = WAL',
];

interface SqliteConnection {
  exec(sql: string, cb: (err: Error | null) => void): void;
}

function sqliteFilename(uri: string, dataDir: string | undefined): string {
  if (uri === ':memory:') return uri;
  const file = path.resolve(dataDir ?? process.cwd(), uri);
  mkdirSync(path.dirname(file), { recursive: true });
  return file;
}

/** knex's own warnings (pool errors, deprecations) go to our logger, not the console. */
function knexLog(): Knex.Config['log'] {
  const log = getLogger('db');
  return {
    warn: (msg: unknown) => log.warn({ knex: msg }, 'knex warning'),
    error: (msg: unknown) => log.error({ knex: msg }, 'knex error'),
    deprecate: (method: unknown, alternative: unknown) => log.warn({ method, alternative }, 'knex deprecation'),
    debug: (msg: unknown) => log.debug({ knex: msg }, 'knex debug'),
  };
}

function knexConfig(opts: DatabaseOptions): Knex.Config {
  if (opts.type === 'sqlite') {
    return {
      log: knexLog(),
      client: 'sqlite3',
      connection: { filename: sqliteFilename(opts.uri, opts.dataDir) },
      useNullAsDefault: true,
      pool: {
        // One connection: SQLite allows one writer anyway, and ':memory:' lives in its connection.
        min: 1,
        max: 1,
        idleTimeoutMillis: Number.MAX_SAFE_INTEGER,
        afterCreate: (conn: SqliteConnection, done: (err: Error | null, conn: SqliteConnection) => void) => {
          conn.exec(`${SQLITE_PRAGMAS.join('; ')};`, (err) => done(err, conn));
        },
      },
    };
  }
  return {
    log: knexLog(),
    client: 'pg',
    connection: opts.uri,
    pool: { min: 0, max: opts.maxConnections ?? 10 },
  };
}

/** Opens (and checks) the database. Call `migrate()` before using the query objects. */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.type !== 'sqlite' && opts.type !== 'postgres') {
    throw new Error(`unknown database type ${String(opts.type)}; expected sqlite or postgres`);
  }
  const knex = knexFactory(knexConfig(opts));
  try {
    await knex.raw('select 1');
  } catch (err) {
    await knex.destroy();
    throw err;
  }
  getLogger('db').debug({ type: opts.type }, 'database opened');
  return new Database(knex, opts.type);
}
