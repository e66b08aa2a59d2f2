/**
 * Reads whole IndexedDB databases into plain data and recreates them from it, through the standard
 * IndexedDB API only (so it works on fake-indexeddb and on any other implementation).
 *
 * The project compiles without the DOM library, so the few IndexedDB shapes used here are declared
 * below; they are the subset of the W3C interfaces this file calls.
 */

export interface IdbRequest<T> {
  readonly result: T;
  readonly error: Error | null;
  onsuccess: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  readonly transaction: IdbTransaction | null;
  onupgradeneeded: ((ev: unknown) => void) | null;
  onblocked: ((ev: unknown) => void) | null;
}
export interface IdbFactory {
  open(name: string, version?: number): IdbOpenRequest;
  deleteDatabase(name: string): IdbOpenRequest;
  databases(): Promise<Array<{ name?: string; version?: number }>>;
}
interface IdbStringList { readonly length: number; item(i: number): string | null }
export interface IdbDatabase {
  readonly name: string;
  readonly version: number;
  readonly objectStoreNames: IdbStringList;
  onversionchange: ((ev: unknown) => void) | null;
  transaction(stores: string[], mode: 'readonly' | 'readwrite'): IdbTransaction;
  createObjectStore(name: string, options: { keyPath: KeyPath | null; autoIncrement: boolean }): IdbObjectStore;
  close(): void;
}
interface IdbTransaction {
  readonly error: Error | null;
  objectStore(name: string): IdbObjectStore;
  abort(): void;
  oncomplete: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onabort: ((ev: unknown) => void) | null;
}
interface IdbObjectStore {
  readonly keyPath: KeyPath | null;
  readonly autoIncrement: boolean;
  readonly indexNames: IdbStringList;
  index(name: string): { readonly keyPath: KeyPath; readonly unique: boolean; readonly multiEntry: boolean };
  createIndex(name: string, keyPath: KeyPath, options: { unique: boolean; multiEntry: boolean }): unknown;
  getAll(): IdbRequest<unknown[]>;
  getAllKeys(): IdbRequest<unknown[]>;
  add(value: unknown, key?: unknown): IdbRequest<unknown>;
}

export type KeyPath = string | string[];

export interface IndexDump { name: string; keyPath: KeyPath; unique: boolean; multiEntry: boolean }
/**
 * One object store. `keys` is null for stores with an in-line key path (the key is inside each
 * value); otherwise keys[i] is the key of values[i]. For autoIncrement stores the key generator
 * resumes after the highest numeric key present, as IndexedDB does when explicit keys are added.
 */
export interface StoreDump {
  name: string;
  keyPath: KeyPath | null;
  autoIncrement: boolean;
  indexes: IndexDump[];
  keys: unknown[] | null;
  values: unknown[];
}
export interface DatabaseDump { name: string; version: number; stores: StoreDump[] }

function names(list: IdbStringList): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const n = list.item(i);
    if (n !== null) out.push(n);
  }
  return out;
}

function settle<T>(req: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function txDone(tx: IdbTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

/** Names of the databases whose name starts with `prefix`, sorted. */
export async function listDatabases(factory: IdbFactory, prefix: string): Promise<string[]> {
  const all = await factory.databases();
  return all.map((d) => d.name).filter((n): n is string => typeof n === 'string' && n.startsWith(prefix)).sort();
}

/**
 * Opens an existing database without changing it. Resolves undefined when it does not exist (the
 * open would create it: that upgrade is aborted so nothing is left behind).
 */
function openExisting(factory: IdbFactory, name: string): Promise<IdbDatabase | undefined> {
  return new Promise((resolve, reject) => {
    let missing = false;
    const req = factory.open(name);
    req.onupgradeneeded = () => {
      missing = true;
      req.transaction?.abort();
    };
    req.onsuccess = () => {
      const db = req.result;
      // Never hold up a machine's own upgrade or a delete.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    req.onerror = () => (missing ? resolve(undefined) : reject(req.error ?? new Error(`cannot open ${name}`)));
  });
}

/**
 * Reads one database in a single read-only transaction: IndexedDB starts it only after every
 * read-write transaction created before it has finished, so all writes completed before this call
 * are in the dump and the stores are mutually consistent.
 */
export async function dumpDatabase(factory: IdbFactory, name: string): Promise<DatabaseDump | undefined> {
  const db = await openExisting(factory, name);
  if (!db) return undefined;
  try {
    const storeNames = names(db.objectStoreNames);
    const dump: DatabaseDump = { name: db.name, version: db.version, stores: [] };
    if (storeNames.length === 0) return dump;
    const tx = db.transaction(storeNames, 'readonly');
    const done = txDone(tx);
    const reads = storeNames.map(async (storeName) => {
      const store = tx.objectStore(storeName);
      const indexes = names(store.indexNames).map((n) => {
        const idx = store.index(n);
        return { name: n, keyPath: copyKeyPath(idx.keyPath), unique: idx.unique, multiEntry: idx.multiEntry };
      });
      const keysReq = store.keyPath === null ? settle(store.getAllKeys()) : Promise.resolve(null);
      const [keys, values] = await Promise.all([keysReq, settle(store.getAll())]);
      const s: StoreDump = {
        name: storeName, keyPath: store.keyPath === null ? null : copyKeyPath(store.keyPath),
        autoIncrement: store.autoIncrement, indexes, keys, values,
      };
      return s;
    });
    const [stores] = await Promise.all([Promise.all(reads), done]);
    dump.stores = stores;
    return dump;
  } finally {
    db.close();
  }
}

function copyKeyPath(kp: KeyPath): KeyPath {
  // Implementations may hand back a DOMStringList-like object for array key paths.
  return typeof kp === 'string' ? kp : Array.from(kp);
}

/**
 * Creates one database at its recorded version with its stores, indexes and records, all inside
 * the upgrade transaction: if anything fails the transaction aborts and the open fails. The
 * database must not exist yet.
 */
export function loadDatabase(factory: IdbFactory, dump: DatabaseDump): Promise<void> {
  return new Promise((resolve, reject) => {
    let upgraded = false;
    const req = factory.open(dump.name, dump.version);
    req.onupgradeneeded = () => {
      upgraded = true;
      const db = req.result;
      const tx = req.transaction;
      try {
        for (const s of dump.stores) {
          const store = db.createObjectStore(s.name, { keyPath: s.keyPath, autoIncrement: s.autoIncrement });
          for (const i of s.indexes) store.createIndex(i.name, i.keyPath, { unique: i.unique, multiEntry: i.multiEntry });
          s.values.forEach((v, n) => {
            const r = s.keys === null ? store.add(v) : store.add(v, s.keys[n]);
            // The error also aborts the transaction; no need to handle it per record.
            r.onerror = null;
          });
        }
      } catch (err) {
        tx?.abort();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    req.onsuccess = () => {
      req.result.close();
      if (upgraded) resolve();
      else reject(new Error(`database ${dump.name} already exists at version ${dump.version}`));
    };
    req.onerror = () => reject(req.error ?? new Error(`cannot create ${dump.name}`));
  });
}

/** Deletes databases; waits for open connections to close (they are sent a versionchange). */
export async function deleteDatabases(factory: IdbFactory, dbNames: string[]): Promise<void> {
  for (const name of dbNames) await settle(factory.deleteDatabase(name));
}
