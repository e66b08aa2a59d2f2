/**
 * The pool of crypto identities: a device is made once (MSC4190 `PUT /devices`, keys, cross-signing)
 * and reused across closes and restarts; a device whose store is gone is deleted and replaced,
 * never given new keys under its old id.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { IdbSnapshotStore } from '../../shared/src/crypto/idb-snapshot.js';
import { IdentityPool } from '../../shared/src/crypto/identity-pool.js';
import { storeNameFor } from '../../shared/src/crypto/olm-identity.js';
import * as wasm from '../../shared/src/crypto/wasm.js';
import type { KvQueries } from '../../shared/src/db/queries/kv.js';
import { getLogger } from '../../shared/src/logging.js';
import type { MatrixApi } from '../../shared/src/matrix/matrix-api.js';

interface Call { method: string; path: string; asUser?: string; deviceId?: string }

function fakeApi(): { api: MatrixApi; calls: Call[] } {
  const calls: Call[] = [];
  const answer = (p: string, body: unknown) => {
    if (p.endsWith('/keys/upload')) {
      const otks = Object.keys((body as { one_time_keys?: object }).one_time_keys ?? {}).length;
      return { one_time_key_counts: { signed_curve25519: otks } };
    }
    if (p.endsWith('/keys/query')) return { device_keys: {}, failures: {} };
    if (p.endsWith('/keys/signatures/upload')) return { failures: {} };
    return {};
  };
  const api = {
    request: async (method: string, p: string, opts: { asUser?: string; query?: Record<string, string> } = {}) => {
      calls.push({ method, path: p, asUser: opts.asUser, deviceId: opts.query?.device_id });
      return answer(p, {});
    },
    raw: async (method: string, p: string, opts: { asUser?: string; query?: Record<string, string>; body?: unknown } = {}) => {
      calls.push({ method, path: p, asUser: opts.asUser, deviceId: opts.query?.device_id });
      return new Response(JSON.stringify(answer(p, opts.body)));
    },
  } as unknown as MatrixApi;
  return { api, calls };
}

function memoryKv(): KvQueries {
  const m = new Map<string, string>();
  return {
    get: async (k: string) => m.get(k),
    set: async (k: string, v: string) => void m.set(k, v),
    delete: async (k: string) => m.delete(k),
    listPrefix: async (p: string) => [...m].filter(([k]) => k.startsWith(p)).map(([, v]) => v),
  } as unknown as KvQueries;
}

describe('crypto: identity pool', function () {
  this.timeout(20_000);
  let dir: string;
  before(async () => {
    await wasm.initAsync();
    IdbSnapshotStore.install();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-pool-'));
  });
  after(async () => fs.rm(dir, { recursive: true, force: true }));

  const opts = { maxOpen: 10, displayName: () => 'Test bridge', isPinned: () => false, log: getLogger('test') };

  it('creates a device once: PUT /devices as the user, keys and cross-signing as the device', async () => {
    const { api, calls } = fakeApi();
    const snapshots = new IdbSnapshotStore(path.join(dir, 'a'));
    const kv = memoryKv();
    const pool = new IdentityPool({ api, snapshots, storeKey: new Uint8Array(32).fill(1) }, kv, opts);
    const id = await pool.get('@ghost1:test');
    const put = calls.find((c) => c.method === 'PUT' && c.path.startsWith('/_matrix/client/v3/devices/'));
    assert.ok(put, 'no device creation');
    assert.equal(put.asUser, '@ghost1:test');
    assert.equal(put.deviceId, undefined, 'the device cannot be masqueraded before it exists');
    assert.ok(calls.some((c) => c.path.endsWith('/keys/upload') && c.deviceId === id.deviceId));
    assert.ok(calls.some((c) => c.path.endsWith('/keys/device_signing/upload') && c.deviceId === id.deviceId));
    assert.ok(calls.some((c) => c.path.endsWith('/keys/signatures/upload') && c.deviceId === id.deviceId));
    assert.deepEqual(JSON.parse((await kv.get('crypto.device:@ghost1:test'))!), { deviceId: id.deviceId, ready: true });
    const status = await id.machine.crossSigningStatus();
    assert.ok(status.hasMaster && status.hasSelfSigning && status.hasUserSigning);

    // Closed and reopened (an LRU eviction, or a restart with the snapshot on disk): same device, no setup.
    const identityKey = id.machine.identityKeys.curve25519.toBase64();
    await pool.closeAll();
    calls.length = 0;
    const again = await pool.get('@ghost1:test');
    assert.equal(again.deviceId, id.deviceId);
    assert.equal(again.machine.identityKeys.curve25519.toBase64(), identityKey);
    assert.equal(calls.filter((c) => c.method === 'PUT' || c.path.endsWith('/device_signing/upload')).length, 0);
    await pool.closeAll();
  });

  it('replaces a device whose store is gone instead of giving it new keys', async () => {
    const { api, calls } = fakeApi();
    const snapshots = new IdbSnapshotStore(path.join(dir, 'b'));
    const kv = memoryKv();
    const pool = new IdentityPool({ api, snapshots, storeKey: new Uint8Array(32).fill(2) }, kv, opts);
    const first = await pool.get('@ghost2:test');
    const oldDevice = first.deviceId;
    await pool.closeAll();
    await snapshots.destroy(storeNameFor('@ghost2:test', oldDevice));
    calls.length = 0;
    const second = await pool.get('@ghost2:test');
    assert.notEqual(second.deviceId, oldDevice);
    assert.ok(calls.some((c) => c.method === 'DELETE' && c.path.endsWith(`/devices/${oldDevice}`) && c.asUser === '@ghost2:test'), 'the dead device was not deleted');
    assert.ok(!calls.some((c) => c.path.endsWith('/keys/upload') && c.deviceId === oldDevice), 'new keys were uploaded under the old device id');
    assert.equal(JSON.parse((await kv.get('crypto.device:@ghost2:test'))!).deviceId, second.deviceId);
    await pool.closeAll();
  });

  it('keeps recently used machines open over the limit, and closes idle ones', async () => {
    const { api } = fakeApi();
    const snapshots = new IdbSnapshotStore(path.join(dir, 'c'));
    const pool = new IdentityPool({ api, snapshots, storeKey: new Uint8Array(32).fill(3) }, memoryKv(), { ...opts, maxOpen: 1 });
    const a = await pool.get('@a:test');
    await pool.get('@b:test');
    assert.equal(pool.size, 2, 'a machine used a moment ago was closed');
    a.lastUsed = Date.now() - 60_000;
    await pool.get('@c:test');
    assert.equal(pool.peek('@a:test'), undefined, 'the idle machine stayed open');
    await pool.closeAll();
  });
});
