/**
 * Durable snapshots of the wasm OlmMachine's IndexedDB stores.
 *
 * The wasm crypto store only speaks IndexedDB; in Node that is fake-indexeddb, which lives in
 * memory. Each store (named N; its databases are named `N::...`) gets one snapshot file in `dir`,
 * replaced atomically (write `<file>.tmp`, fsync, rename, fsync the directory). The memory copy is
 * the working state and the file its durable image: callers persist before acknowledging a
 * transaction and before an encrypted event leaves (a stale snapshot would reuse Megolm indexes).
 *
 * Per store, every operation runs in call order on one queue, so a persist never reads a store
 * that is half restored or half evicted. Different stores never wait for each other.
 *
 * Guard against losing an identity: a store whose snapshot exists on disk but which was never
 * restored here (a machine opened before `restore`) is refused by `persist` instead of replacing
 * the real keys with fresh ones.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import * as fakeIdb from 'fake-indexeddb';
import {
  deleteDatabases, dumpDatabase, listDatabases, loadDatabase, type DatabaseDump, type IdbFactory,
} from './idb-dump.js';
import { CryptoSnapshotError, decodeSnapshot, encodeSnapshot } from './snapshot-format.js';

export { CryptoSnapshotError } from './snapshot-format.js';

interface StoreQueue {
  tail: Promise<unknown>;
  /** A persist that is queued but has not started: later callers share it. */
  queuedPersist: Promise<void> | null;
  ops: number;
}

const GLOBAL_NAMES = [
  'IDBCursor', 'IDBCursorWithValue', 'IDBDatabase', 'IDBFactory', 'IDBIndex', 'IDBKeyRange', 'IDBObjectStore',
  'IDBOpenDBRequest', 'IDBRecord', 'IDBRequest', 'IDBTransaction', 'IDBVersionChangeEvent',
] as const;

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

export class IdbSnapshotStore {
  private readonly queues = new Map<string, StoreQueue>();
  /** Stores whose memory copy came from (or was written to) this directory by this instance. */
  private readonly live = new Set<string>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Makes fake-indexeddb the global IndexedDB (what the wasm store uses), once. An IndexedDB that
   * someone else installed earlier is left in place, and snapshots then use that one.
   */
  static install(): void {
    const g = globalThis as Record<string, unknown>;
    if (g.indexedDB !== undefined) return;
    const lib = fakeIdb as unknown as Record<string, unknown>;
    const define = (name: string, value: unknown): void => {
      Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
    };
    define('indexedDB', lib.indexedDB);
    for (const name of GLOBAL_NAMES) if (g[name] === undefined && lib[name] !== undefined) define(name, lib[name]);
  }

  private static factory(): IdbFactory {
    IdbSnapshotStore.install();
    return (globalThis as unknown as { indexedDB: IdbFactory }).indexedDB;
  }

  /** The snapshot file of a store: a readable prefix plus a digest of the full name. */
  fileFor(storeName: string): string {
    const readable = storeName.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 48);
    const digest = createHash('sha256').update(storeName, 'utf8').digest('base64url');
    return path.join(this.dir, `${readable}-${digest}.snap`);
  }

  /**
   * Recreates the store's databases from its snapshot; call before the machine is opened. Returns
   * false when there is no snapshot (the caller starts a fresh store), true when the state was
   * restored or is already live in memory. A damaged file is a CryptoSnapshotError naming the file
   * and leaves nothing behind.
   */
  restore(storeName: string): Promise<boolean> {
    return this.enqueue(storeName, () => this.restoreNow(storeName));
  }

  /**
   * Writes the store's snapshot. It reflects every IndexedDB write completed before the call.
   * Calls made while one is writing share the next write, which starts after they were made.
   * A store with no databases in memory (evicted, or never opened) leaves the file as it is.
   */
  persist(storeName: string): Promise<void> {
    const q = this.queue(storeName);
    if (q.queuedPersist) return q.queuedPersist;
    const run = this.enqueue(storeName, async () => {
      q.queuedPersist = null;
      await this.persistNow(storeName);
    });
    q.queuedPersist = run;
    return run;
  }

  /**
   * Drops the store from memory after a final persist (so nothing written since the caller's last
   * persist is lost); `restore` brings it back. The machine should be closed first.
   */
  evict(storeName: string): Promise<void> {
    return this.enqueue(storeName, async () => {
      await this.persistNow(storeName);
      await deleteDatabases(IdbSnapshotStore.factory(), await this.memoryDatabases(storeName));
      this.live.delete(storeName);
    });
  }

  /** Forgets the store entirely: the snapshot file and the memory copy (a device reset). */
  destroy(storeName: string): Promise<void> {
    return this.enqueue(storeName, async () => {
      this.live.delete(storeName);
      await deleteDatabases(IdbSnapshotStore.factory(), await this.memoryDatabases(storeName));
      const file = this.fileFor(storeName);
      await fs.rm(`${file}.tmp`, { force: true });
      await fs.rm(file, { force: true });
      await this.syncDir();
    });
  }

  /** Size in bytes of the store's snapshot file, or undefined when it has none. */
  async sizeOf(storeName: string): Promise<number | undefined> {
    try {
      return (await fs.stat(this.fileFor(storeName))).size;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  private async memoryDatabases(storeName: string): Promise<string[]> {
    return listDatabases(IdbSnapshotStore.factory(), `${storeName}::`);
  }

  private async restoreNow(storeName: string): Promise<boolean> {
    const file = this.fileFor(storeName);
    if ((await this.memoryDatabases(storeName)).length > 0) {
      // The memory copy is the newest state when it is ours (persist derives the file from it).
      // One opened before its snapshot was restored would hide the real keys: refuse.
      if (this.live.has(storeName) || !(await this.exists(file))) {
        this.live.add(storeName);
        return true;
      }
      throw new Error(`crypto store ${storeName} was opened before its snapshot ${file} was restored`);
    }
    const bytes = await this.readSnapshot(file);
    if (bytes === undefined) {
      this.live.add(storeName);
      return false;
    }
    const snap = decodeSnapshot(file, bytes, storeName);
    const factory = IdbSnapshotStore.factory();
    const created: string[] = [];
    try {
      for (const db of snap.databases) {
        created.push(db.name);
        await loadDatabase(factory, db);
      }
    } catch {
      await deleteDatabases(factory, created).catch(() => undefined);
      // The IndexedDB error could quote a key; name the file only.
      throw new CryptoSnapshotError(file, 'corrupt (its records could not be restored)');
    }
    this.live.add(storeName);
    return true;
  }

  private async exists(file: string): Promise<boolean> {
    try {
      await fs.stat(file);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw new CryptoSnapshotError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }

  private async readSnapshot(file: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(file);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw new CryptoSnapshotError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }

  private async persistNow(storeName: string): Promise<void> {
    const file = this.fileFor(storeName);
    const names = await this.memoryDatabases(storeName);
    if (names.length === 0) return;
    if (!this.live.has(storeName) && (await this.exists(file))) {
      throw new Error(`crypto store ${storeName} has a snapshot ${file} that was not restored; refusing to overwrite it`);
    }
    const factory = IdbSnapshotStore.factory();
    const databases: DatabaseDump[] = [];
    for (const name of names) {
      const dump = await dumpDatabase(factory, name);
      if (dump) databases.push(dump);
    }
    if (databases.length === 0) return;
    await this.writeAtomically(file, encodeSnapshot({ store: storeName, databases }));
    this.live.add(storeName);
  }

  private async writeAtomically(file: string, bytes: Buffer): Promise<void> {
    const tmp = `${file}.tmp`;
    try {
      const fh = await fs.open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, file);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    await this.syncDir();
  }

  /** Makes a rename or unlink in the snapshot directory durable. */
  private async syncDir(): Promise<void> {
    const dh = await fs.open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  private queue(storeName: string): StoreQueue {
    let q = this.queues.get(storeName);
    if (!q) {
      q = { tail: Promise.resolve(), queuedPersist: null, ops: 0 };
      this.queues.set(storeName, q);
    }
    return q;
  }

  /** Runs `fn` after every operation already queued for the store. */
  private enqueue<T>(storeName: string, fn: () => Promise<T>): Promise<T> {
    const q = this.queue(storeName);
    q.ops++;
    const run = q.tail.then(fn);
    q.tail = run.catch(() => undefined).then(() => {
      if (--q.ops === 0 && this.queues.get(storeName) === q) this.queues.delete(storeName);
    });
    return run;
  }
}
