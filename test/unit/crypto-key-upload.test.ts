/**
 * A bridge device's keys are on disk before the homeserver publishes them. The store lives in
 * memory and is snapshotted; if a key upload went out first and the bridge died before the next
 * snapshot, the homeserver would hand out one-time keys (or a whole device) whose private halves
 * are gone: the restarted machine makes different keys under the same ids (Synapse refuses them)
 * and every Olm session a sender opens with a lost key carries room keys nobody can read.
 *
 * Each test copies the snapshot file at the moment of each `keys/upload` (what a crash right then
 * would leave), restores that copy, and checks it holds the keys being uploaded.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as wasm from '../../shared/src/crypto/wasm.js';
import { IdbSnapshotStore } from '../../shared/src/crypto/idb-snapshot.js';
import { OlmIdentity, storeNameFor } from '../../shared/src/crypto/olm-identity.js';
import type { MatrixApi } from '../../shared/src/matrix/matrix-api.js';

const USER = '@ghost:test';
/** A device id per test: fake-indexeddb is one per process. */
let DEVICE = 'TRBUPLOAD';
let devices = 0;
const KEY = new Uint8Array(32).fill(7);

interface Upload {
  body: { device_keys?: { keys: Record<string, string> }; one_time_keys?: Record<string, unknown> };
  /** The snapshot as it was on disk when the upload left, or undefined when there was none. */
  snapshotAtUpload: string | undefined;
}

/** A homeserver that answers everything and records each key upload with the snapshot beside it. */
function fakeApi(snaps: IdbSnapshotStore, copies: string): { api: MatrixApi; uploads: Upload[] } {
  const uploads: Upload[] = [];
  const api = {
    request: async () => ({}),
    raw: async (_method: string, p: string, opts: { body?: unknown }) => {
      let answer = '{}';
      if (p.endsWith('/keys/upload')) {
        const body = opts.body as Upload['body'];
        const file = snaps.fileFor(storeNameFor(USER, DEVICE));
        const copy = path.join(copies, `${uploads.length}`);
        await fs.mkdir(copy, { recursive: true });
        const present = await fs.copyFile(file, path.join(copy, path.basename(file))).then(() => true, () => false);
        uploads.push({ body, snapshotAtUpload: present ? copy : undefined });
        answer = JSON.stringify({ one_time_key_counts: { signed_curve25519: Object.keys(body.one_time_keys ?? {}).length } });
      }
      return new Response(answer, { status: 200 });
    },
  } as unknown as MatrixApi;
  return { api, uploads };
}

/** Opens the identity from the snapshot a crash at `upload` would have left (after dropping the live one). */
async function restoreAt(live: OlmIdentity, liveSnaps: IdbSnapshotStore, upload: Upload, api: MatrixApi): Promise<OlmIdentity> {
  assert.ok(upload.snapshotAtUpload, 'a snapshot was on disk when the keys were uploaded');
  live.machine.close();
  await liveSnaps.destroy(live.storeName);
  const snaps = new IdbSnapshotStore(upload.snapshotAtUpload);
  const { identity, fresh } = await OlmIdentity.open(USER, DEVICE, { api, snapshots: snaps, storeKey: KEY });
  assert.equal(fresh, false, 'the store came back from the snapshot');
  return identity;
}

describe('crypto: keys are kept before they are published', () => {
  let dir: string;
  beforeEach(async () => {
    await wasm.initAsync();
    IdbSnapshotStore.install();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trb-key-upload-'));
    DEVICE = `TRBUPLOAD${++devices}`;
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('a new device: the snapshot holds the identity keys its first upload publishes', async () => {
    const snaps = new IdbSnapshotStore(path.join(dir, 'live'));
    const { api, uploads } = fakeApi(snaps, path.join(dir, 'copies'));
    const { identity } = await OlmIdentity.open(USER, DEVICE, { api, snapshots: snaps, storeKey: KEY });
    await identity.setUp('ghost');
    const first = uploads.find((u) => u.body.device_keys);
    assert.ok(first, 'the device keys were uploaded');
    const restored = await restoreAt(identity, snaps, first, api);
    assert.equal(restored.machine.identityKeys.curve25519.toBase64(), first.body.device_keys!.keys[`curve25519:${DEVICE}`]);
    restored.machine.close();
  });

  it('one-time keys made after a claim: the snapshot holds exactly the keys uploaded', async () => {
    const snaps = new IdbSnapshotStore(path.join(dir, 'live'));
    const { api, uploads } = fakeApi(snaps, path.join(dir, 'copies'));
    const { identity } = await OlmIdentity.open(USER, DEVICE, { api, snapshots: snaps, storeKey: KEY });
    await identity.setUp('ghost');
    await identity.persist();
    const before = uploads.length;
    // The homeserver says every one-time key was claimed: the machine makes new ones and uploads them.
    await identity.receive({ toDevice: [], changed: [], left: [], otkCounts: { signed_curve25519: 0 } }, new wasm.DecryptionSettings(wasm.TrustRequirement.Untrusted));
    const replenish = uploads.slice(before).find((u) => Object.keys(u.body.one_time_keys ?? {}).length > 0);
    assert.ok(replenish, 'new one-time keys were uploaded');
    const restored = await restoreAt(identity, snaps, replenish, api);
    // After a crash right then, the machine uploads again what it holds: it must be the same keys.
    const again = (await restored.machine.outgoingRequests()).find((r) => r instanceof wasm.KeysUploadRequest);
    assert.ok(again, 'the restored machine still has the keys to upload');
    assert.deepEqual(JSON.parse(again.body).one_time_keys, replenish.body.one_time_keys);
    restored.machine.close();
  });
});
