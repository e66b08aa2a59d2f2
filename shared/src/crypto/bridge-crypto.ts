/**
 * End-to-bridge encryption for one bridge: the crypto hook of the transaction intake, the
 * encryptor behind every `sendEvent`, and the decryptor of portal and management-room events.
 *
 * Identities: the bot and each ghost that speaks in an encrypted room has its own device
 * (MSC4190) cross-signed by its own identity, so what a ghost sends is "sent by the ghost's own
 * verified device" and clients that exclude insecure devices accept it. Events sent as a
 * double-puppeted person are encrypted by the bot's device (the bridge cannot make devices for
 * users outside its namespace); clients show those as sent from another user's device.
 */
import { initAsync, DecryptionSettings, TrustRequirement } from './wasm.js';
import type { KvQueries } from '../db/queries/kv.js';
import type { Logger } from '../logging.js';
import type { MatrixApi } from '../matrix/matrix-api.js';
import type { CryptoHook } from '../matrix/intake.js';
import type { CryptoTransactionData, MatrixRoomEvent } from '../matrix/transaction.js';
import { IdbSnapshotStore } from './idb-snapshot.js';
import { IdentityPool } from './identity-pool.js';
import type { DeviceSyncChanges, OlmIdentity } from './olm-identity.js';
import { decryptOnce, KeyWaiters, sessionIdOf, type DecryptOutcome } from './room-decryptor.js';
import { encryptForRoom, encryptionSettings, type ShareKeysWith } from './room-encryptor.js';
import { keyRecipients, MEGOLM_ALGORITHM, RoomStates } from './room-state.js';
import { loadOrCreateStoreKey } from './store-key.js';

export interface CryptoConfig {
  require: boolean;
  share_keys_with: ShareKeysWith;
  decrypt_trust: 'untrusted' | 'cross-signed-or-legacy' | 'cross-signed';
  rotation: { period_ms: number; messages: number };
  max_live_devices: number;
}

export interface BridgeCryptoOptions {
  api: MatrixApi;
  kv: KvQueries;
  config: CryptoConfig;
  /** Where the store snapshots go (a directory) and the store key file. */
  storeDir: string;
  storeKeyFile: string;
  botMxid: string;
  /** The bot and the ghosts: users with devices of their own here, never given room keys. */
  isBridgeUser(mxid: string): boolean;
  isPortalRoom(roomId: string): boolean;
  displayName(mxid: string): string;
  log: Logger;
  /** Time spent per operation (metrics). */
  timed?(op: 'encrypt' | 'decrypt' | 'persist', ms: number): void;
}

/** Events never encrypted: state and redactions have their own endpoints, the rest goes through here. */
const PLAIN_TYPES = new Set(['m.room.encrypted']);
const TRUST: Record<CryptoConfig['decrypt_trust'], TrustRequirement> = {
  untrusted: TrustRequirement.Untrusted,
  'cross-signed-or-legacy': TrustRequirement.CrossSignedOrLegacy,
  'cross-signed': TrustRequirement.CrossSigned,
};

export class BridgeCrypto implements CryptoHook {
  readonly rooms: RoomStates;
  readonly waiters = new KeyWaiters();
  /** The key counts last fed to each identity (see onTransactionData). */
  private readonly lastCounts = new Map<string, string>();
  private bot!: OlmIdentity;

  private constructor(private readonly o: BridgeCryptoOptions, private readonly pool: IdentityPool) {
    this.rooms = new RoomStates(o.api);
  }

  static async create(o: BridgeCryptoOptions): Promise<BridgeCrypto> {
    await initAsync();
    IdbSnapshotStore.install();
    const storeKey = await loadOrCreateStoreKey(o.storeKeyFile);
    const snapshots = new IdbSnapshotStore(o.storeDir);
    const pool = new IdentityPool({ api: o.api, snapshots, storeKey, timed: o.timed }, o.kv, {
      maxOpen: o.config.max_live_devices, displayName: o.displayName, isPinned: (mxid) => mxid === o.botMxid, log: o.log,
    });
    const c = new BridgeCrypto(o, pool);
    c.bot = await pool.get(o.botMxid);
    c.waiters.attach(c.bot.machine);
    return c;
  }

  get botDeviceId(): string {
    return this.bot.deviceId;
  }

  private decryptionSettings(): DecryptionSettings {
    return new DecryptionSettings(TRUST[this.o.config.decrypt_trust]);
  }

  // ---- intake (before the transaction is acknowledged) ----

  async onTransactionData(data: CryptoTransactionData): Promise<void> {
    const changed = data.deviceLists?.changed ?? [];
    const left = data.deviceLists?.left ?? [];
    const shares = new Map<string, DeviceSyncChanges>();
    const share = (mxid: string) => {
      let s = shares.get(mxid);
      if (!s) shares.set(mxid, (s = { toDevice: [], changed, left }));
      return s;
    };
    for (const td of data.toDevice) {
      if (this.o.isBridgeUser(td.to_user_id) && (await this.pool.deviceOf(td.to_user_id)) === td.to_device_id) share(td.to_user_id).toDevice.push(td);
    }
    for (const [mxid, devices] of Object.entries(data.oneTimeKeyCounts ?? {})) {
      const mine = this.o.isBridgeUser(mxid) ? await this.pool.deviceOf(mxid) : undefined;
      const counts = mine ? devices[mine] : undefined;
      // A closed machine is only opened for its counts when its one-time keys run low.
      if (counts && (this.pool.peek(mxid) || shares.has(mxid) || (counts.signed_curve25519 ?? 0) < 10)) share(mxid).otkCounts = counts;
    }
    for (const [mxid, devices] of Object.entries(data.unusedFallbackKeyTypes ?? {})) {
      const mine = this.pool.peek(mxid)?.deviceId;
      if (mine && devices[mine]) share(mxid).fallbackTypes = devices[mine];
    }
    if (changed.length || left.length) {
      // Every live machine may track these users; closed ones re-query everything when reopened.
      for (const mxid of this.pool.openUserIds()) share(mxid);
    }
    const touched: OlmIdentity[] = [];
    for (const [mxid, changes] of shares) {
      // Synapse repeats the key counts in most transactions: unchanged counts alone change nothing
      // in the machine, and skipping them keeps a store snapshot off the acknowledgement path.
      const counts = JSON.stringify([changes.otkCounts ?? null, changes.fallbackTypes ?? null]);
      const onlyCounts = changes.toDevice.length === 0 && changes.changed.length === 0 && changes.left.length === 0;
      if (onlyCounts && this.lastCounts.get(mxid) === counts) continue;
      this.lastCounts.set(mxid, counts);
      const identity = await this.pool.get(mxid);
      await identity.receive(changes, this.decryptionSettings());
      touched.push(identity);
    }
    await Promise.all(touched.map((i) => i.persist()));
    // Key uploads and queries the new state asks for need not hold the acknowledgement.
    for (const i of touched) void i.run(() => i.flush()).catch((err: Error) => this.o.log.warn({ err: err.message, user: i.userId }, 'crypto requests failed'));
  }

  /** State events of transactions keep the room cache current. */
  observe(ev: MatrixRoomEvent): void {
    this.rooms.observe(ev);
  }

  // ---- outgoing ----

  /** The event as it must be sent into `roomId`: encrypted when the room is. */
  async wrap(roomId: string, type: string, content: unknown, asUser: string): Promise<{ type: string; content: unknown }> {
    if (PLAIN_TYPES.has(type)) return { type, content };
    const state = await this.rooms.get(roomId, asUser);
    if (!state.encryption) {
      if (!this.o.config.require || !this.o.isPortalRoom(roomId)) return { type, content };
      // encryption.require: a portal never carries plaintext; turn encryption on first.
      await this.o.api.sendState(roomId, 'm.room.encryption', '', { algorithm: MEGOLM_ALGORITHM }, this.o.botMxid);
      state.encryption ??= { algorithm: MEGOLM_ALGORITHM };
    }
    if (state.encryption.algorithm !== MEGOLM_ALGORITHM) {
      throw new Error(`room ${roomId} uses the unsupported encryption algorithm ${state.encryption.algorithm}`);
    }
    const sender = this.o.isBridgeUser(asUser) ? asUser : this.o.botMxid;
    const identity = await this.pool.get(sender);
    const settings = encryptionSettings(state, this.o.config.share_keys_with, {
      periodMs: this.o.config.rotation.period_ms, messages: this.o.config.rotation.messages,
    });
    const recipients = keyRecipients(state, (mxid) => this.o.isBridgeUser(mxid));
    const t0 = performance.now();
    const encrypted = await encryptForRoom(identity, roomId, type, content, recipients, settings);
    this.o.timed?.('encrypt', performance.now() - t0);
    return { type: 'm.room.encrypted', content: encrypted };
  }

  // ---- incoming ----

  /** One decryption attempt, no waiting. */
  async tryDecrypt(ev: MatrixRoomEvent): Promise<DecryptOutcome> {
    const t0 = performance.now();
    const out = await decryptOnce(this.bot.machine, ev, this.decryptionSettings());
    this.o.timed?.('decrypt', performance.now() - t0);
    return out;
  }

  /**
   * Decrypts, waiting up to `waitMs` for a missing key (woken when it arrives, and retried every
   * few seconds in case a key came by another path, e.g. an import).
   */
  async decrypt(ev: MatrixRoomEvent, waitMs: number): Promise<DecryptOutcome> {
    const deadline = Date.now() + waitMs;
    const session = sessionIdOf(ev);
    for (;;) {
      const out = await this.tryDecrypt(ev);
      const left = deadline - Date.now();
      if (out.ok || !out.waitable || left <= 0 || !session) return out;
      await this.waiters.wait(session, Math.min(left, 5000));
    }
  }

  async stop(): Promise<void> {
    await this.pool.closeAll();
  }

  /** For tests and metrics. */
  get liveDevices(): number {
    return this.pool.size;
  }
}
