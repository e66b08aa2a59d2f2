import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import { CryptoSnapshotError, IdbSnapshotStore } from '../../shared/src/crypto/idb-snapshot.js';
import { decodeSnapshot, encodeSnapshot } from '../../shared/src/crypto/snapshot-format.js';
import { HandCarry, decryptText, encryptText, megolmIndex, openMachine, sdk } from './fixtures/megolm-pair.js';
import { countOpens, dbNames, holdWrite, openDb, read, write } from './fixtures/idb-test-db.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROC = fileURLToPath(new URL('./fixtures/crypto-snapshot-proc.ts', import.meta.url));
const KEY = new Uint8Array(32).fill(9);

async function child(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, ['--conditions=source', '--import', 'tsx', PROC, ...args], { cwd: ROOT, timeout: 15_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

/** A store with one database holding a plain key-value object store. */
async function makeKv(name: string, records: Record<string, unknown> = {}): Promise<void> {
  const db = await openDb(`${name}::kv`, 1, (d) => d.createObjectStore('kv'));
  db.close();
  await write(`${name}::kv`, 'kv', (s) => { for (const [k, v] of Object.entries(records)) s.put(v, k); });
}

function snapOf(store: IdbSnapshotStore, name: string): Promise<Buffer> {
  return fs.readFile(store.fileFor(name));
}

/** A file in the snapshot layout (magic, version, length, sha256, payload), built independently. */
function frame(payload: Buffer, version = 1): Buffer {
  const head = Buffer.alloc(52);
  head.write('TRBCSNAP', 0, 'latin1');
  head.writeUInt32BE(version, 8);
  head.writeBigUInt64BE(BigInt(payload.length), 12);
  createHash('sha256').update(payload).digest().copy(head, 20);
  return Buffer.concat([head, payload]);
}

function valuesInFile(bytes: Buffer, file: string, name: string): unknown[] {
  return decodeSnapshot(file, bytes, name).databases.flatMap((d) => d.stores.flatMap((s) => s.values));
}

describe('IdbSnapshotStore', function () {
  let tmp: string;
  let store: IdbSnapshotStore;
  let seq = 0;
  const fresh = (label: string): string => `${label}@test:${process.pid}:${++seq}`;

  before(async () => {
    await sdk.initAsync();
    IdbSnapshotStore.install();
  });
  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-snap-'));
    store = new IdbSnapshotStore(path.join(tmp, 'snaps'));
  });
  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('creates its directory 0700 and installs fake-indexeddb without replacing another IndexedDB', async () => {
    assert.equal((await fs.stat(path.join(tmp, 'snaps'))).mode & 0o777, 0o700);
    const installed = (globalThis as Record<string, unknown>).indexedDB;
    assert.ok(installed && typeof (globalThis as Record<string, unknown>).IDBKeyRange === 'function');
    IdbSnapshotStore.install();
    assert.equal((globalThis as Record<string, unknown>).indexedDB, installed);
    const desc = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB')!;
    const theirs = { mine: false };
    Object.defineProperty(globalThis, 'indexedDB', { ...desc, value: theirs });
    try {
      IdbSnapshotStore.install();
      assert.equal((globalThis as Record<string, unknown>).indexedDB, theirs);
    } finally {
      Object.defineProperty(globalThis, 'indexedDB', desc);
    }
  });

  it('round trip in a new process: same keys, old events decrypt, Megolm continues with a higher index', async function () {
    this.timeout(20_000);
    const one = await child(['first', tmp]) as { restored: boolean[]; aliceKey: string; bobKey: string; events: unknown[]; bobSaw: string[]; indexes: Array<{ sessionId: string; index: number }> };
    assert.deepEqual(one.restored, [false, false]);
    assert.deepEqual(one.bobSaw, ['first', 'second']);
    const two = await child(['second', tmp, JSON.stringify(one.events)]) as { restored: boolean[]; aliceKey: string; bobKey: string; oldDecrypted: string[]; next: { sessionId: string; index: number }; nextDecrypted: string };
    assert.deepEqual(two.restored, [true, true]);
    assert.equal(two.aliceKey, one.aliceKey, 'alice keeps her identity key');
    assert.equal(two.bobKey, one.bobKey, 'bob keeps his identity key');
    assert.deepEqual(two.oldDecrypted, ['first', 'second']);
    assert.equal(two.next.sessionId, one.indexes[0]!.sessionId, 'the same outbound session continues');
    assert.ok(two.next.index > Math.max(...one.indexes.map((i) => i.index)), `index ${two.next.index} is not reused`);
    assert.equal(two.nextDecrypted, 'after restart');
  });

  it('evicts a machine\'s store from memory and restores it with the same identity', async () => {
    const name = fresh('evict');
    assert.equal(await store.restore(name), false);
    const m = await openMachine(name, KEY, '@evict:test', 'EVDEV');
    await new HandCarry().flush(m);
    const before = m.identityKeys.curve25519.toBase64();
    m.close();
    await store.evict(name);
    assert.deepEqual(await dbNames(`${name}::`), []);
    assert.equal(await store.restore(name), true);
    assert.equal((await dbNames(`${name}::`)).length, 2);
    const again = await openMachine(name, KEY, '@evict:test', 'EVDEV');
    assert.equal(again.identityKeys.curve25519.toBase64(), before);
    assert.equal((await again.outgoingRequests()).length, 0, 'the uploaded keys are known to be uploaded');
    again.close();
  });

  it('the machine continues its Megolm session across evict and restore', async () => {
    const [a, b] = [fresh('mega'), fresh('megb')];
    assert.deepEqual([await store.restore(a), await store.restore(b)], [false, false]);
    const alice = await openMachine(a, KEY, '@ma:test', 'MADEV');
    const bob = await openMachine(b, KEY, '@mb:test', 'MBDEV');
    await new HandCarry().shareRoomKey(alice, bob);
    const first = megolmIndex(await encryptText(alice, 'x', '$x'));
    alice.close();
    await store.evict(a);
    assert.equal(await store.restore(a), true);
    const reopened = await openMachine(a, KEY, '@ma:test', 'MADEV');
    const next = await encryptText(reopened, 'y', '$y');
    const second = megolmIndex(next);
    assert.equal(second.sessionId, first.sessionId);
    assert.equal(second.index, first.index + 1);
    assert.equal(await decryptText(bob, next), 'y');
    reopened.close();
    bob.close();
    await Promise.all([store.destroy(a), store.destroy(b)]);
  });

  it('recreates versions, key paths, autoIncrement, indexes and records exactly', async () => {
    const name = fresh('schema');
    const when = new Date(1_700_000_000_000);
    const db = await openDb(`${name}::main`, 7, (d) => {
      const people = d.createObjectStore('people', { keyPath: ['org', 'id'] });
      people.createIndex('by_tag', 'tags', { unique: false, multiEntry: true });
      people.createIndex('by_mail', 'mail', { unique: true });
      d.createObjectStore('blobs');
      d.createObjectStore('log', { autoIncrement: true });
    });
    db.close();
    await openDb(`${name}::meta`, 1, (d) => d.createObjectStore('m', { keyPath: 'k' })).then((d) => d.close());
    await write(`${name}::main`, 'people', (s) => {
      s.add({ org: 'o', id: 1, tags: ['a', 'b'], mail: 'x@o', when });
      s.add({ org: 'o', id: 2, tags: ['b'], mail: 'y@o', bytes: new Uint8Array([1, 2, 3]) });
    });
    await write(`${name}::main`, 'blobs', (s) => {
      s.put('binary-key', new Uint8Array([0, 255]).buffer);
      s.put('array-key', ['x', 2]);
      s.put('date-key', when);
    });
    await write(`${name}::main`, 'log', (s) => { s.add('one'); s.add('two'); s.add('three'); });
    await write(`${name}::meta`, 'm', (s) => s.put({ k: 'v', n: 1 }));
    await store.persist(name);
    await store.evict(name);
    assert.deepEqual(await dbNames(`${name}::`), []);
    assert.equal(await store.restore(name), true);

    const back = await openDb(`${name}::main`);
    assert.equal(back.version, 7);
    assert.deepEqual(Array.from(back.objectStoreNames).sort(), ['blobs', 'log', 'people']);
    const tx = back.transaction(['people', 'log'], 'readonly');
    const people = tx.objectStore('people');
    assert.deepEqual(people.keyPath, ['org', 'id']);
    assert.deepEqual(Array.from(people.indexNames).sort(), ['by_mail', 'by_tag']);
    assert.equal(people.index('by_tag').multiEntry, true);
    assert.equal(people.index('by_mail').unique, true);
    assert.equal(tx.objectStore('log').autoIncrement, true);
    back.close();
    const tagged = await read(`${name}::main`, 'people', (s) => s.index('by_tag').getAll('b'));
    assert.equal(tagged.length, 2, 'multiEntry index entries rebuilt');
    const p1 = await read(`${name}::main`, 'people', (s) => s.get(['o', 1])) as { when: Date };
    assert.ok(p1.when instanceof Date && p1.when.getTime() === when.getTime());
    const p2 = await read(`${name}::main`, 'people', (s) => s.get(['o', 2])) as { bytes: Uint8Array };
    assert.deepEqual([...p2.bytes], [1, 2, 3]);
    assert.equal(await read(`${name}::main`, 'blobs', (s) => s.get(new Uint8Array([0, 255]).buffer)), 'binary-key');
    assert.equal(await read(`${name}::main`, 'blobs', (s) => s.get(['x', 2])), 'array-key');
    assert.equal(await read(`${name}::main`, 'blobs', (s) => s.get(when)), 'date-key');
    await write(`${name}::main`, 'log', (s) => { s.add('four'); });
    assert.deepEqual(await read(`${name}::main`, 'log', (s) => s.getAllKeys()), [1, 2, 3, 4], 'the key generator continues');
    assert.deepEqual(await read(`${name}::meta`, 'm', (s) => s.get('v')), { k: 'v', n: 1 });
    await assert.rejects(write(`${name}::main`, 'people', (s) => { s.add({ org: 'o', id: 3, mail: 'x@o' }); }), /constraint/i, 'unique index enforced');
  });

  it('a persist holds every write completed before the call', async () => {
    const name = fresh('order');
    await makeKv(name, { a: 1 });
    await store.persist(name);
    await write(`${name}::kv`, 'kv', (s) => s.put('written before persist', 'b'));
    await store.persist(name);
    const file = store.fileFor(name);
    assert.deepEqual(valuesInFile(await snapOf(store, name), file, name), [1, 'written before persist']);
  });

  it('calls made during a persist share exactly one more run, which sees writes made meanwhile', async () => {
    const name = fresh('coalesce');
    await makeKv(name, { a: 1 });
    const hold = await holdWrite(`${name}::kv`, 'kv');
    const opens = countOpens();
    try {
      const first = store.persist(name);
      assert.equal(store.persist(name), first, 'a call before the run starts shares it');
      // Wait until the first run has opened the database (it then waits behind the held write).
      for (let i = 0; i < 1000 && opens.count() === 0; i++) await new Promise((r) => setImmediate(r));
      assert.equal(opens.count(), 1);
      const second = store.persist(name);
      const third = store.persist(name);
      assert.notEqual(second, first);
      assert.equal(third, second);
      await hold.release('b', 'during');
      await Promise.all([first, second, third]);
      assert.equal(opens.count(), 2, 'one run for the first call, one shared by the later two');
    } finally {
      opens.restore();
    }
    assert.deepEqual(valuesInFile(await snapOf(store, name), store.fileFor(name), name), [1, 'during']);
  });

  it('different stores persist independently', async () => {
    const [slow, quick] = [fresh('slow'), fresh('quick')];
    await makeKv(slow, { a: 1 });
    await makeKv(quick, { q: 1 });
    const hold = await holdWrite(`${slow}::kv`, 'kv');
    let slowDone = false;
    const p = store.persist(slow).then(() => { slowDone = true; });
    await store.persist(quick);
    assert.equal(slowDone, false, 'the other store did not wait for the blocked one');
    await hold.release('b', 2);
    await p;
    assert.ok(await store.sizeOf(slow));
  });

  it('ignores a leftover .tmp from a crash and uses the previous snapshot', async () => {
    const name = fresh('tmp');
    await makeKv(name, { a: 'kept' });
    await store.evict(name);
    await fs.writeFile(`${store.fileFor(name)}.tmp`, 'half-written garbage');
    assert.equal(await store.restore(name), true);
    assert.equal(await read(`${name}::kv`, 'kv', (s) => s.get('a')), 'kept');
    await store.persist(name);
    await assert.rejects(fs.stat(`${store.fileFor(name)}.tmp`), /ENOENT/, 'the next persist replaced the leftover');
  });

  it('refuses to overwrite a snapshot that was never restored, and to restore over such a store', async () => {
    const name = fresh('guard');
    await makeKv(name, { a: 'real identity' });
    await store.evict(name);
    const before = await snapOf(store, name);
    const other = new IdbSnapshotStore(path.join(tmp, 'snaps'));
    await makeKv(name, { a: 'fresh identity' });
    await assert.rejects(other.persist(name), /was not restored; refusing to overwrite/);
    await assert.rejects(other.restore(name), /opened before its snapshot .* was restored/);
    assert.deepEqual(await snapOf(store, name), before);
  });

  it('destroy removes the snapshot and the memory copy', async () => {
    const name = fresh('destroy');
    await makeKv(name, { a: 1 });
    await store.persist(name);
    await store.destroy(name);
    assert.deepEqual(await dbNames(`${name}::`), []);
    assert.equal(await store.sizeOf(name), undefined);
    assert.equal(await store.restore(name), false);
  });

  it('derives distinct, safe file names from any store name', () => {
    const names = ['a:b', 'a_b', '@user:host:DEV', '../../etc/passwd', 'x/y\\z', 'ü'.repeat(100)];
    const files = names.map((n) => store.fileFor(n));
    assert.equal(new Set(files).size, names.length);
    for (const f of files) {
      assert.equal(path.dirname(f), store.dir);
      assert.match(path.basename(f), /^[A-Za-z0-9_-]+\.snap$/);
    }
  });

  describe('damaged snapshot files', () => {
    const SECRET = 'SECRET-MARKER-7f3a';
    const cases: Array<[string, (valid: Buffer, name: string) => Buffer, RegExp]> = [
      ['an empty file', () => Buffer.alloc(0), /wrong magic/],
      ['another file type', (v) => Buffer.concat([Buffer.from('{"json":1}'), v]), /wrong magic/],
      ['a cut header', (v) => v.subarray(0, 30), /truncated \(incomplete header\)/],
      ['a cut payload', (v) => v.subarray(0, v.length - 10), /truncated \(\d+ of \d+ payload bytes\)/],
      ['bytes after the payload', (v) => Buffer.concat([v, Buffer.from('xx')]), /corrupt \(2 bytes after/],
      ['a flipped bit', (v) => { const c = Buffer.from(v); c[c.length - 5]! ^= 1; return c; }, /checksum mismatch/],
      ['a newer format version', (v) => { const c = Buffer.from(v); c.writeUInt32BE(2, 8); return c; }, /format version 2 is not supported/],
      ['an undecodable payload', () => frame(Buffer.from('not a v8 payload')), /payload cannot be decoded/],
      ['a foreign structure', () => frame(v8.serialize({ hello: SECRET })), /bad structure/],
      ['another store\'s snapshot', () => encodeSnapshot({ store: 'someone-else', databases: [] }), /another store/],
      ['records that break an index', (_v, name) => encodeSnapshot({
        store: name,
        databases: [
          { name: `${name}::a`, version: 1, stores: [{ name: 'kv', keyPath: null, autoIncrement: false, indexes: [], keys: ['k'], values: [SECRET] }] },
          { name: `${name}::b`, version: 1, stores: [{
            name: 's', keyPath: 'id', autoIncrement: false, indexes: [{ name: 'u', keyPath: 'u', unique: true, multiEntry: false }],
            keys: null, values: [{ id: 1, u: SECRET }, { id: 2, u: SECRET }],
          }] },
        ],
      }), /its records could not be restored/],
    ];

    for (const [label, damage, expected] of cases) {
      it(`refuses ${label} with an error naming the file, creating nothing`, async () => {
        const name = fresh('damaged');
        await makeKv(name, { a: SECRET });
        await store.evict(name);
        const file = store.fileFor(name);
        const valid = await fs.readFile(file);
        const bad = damage(valid, name);
        await fs.writeFile(file, bad);
        await assert.rejects(store.restore(name), (err: Error) => {
          assert.ok(err instanceof CryptoSnapshotError, err.message);
          assert.match(err.message, expected);
          assert.ok(err.message.includes(file), 'names the file');
          assert.ok(!err.message.includes(SECRET), 'does not quote the contents');
          return true;
        });
        assert.deepEqual(await dbNames(`${name}::`), [], 'nothing half-restored');
        assert.deepEqual(await fs.readFile(file), bad, 'the file is left for the operator');
        await makeKv(name);
        await assert.rejects(store.persist(name), /was not restored/, 'a fresh store cannot replace the damaged snapshot');
        await store.destroy(name);
      });
    }

    it('refuses an unreadable snapshot with an error naming the file', async () => {
      const name = fresh('unreadable');
      await fs.mkdir(store.fileFor(name));
      await assert.rejects(store.restore(name), (err: Error) => err instanceof CryptoSnapshotError && err.message.includes(store.fileFor(name)) && /cannot be read/.test(err.message));
    });
  });
});
