/**
 * The live OlmMachines, one per identity, in an LRU: a bridge has a ghost per contact, and an
 * idle machine costs memory (its whole store is in fake-indexeddb), so idle ones are closed after
 * a last snapshot and reopened from it when needed.
 *
 * Which device an identity uses is kept in the bridge database (kv `crypto.device:<mxid>`). A
 * device whose store is gone can never be used again (clients keep its old keys), so it is
 * deleted and a new device made.
 */
import { randomBytes } from 'node:crypto';
import type { KvQueries } from '../db/queries/kv.js';
import type { Logger } from '../logging.js';
import { OlmIdentity, type IdentityDeps } from './olm-identity.js';

interface DeviceRecord {
  deviceId: string;
  /** Set once keys and cross-signing are on the homeserver. */
  ready: boolean;
}

export interface PoolOptions {
  /** Most machines kept open at once (the bot is never closed). */
  maxOpen: number;
  displayName(mxid: string): string;
  isPinned(mxid: string): boolean;
  log: Logger;
}

const kvKey = (mxid: string) => `crypto.device:${mxid}`;
const EVICT_GRACE_MS = 10_000;

/** `TRB` + 7 letters, like the short upper-case ids clients make. */
function newDeviceId(): string {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return 'TRB' + [...randomBytes(7)].map((b) => letters[b % 26]).join('');
}

export class IdentityPool {
  private readonly open = new Map<string, OlmIdentity>();
  private readonly loading = new Map<string, Promise<OlmIdentity>>();

  constructor(private readonly deps: IdentityDeps, private readonly kv: KvQueries, private readonly opts: PoolOptions) {}

  /** The open identity of `mxid`, if its machine is live now. */
  peek(mxid: string): OlmIdentity | undefined {
    return this.open.get(mxid);
  }

  openUserIds(): string[] {
    return [...this.open.keys()];
  }

  get size(): number {
    return this.open.size;
  }

  /** The device id an identity has, without opening it. */
  async deviceOf(mxid: string): Promise<string | undefined> {
    return this.open.get(mxid)?.deviceId ?? (await this.record(mxid))?.deviceId;
  }

  /** Opens (creating the device the first time) and returns the identity of `mxid`. */
  async get(mxid: string): Promise<OlmIdentity> {
    const live = this.open.get(mxid);
    if (live) {
      live.lastUsed = Date.now();
      return live;
    }
    let p = this.loading.get(mxid);
    if (!p) {
      p = this.load(mxid).finally(() => this.loading.delete(mxid));
      this.loading.set(mxid, p);
    }
    return p;
  }

  private async record(mxid: string): Promise<DeviceRecord | undefined> {
    const raw = await this.kv.get(kvKey(mxid));
    return raw ? (JSON.parse(raw) as DeviceRecord) : undefined;
  }

  private async load(mxid: string): Promise<OlmIdentity> {
    let rec = await this.record(mxid);
    let opened = rec ? await OlmIdentity.open(mxid, rec.deviceId, this.deps) : undefined;
    if (rec && opened?.fresh && rec.ready) {
      // The store of a device with published keys is gone: that device is dead for clients.
      this.opts.log.warn({ user: mxid, device: rec.deviceId }, 'crypto store missing for a device with published keys; replacing the device');
      opened.identity.machine.close();
      await this.deps.snapshots.destroy(opened.identity.storeName);
      await this.deleteDevice(opened.identity).catch((err: Error) => this.opts.log.warn({ err: err.message }, 'old device not deleted'));
      rec = undefined;
      opened = undefined;
    }
    if (!rec || !opened) {
      rec = { deviceId: newDeviceId(), ready: false };
      await this.kv.set(kvKey(mxid), JSON.stringify(rec));
      opened = await OlmIdentity.open(mxid, rec.deviceId, this.deps);
    }
    const identity = opened.identity;
    if (!rec.ready) {
      await identity.setUp(this.opts.displayName(mxid));
      await this.kv.set(kvKey(mxid), JSON.stringify({ ...rec, ready: true }));
      this.opts.log.info({ user: mxid, device: rec.deviceId }, 'crypto device set up and cross-signed');
    } else if (!opened.fresh) {
      // Device lists may have changed while it was closed.
      await identity.run(async () => {
        await identity.machine.markAllTrackedUsersAsDirty();
        await identity.flush();
      });
    }
    this.open.set(mxid, identity);
    await this.evictIdle();
    return identity;
  }

  private async deleteDevice(identity: OlmIdentity): Promise<void> {
    await this.deps.api.request('DELETE', `/_matrix/client/v3/devices/${encodeURIComponent(identity.deviceId)}`, { asUser: identity.userId, body: {} });
  }

  /**
   * Closes the least recently used machines beyond the limit. A machine used in the last few
   * seconds is kept even over the limit (a soft limit): a caller may hold it between `get` and
   * its next call, and closing it under them would fail their send.
   */
  private async evictIdle(): Promise<void> {
    while (this.open.size > this.opts.maxOpen) {
      const idleSince = Date.now() - EVICT_GRACE_MS;
      const victim = [...this.open.values()].filter((i) => !this.opts.isPinned(i.userId) && i.lastUsed < idleSince).sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (!victim) return;
      this.open.delete(victim.userId);
      await victim.close().catch((err: Error) => this.opts.log.warn({ err: err.message, user: victim.userId }, 'crypto machine close failed'));
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((i) => i.close().catch(() => undefined)));
  }
}
