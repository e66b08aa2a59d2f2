/**
 * One sending identity: the bridge bot or a ghost, with its own Matrix device and its own
 * OlmMachine. Every method runs under the identity's lock: the machine's outgoing requests must be
 * sent once each, and a Megolm session must not be used by two sends at once.
 *
 * Durability: the machine lives in fake-indexeddb; `persist()` writes its snapshot to disk. Callers
 * persist before acknowledging a transaction (to-device keys) and after each encryption, before the
 * encrypted event leaves (a stale snapshot would reuse a Megolm message index).
 */
import {
  DeviceId, DeviceLists, OlmMachine, StoreHandle, UserId, type DecryptionSettings,
} from './wasm.js';
import type { MatrixApi } from '../matrix/matrix-api.js';
import type { ToDeviceEvent } from '../matrix/transaction.js';
import type { IdbSnapshotStore } from './idb-snapshot.js';
import { callAsDevice, flushOutgoing, sendRequest, type DeviceCaller } from './olm-requests.js';

export interface IdentityDeps {
  api: MatrixApi;
  snapshots: IdbSnapshotStore;
  storeKey: Uint8Array;
  timed?(op: 'persist', ms: number): void;
}

/** What one transaction carries for one device. */
export interface DeviceSyncChanges {
  toDevice: ToDeviceEvent[];
  changed: string[];
  left: string[];
  otkCounts?: Record<string, number>;
  fallbackTypes?: string[];
}

export function storeNameFor(userId: string, deviceId: string): string {
  return `tributary:${userId}:${deviceId}`;
}

export class OlmIdentity implements DeviceCaller {
  private lock: Promise<unknown> = Promise.resolve();
  private closed = false;
  readonly storeName: string;
  readonly api: MatrixApi;
  lastUsed = Date.now();

  private constructor(readonly userId: string, readonly deviceId: string, readonly machine: OlmMachine, private readonly deps: IdentityDeps) {
    this.storeName = storeNameFor(userId, deviceId);
    this.api = deps.api;
  }

  /**
   * Opens the identity's machine from its snapshot (or a fresh store). `fresh` tells whether the
   * store had nothing in it, i.e. the device's keys were never made here.
   */
  static async open(userId: string, deviceId: string, deps: IdentityDeps): Promise<{ identity: OlmIdentity; fresh: boolean }> {
    const name = storeNameFor(userId, deviceId);
    const restored = await deps.snapshots.restore(name);
    const handle = await StoreHandle.openWithKey(name, deps.storeKey);
    try {
      const machine = await OlmMachine.initFromStore(new UserId(userId), new DeviceId(deviceId), handle);
      return { identity: new OlmIdentity(userId, deviceId, machine, deps), fresh: !restored };
    } finally {
      handle.free();
    }
  }

  /** Runs `fn` alone on this identity. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.lastUsed = Date.now();
    const next = this.lock.then(() => {
      if (this.closed) throw new Error(`crypto identity ${this.userId} is closed`);
      return fn();
    });
    this.lock = next.catch(() => undefined).finally(() => (this.lastUsed = Date.now()));
    return next;
  }

  /**
   * Sends whatever the machine has queued (key uploads, queries, to-device). The store is persisted
   * before any key upload: keys published but lost in a crash would be regenerated differently
   * under the same ids (refused by the homeserver), and one-time keys it hands out would open Olm
   * sessions whose room keys no one can read.
   */
  flush(): Promise<void> {
    return flushOutgoing(this.machine, this, () => this.persist());
  }

  async persist(): Promise<void> {
    const t0 = performance.now();
    await this.deps.snapshots.persist(this.storeName);
    this.deps.timed?.('persist', performance.now() - t0);
  }

  /**
   * Creates the device on the homeserver (MSC4190: `PUT /devices/{id}` by the appservice, no
   * login), uploads its keys and cross-signs it with the identity's own new cross-signing keys, so
   * clients that exclude insecure devices accept what it sends. Idempotent: a device that already
   * has keys and cross-signing only flushes what is pending.
   */
  async setUp(displayName: string): Promise<void> {
    await this.run(async () => {
      // Not as the device (it does not exist yet): only as its user.
      await this.api.request('PUT', `/_matrix/client/v3/devices/${encodeURIComponent(this.deviceId)}`, { asUser: this.userId, body: { display_name: displayName } });
      await this.flush();
      const status = await this.machine.crossSigningStatus();
      if (!(status.hasMaster && status.hasSelfSigning && status.hasUserSigning)) {
        const reqs = await this.machine.bootstrapCrossSigning(true);
        // The private keys are in the store now: keep them before anything refers to them.
        await this.persist();
        if (reqs.uploadKeysRequest) await sendRequest(this.machine, this, reqs.uploadKeysRequest);
        // Synapse lets an appservice user set up cross-signing without interactive auth (MSC4190).
        await callAsDevice(this, 'POST', '/_matrix/client/v3/keys/device_signing/upload', JSON.parse(reqs.uploadSigningKeysRequest.body));
        await sendRequest(this.machine, this, reqs.uploadSignaturesRequest);
      }
      await this.flush();
      await this.persist();
    });
  }

  /** Feeds one transaction's share for this device; the caller persists before acknowledging. */
  async receive(changes: DeviceSyncChanges, settings: DecryptionSettings): Promise<void> {
    await this.run(async () => {
      const lists = new DeviceLists(changes.changed.map((u) => new UserId(u)), changes.left.map((u) => new UserId(u)));
      const counts = new Map(Object.entries(changes.otkCounts ?? {}));
      const fallback = changes.fallbackTypes ? new Set(changes.fallbackTypes) : undefined;
      await this.machine.receiveSyncChanges(JSON.stringify(changes.toDevice), lists, counts, fallback, settings);
      await this.flush();
    });
  }

  /** Closes the machine (after a final snapshot) and drops its store from memory. */
  async close(): Promise<void> {
    await this.run(async () => {
      await this.persist();
      this.closed = true;
      this.machine.close();
      await this.deps.snapshots.evict(this.storeName);
    });
  }
}
