import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StoreKeyError, loadOrCreateStoreKey } from '../../shared/src/crypto/store-key.js';

describe('loadOrCreateStoreKey', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-key-'));
  });
  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('creates 32 random bytes once, mode 0600, as base64 text, and reads the same key back', async () => {
    const file = path.join(tmp, 'nested', 'dir', 'store.key');
    const key = await loadOrCreateStoreKey(file);
    assert.ok(key instanceof Uint8Array);
    assert.equal(key.length, 32);
    assert.ok(key.some((b) => b !== 0));
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    assert.equal((await fs.stat(path.dirname(file))).mode & 0o777, 0o700);
    assert.equal((await fs.readFile(file, 'utf8')).trim(), Buffer.from(key).toString('base64'));
    assert.deepEqual(await loadOrCreateStoreKey(file), key);
    assert.deepEqual(await fs.readdir(path.dirname(file)), ['store.key'], 'no temporary file left');
    const other = await loadOrCreateStoreKey(path.join(tmp, 'other.key'));
    assert.notDeepEqual(other, key, 'each file gets its own random key');
  });

  it('gives every concurrent caller the one key that was created', async () => {
    const file = path.join(tmp, 'store.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateStoreKey(file)));
    for (const k of keys) assert.deepEqual(k, keys[0]);
    assert.deepEqual(await loadOrCreateStoreKey(file), keys[0]);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['an empty file', '', /is not base64 text/],
    ['text that is not base64', 'this is not a key!!', /is not base64 text/],
    ['non-canonical base64', `${Buffer.alloc(32, 7).toString('base64').slice(0, -2)}B=`, /is not base64 text/],
    ['a key of the wrong length', Buffer.alloc(16, 5).toString('base64'), /must hold 32 bytes, holds 16/],
    ['a key that is too long', Buffer.alloc(48, 5).toString('base64'), /must hold 32 bytes, holds 48/],
  ];
  for (const [label, content, expected] of bad) {
    it(`refuses ${label} with an error naming the file, leaving it unchanged`, async () => {
      const file = path.join(tmp, 'store.key');
      await fs.writeFile(file, content, { mode: 0o600 });
      await assert.rejects(loadOrCreateStoreKey(file), (err: Error) => {
        assert.ok(err instanceof StoreKeyError);
        assert.match(err.message, expected);
        assert.ok(err.message.includes(file), 'names the file');
        if (content.length > 4) assert.ok(!err.message.includes(content.slice(0, 8)), 'does not quote the contents');
        return true;
      });
      assert.equal(await fs.readFile(file, 'utf8'), content);
    });
  }

  it('refuses an unreadable key file with an error naming it', async () => {
    const file = path.join(tmp, 'store.key');
    await fs.mkdir(file);
    await assert.rejects(loadOrCreateStoreKey(file), (err: Error) => err instanceof StoreKeyError && err.message.includes(file) && /cannot be read \(EISDIR\)/.test(err.message));
  });

  it('accepts a key written by hand (with or without a trailing newline)', async () => {
    const bytes = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) bytes[i] = i * 7;
    const file = path.join(tmp, 'store.key');
    await fs.writeFile(file, bytes.toString('base64'));
    assert.deepEqual([...(await loadOrCreateStoreKey(file))], [...bytes]);
  });
});
