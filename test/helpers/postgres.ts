/**
 * A real PostgreSQL for tests. With TRIBUTARY_TEST_PG_URL set, every call creates a fresh
 * database on that server. Otherwise one throwaway cluster is started per process (initdb +
 * pg_ctl from /usr/lib/postgresql/<version>/bin, as the `postgres` user when running as root),
 * and every call gets its own database in it. The cluster is stopped and its directory removed
 * when the process exits.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { openDatabase, type Database } from '../../shared/src/db/index.js';

export interface TestPostgres {
  /** postgres:// URL of a database created for this call. */
  url: string;
  /** Drops this call's database (the shared cluster lives until the process exits). */
  stop(): Promise<void>;
}

const PG_ROOT = '/usr/lib/postgresql';
const SUPERUSER = 'tributary';

function findBinDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(path.join(PG_ROOT, v, 'bin', 'initdb')) && existsSync(path.join(PG_ROOT, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(PG_ROOT, versions[0], 'bin');
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** The uid/gid of the `postgres` system user, needed when we run as root. */
function postgresUser(): { uid: number; gid: number } | undefined {
  const res = spawnSync('id', ['postgres'], { encoding: 'utf8' });
  const uid = /uid=(\d+)/.exec(res.stdout ?? '')?.[1];
  const gid = /gid=(\d+)/.exec(res.stdout ?? '')?.[1];
  return res.status === 0 && uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

/** True when startPostgres() has something to run against. */
export function postgresAvailable(): boolean {
  if (process.env.TRIBUTARY_TEST_PG_URL) return true;
  if (!findBinDir()) return false;
  return !isRoot() || postgresUser() !== undefined;
}

interface Cluster {
  /** URL of the maintenance database, used to create and drop per-call databases. */
  adminUrl: string;
  stopSync(): void;
}

/** Runs a PostgreSQL binary, as the postgres user when we are root (PostgreSQL refuses root). */
function runPg(bin: string, args: string[]): void {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const res = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 120_000 });
  if (res.status !== 0) {
    throw new Error(`${path.basename(bin)} failed (${res.status ?? res.signal}): ${res.stderr || res.stdout || res.error?.message}`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function startCluster(): Promise<Cluster> {
  const bin = findBinDir();
  if (!bin) throw new Error(`no PostgreSQL binaries under ${PG_ROOT}/*/bin (install postgresql, or set TRIBUTARY_TEST_PG_URL)`);
  const owner = isRoot() ? postgresUser() : undefined;
  if (isRoot() && !owner) throw new Error('running as root but there is no postgres system user to run PostgreSQL as');

  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const pgCtl = path.join(bin, 'pg_ctl');
  let running = false;
  const stopSync = (): void => {
    if (running) {
      running = false;
      try {
        runPg(pgCtl, ['stop', '-D', data, '-m', 'fast', '-w']);
      } catch {
        // Best effort at exit; the directory is removed either way.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    runPg(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', SUPERUSER, '-E', 'UTF8', '--locale=C', '--no-sync']);
    const port = await freePort();
    // Appending keeps the file's owner (postgres).
    appendFileSync(path.join(data, 'postgresql.conf'), [
      '', "listen_addresses = '127.0.0.1'", `port = ${port}`, `unix_socket_directories = '${dir}'`,
      // Test speed; durability of a throwaway cluster does not matter.
      'fsync = off', 'synchronous_commit = off', 'full_page_writes = off', '',
    ].join('\n'));
    runPg(pgCtl, ['start', '-D', data, '-l', logFile, '-w', '-t', '60']);
    running = true;
    return { adminUrl: `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`, stopSync };
  } catch (err) {
    stopSync();
    throw err;
  }
}

let cluster: Promise<Cluster> | undefined;

function sharedCluster(): Promise<Cluster> {
  if (!cluster) {
    cluster = startCluster();
    cluster.then((c) => {
      process.once('exit', c.stopSync);
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        process.once(sig, () => {
          c.stopSync();
          // Let the default action (or another handler) end the process as it would have.
          if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
        });
      }
    }, () => {
      // Keep the rejected promise: every later call fails fast with the same error.
    });
  }
  return cluster;
}

/** Stops the shared cluster now (normally left to process exit). */
export async function stopSharedCluster(): Promise<void> {
  const current = cluster;
  cluster = undefined;
  if (current) (await current).stopSync();
}

let counter = 0;

/** Runs one statement on the server's maintenance database. */
async function adminQuery(url: string, sql: string): Promise<void> {
  const admin = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(sql);
  } finally {
    await admin.destroy();
  }
}

/** A fresh database on a real PostgreSQL (see the module comment). */
export async function startPostgres(): Promise<TestPostgres> {
  const adminUrl = process.env.TRIBUTARY_TEST_PG_URL || (await sharedCluster()).adminUrl;
  const name = `tributary_test_${process.pid}_${++counter}_${Date.now().toString(36)}`;
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async stop() {
      if (dropped) return;
      dropped = true;
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

export type EngineName = 'sqlite' | 'postgres';

export interface EngineContext {
  engine: EngineName;
  /** Opens a new, empty database on this engine (not migrated); closed after the test. */
  open(): Promise<Database>;
  /** A database with the core migrations applied and every table empty. */
  openMigrated(): Promise<Database>;
  /** Opens a second Database on the same storage as the last open*() (for concurrency tests). */
  openAnother(): Promise<Database>;
}

type DbOptions = Parameters<typeof openDatabase>[0];

/** Empties every table but the version table, so a migrated database can be reused by the next test. */
async function truncateAll(db: Database): Promise<void> {
  const rows = (await db.knex.raw(
    "select tablename from pg_tables where schemaname = current_schema() and tablename <> 'tributary_version'",
  )) as { rows: Array<{ tablename: string }> };
  const tables = rows.rows.map((r) => `"${r.tablename}"`);
  if (tables.length > 0) await db.knex.raw(`truncate table ${tables.join(', ')} restart identity cascade`);
}

/**
 * Defines the suite twice, once per engine. SQLite uses a fresh temp file per open (a file, so
 * a second connection can share it). PostgreSQL uses startPostgres(): a fresh database per
 * open(), and for openMigrated() one migrated database per suite, emptied before each use
 * (creating a database costs ~150-300 ms; truncating a few ms). If PostgreSQL cannot start,
 * its half fails, unless TRIBUTARY_SKIP_PG=1.
 */
export function describeBothEngines(title: string, fn: (ctx: EngineContext) => void): void {
  for (const engine of ['sqlite', 'postgres'] as const) {
    describe(`${title} [${engine}]`, function () {
      const opened: Database[] = [];
      const cleanups: Array<() => Promise<void>> = [];
      let lastOpts: DbOptions | undefined;
      let shared: { db: Database; opts: DbOptions; server: TestPostgres } | undefined;

      before(function () {
        if (engine === 'postgres' && process.env.TRIBUTARY_SKIP_PG === '1') this.skip();
      });

      afterEach(async () => {
        for (const db of opened.splice(0)) await db.close();
        for (const clean of cleanups.splice(0)) await clean();
      });

      after(async () => {
        if (!shared) return;
        await shared.db.close();
        await shared.server.stop();
        shared = undefined;
      });

      async function track(opts: DbOptions): Promise<Database> {
        lastOpts = opts;
        const db = await openDatabase(opts);
        opened.push(db);
        return db;
      }

      async function newStorage(): Promise<DbOptions> {
        if (engine === 'sqlite') {
          const dir = mkdtempSync(path.join(tmpdir(), 'tributary-sqlite-'));
          cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
          return { type: 'sqlite', uri: 'bridge.db', dataDir: dir };
        }
        const server = await startPostgres();
        cleanups.push(() => server.stop());
        return { type: 'postgres', uri: server.url, maxConnections: 4 };
      }

      const ctx: EngineContext = {
        engine,
        open: async () => track(await newStorage()),
        async openMigrated() {
          if (engine === 'sqlite') {
            const db = await track(await newStorage());
            await db.migrate();
            return db;
          }
          if (!shared) {
            const server = await startPostgres();
            const opts: DbOptions = { type: 'postgres', uri: server.url, maxConnections: 4 };
            const db = await openDatabase(opts);
            shared = { db, opts, server };
            await db.migrate();
          } else {
            await truncateAll(shared.db);
          }
          lastOpts = shared.opts;
          return shared.db;
        },
        async openAnother() {
          if (!lastOpts) throw new Error('openAnother() before open()');
          return track(lastOpts);
        },
      };
      fn(ctx);
    });
  }
}
