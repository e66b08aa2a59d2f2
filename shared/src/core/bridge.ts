/**
 * The central module: owns the database, the Matrix side, the connector, and the in-memory maps of
 * portals, ghosts and logins. It routes Matrix events to portals (or to the command processor) and
 * remote events from logins to portals, and is the BridgeHandle a connector sees.
 */
import type { Logger } from '../logging.js';
import { getLogger } from '../logging.js';
import type { CoreConfig } from '../config/schema.js';
import { ghostUserId, parseGhostUserId, botUserId } from '../config/registration.js';
import type { Database } from '../db/database.js';
import type { LoginRow } from '../db/queries/logins.js';
import {
  portalKeyString, type BridgeHandle, type NetworkConnector, type PortalKey, type RemoteEvent, type RemotePresence,
  type ChatInfo, type RemoteSender, type RemoteUserId, type UserLoginId, type NewLoginData, type UserHandle, type QueuedEvent,
} from '../network/index.js';
import { MatrixApi } from '../matrix/matrix-api.js';
import { MediaBridge } from '../matrix/media.js';
import { Spaces } from '../matrix/spaces.js';
import { TransactionIntake } from '../matrix/intake.js';
import { MatrixRouter } from './matrix-router.js';
import { BridgeStates } from './bridge-state.js';
import { DisappearingLoop } from './disappearing.js';
import { Ghost } from './ghost.js';
import { Permissions } from './permissions.js';
import { Portal } from './portal.js';
import { UserLogin } from './user-login.js';
import type { CommandProcessor } from '../commands/processor.js';
import { catchUp } from './portal-backfill.js';
import { ensureRoom } from './portal-room.js';
import type { BridgeMetrics } from '../metrics/bridge-metrics.js';
import type { BridgeCrypto } from '../crypto/bridge-crypto.js';

export class Bridge implements BridgeHandle<unknown> {
  readonly log: Logger = getLogger('bridge');
  readonly api: MatrixApi;
  readonly media: MediaBridge;
  readonly botMxid: string;
  readonly serverName: string;
  readonly permissions: Permissions;
  readonly states = new BridgeStates(this);
  readonly spaces = new Spaces(this);
  readonly intake: TransactionIntake;
  readonly disappearing = new DisappearingLoop(this);
  commands: CommandProcessor | undefined;
  metrics: BridgeMetrics | undefined;
  /** Rooms people made for a DM by inviting a ghost, by `dmClaimKey`, until the portal adopts them. */
  readonly dmClaims = new Map<string, string>();
  /** End-to-bridge encryption, when `encryption.allow` is on (set at start-up). */
  crypto: BridgeCrypto | undefined;
  /** The homeserver's default room version gives room creators unlimited power (v12+, MSC4289). */
  creatorHasImplicitPower = false;
  /** Whether a double-puppet registration lets the bridge act as local users. */
  doublePuppeting = false;

  private readonly portals = new Map<string, Portal>();
  private readonly portalsByRoom = new Map<string, Portal>();
  private readonly portalLoads = new Map<string, Promise<Portal>>();
  private readonly ghosts = new Map<string, Ghost>();
  private readonly logins = new Map<string, UserLogin>();

  constructor(
    readonly config: CoreConfig & { network: unknown },
    readonly db: Database,
    readonly connector: NetworkConnector<unknown>,
  ) {
    this.serverName = config.homeserver.domain;
    this.botMxid = botUserId(config);
    this.api = new MatrixApi(config.homeserver.address, config.appservice.as_token, this.serverName);
    this.media = new MediaBridge(this.api, this.botMxid, config.homeserver.max_upload_size_fallback);
    this.permissions = new Permissions(config.permissions);
    this.intake = new TransactionIntake(db, new MatrixRouter(this));
  }

  enableDoublePuppeting(token: string): void {
    this.doublePuppeting = true;
    this.api.setPuppetToken(token, (mxid) => mxid === this.botMxid || this.isGhost(mxid));
  }

  /** Whether the bridge can act as this Matrix user (a user of its own homeserver). */
  canPuppet(mxid: string): boolean {
    return this.doublePuppeting && mxid.endsWith(`:${this.serverName}`) && !this.isGhost(mxid) && mxid !== this.botMxid;
  }

  get networkConfig(): unknown {
    return this.config.network;
  }

  get commandPrefix(): string {
    return this.config.bridge.command_prefix;
  }

  // ---- ids ----

  ghostMxid(user: RemoteUserId | string): string {
    return ghostUserId(this.config, user);
  }

  ghostUserId(user: RemoteUserId): string {
    return this.ghostMxid(user);
  }

  /** Events waiting in the loaded portals' queues (for metrics). */
  queueDepths(): { total: number; max: number; portals: number } {
    let total = 0;
    let max = 0;
    for (const p of this.portals.values()) {
      total += p.queue.length;
      max = Math.max(max, p.queue.length);
    }
    return { total, max, portals: this.portals.size };
  }

  parseGhostMxid(mxid: string): RemoteUserId | undefined {
    return parseGhostUserId(this.config, mxid) as RemoteUserId | undefined;
  }

  /** Whether a loaded portal owns this room (no database read). */
  isPortalRoomCached(roomId: string): boolean {
    return this.portalsByRoom.has(roomId);
  }

  isGhost(mxid: string): boolean {
    return this.parseGhostMxid(mxid) !== undefined;
  }

  isDoublePuppet(mxid: string): boolean {
    return this.canPuppet(mxid);
  }

  /** The Matrix user standing for a remote user: the owner of a login for that account, or its ghost. */
  matrixIdForRemoteUser(login: UserLogin, user: RemoteUserId): string {
    if (login.client?.isThisUser(user)) return login.userMxid;
    const other = this.logins.get(user);
    if (other) return other.userMxid;
    return this.ghostMxid(user);
  }

  /** The remote id a Matrix user is known by to a login (for mentions), if any. */
  remoteIdForMatrixUser(login: UserLogin, mxid: string): string | undefined {
    const ghost = this.parseGhostMxid(mxid);
    if (ghost) return ghost;
    if (mxid === login.userMxid) return login.id;
    return this.loginsOf(mxid)[0]?.id;
  }

  /**
   * Who sends a remote user's action into the room: the person themselves through double puppeting
   * when it is their own account and the homeserver allows it, otherwise the ghost (joined first).
   */
  async actorFor(portal: Portal, login: UserLogin, user: RemoteUserId, sender?: RemoteSender): Promise<string> {
    if (sender?.isBridgeBot) return this.botMxid;
    const own = sender?.isFromMe || login.client?.isThisUser(user);
    if (own && this.canPuppet(login.userMxid)) return login.userMxid;
    const ghost = await this.getGhost(user);
    if (portal.roomId) await ghost.ensureJoined(portal.roomId);
    return ghost.mxid;
  }

  // ---- ghosts ----

  async getGhost(id: RemoteUserId | string): Promise<Ghost> {
    const cached = this.ghosts.get(id);
    if (cached) return cached;
    let row = await this.db.ghosts.get(id);
    if (!row) {
      row = {
        id, name: null, avatarId: null, avatarMxc: null, nameSet: false, avatarSet: false, isBot: false,
        identifiers: [], metadata: {}, updatedAt: 0,
      };
      await this.db.ghosts.upsert(row);
    }
    const ghost = this.ghosts.get(id) ?? new Ghost(this, row, this.ghostMxid(id));
    this.ghosts.set(id, ghost);
    if (!row.nameSet) await this.refreshGhost(ghost).catch((err) => this.log.debug({ err, ghost: id }, 'ghost info not loaded'));
    return ghost;
  }

  /** The ghost of a person the bridge has already met; undefined (and nothing created) otherwise. */
  async existingGhost(id: RemoteUserId | string): Promise<Ghost | undefined> {
    if (this.ghosts.has(id) || (await this.db.ghosts.get(id))) return this.getGhost(id);
    return undefined;
  }

  private async refreshGhost(ghost: Ghost): Promise<void> {
    const login = [...this.logins.values()].find((l) => l.client?.isLoggedIn());
    if (!login) return;
    await ghost.updateInfo(await login.client.getUserInfo(ghost.id));
  }

  async updateGhostPresence(p: RemotePresence): Promise<void> {
    const ghost = await this.getGhost(p.user);
    await ghost.ensureRegistered();
    await this.api.setPresence(ghost.mxid, p.presence);
  }

  // ---- portals ----

  async getPortal(key: PortalKey): Promise<Portal> {
    const k = portalKeyString(key);
    const cached = this.portals.get(k);
    if (cached) return cached;
    let loading = this.portalLoads.get(k);
    if (!loading) {
      loading = (async () => {
        let row = await this.db.portals.get(key);
        if (!row) {
          await this.db.portals.upsert({ id: key.id, receiver: key.receiver, roomType: 'group' });
          row = (await this.db.portals.get(key))!;
        }
        const portal = new Portal(this, row);
        this.portals.set(k, portal);
        if (row.mxid) this.portalsByRoom.set(row.mxid, portal);
        return portal;
      })().finally(() => this.portalLoads.delete(k));
      this.portalLoads.set(k, loading);
    }
    return loading;
  }

  async getPortalByRoom(roomId: string): Promise<Portal | undefined> {
    const cached = this.portalsByRoom.get(roomId);
    if (cached) return cached;
    const row = await this.db.portals.getByMxid(roomId);
    if (!row) return undefined;
    return this.getPortal({ id: row.id, receiver: row.receiver } as PortalKey);
  }

  registerPortalRoom(portal: Portal): void {
    if (portal.roomId) this.portalsByRoom.set(portal.roomId, portal);
  }

  /** Removes a portal: its rows go, and events still queued on it are handed to a fresh portal. */
  async deletePortal(portal: Portal): Promise<void> {
    portal.deleted = true;
    this.portals.delete(portalKeyString(portal.key));
    if (portal.roomId) this.portalsByRoom.delete(portal.roomId);
    await this.db.portals.delete(portal.key);
  }

  /** Creates the room of a portal the person opened from Matrix (or re-invites them); returns it. */
  async openPortal(login: UserLogin, key: PortalKey, info?: ChatInfo): Promise<string> {
    const portal = await this.getPortal(key);
    return portal.runInQueue(async () => {
      if (portal.roomId) {
        await this.api.invite(portal.roomId, login.userMxid, this.botMxid);
        return portal.roomId;
      }
      return ensureRoom(portal, login, info);
    });
  }

  /** The logins of Matrix users that are in this portal. */
  loginsInPortal(portal: Portal): UserLogin[] {
    if (portal.row.receiver) {
      const l = this.logins.get(portal.row.receiver);
      return l ? [l] : [];
    }
    return [...this.logins.values()];
  }

  async queueRemoteEvent(login: UserLogin, evt: RemoteEvent): Promise<QueuedEvent> {
    const portal = await this.getPortal(evt.portal);
    let done!: () => void;
    const handled = new Promise<void>((resolve) => (done = resolve));
    await portal.queue.push({ kind: 'remote', login, evt, done });
    return { handled };
  }

  // ---- users and logins ----

  getLogin(id: UserLoginId | string): UserLogin | undefined {
    return this.logins.get(id);
  }

  loginsOf(mxid: string): UserLogin[] {
    return [...this.logins.values()].filter((l) => l.userMxid === mxid);
  }

  allLogins(): UserLogin[] {
    return [...this.logins.values()];
  }

  /** Loads a stored or new login: builds its NetworkAPI and starts connecting. */
  async activateLogin(row: LoginRow): Promise<UserLogin> {
    const old = this.logins.get(row.id);
    if (old) await old.client.disconnect().catch(() => undefined);
    const login = new UserLogin(this, row);
    login.client = this.connector.loadUserLogin(login);
    this.logins.set(row.id, login);
    login.setBridgeState({ stateEvent: 'CONNECTING' });
    login.client.connect();
    return login;
  }

  userHandle(mxid: string): UserHandle {
    return {
      mxid,
      newLogin: async (data: NewLoginData) => {
        await this.db.users.getOrCreate(mxid);
        const existing = await this.db.logins.get(data.id);
        if (existing && existing.userMxid !== mxid) {
          throw new Error('This account is already logged in by another Matrix user');
        }
        await this.db.logins.upsert({
          id: data.id, userMxid: mxid, remoteName: data.remoteName, spaceRoom: existing?.spaceRoom ?? null,
          metadata: data.metadata, createdAt: existing?.createdAt ?? Date.now(),
        });
        const row = (await this.db.logins.get(data.id))!;
        const login = await this.activateLogin(row);
        await this.spaces.ensureSpace(login).catch((err) => this.log.warn({ err }, 'personal space not created'));
        return login;
      },
    };
  }

  async deleteLogin(login: UserLogin, remote: boolean): Promise<void> {
    if (remote) await login.client.logoutRemote().catch((err) => login.log.warn({ err }, 'remote logout failed'));
    await login.client.disconnect().catch(() => undefined);
    this.logins.delete(login.id);
    this.states.forget(login.id);
    await this.db.logins.delete(login.id);
  }

  /** Sends a notice to the user's management room, if they have one. */
  async notifyUser(mxid: string, text: string): Promise<void> {
    const user = await this.db.users.get(mxid);
    if (!user?.managementRoom) return;
    await this.sendNotice(user.managementRoom, text);
  }

  async sendNotice(roomId: string, text: string, html?: string): Promise<string> {
    const content: Record<string, unknown> = { msgtype: 'm.notice', body: text };
    if (html) Object.assign(content, { format: 'org.matrix.custom.html', formatted_body: html });
    return this.api.sendEvent(roomId, 'm.room.message', content, { asUser: this.botMxid, txnId: `n.${Date.now()}.${Math.random().toString(36).slice(2)}` });
  }

  // ---- lifecycle ----

  /** Reads the homeserver's default room version to know how to write creator power levels. */
  async detectRoomVersion(): Promise<void> {
    try {
      const caps = await this.api.request<{ capabilities?: { 'm.room_versions'?: { default?: string } } }>('GET', '/_matrix/client/v3/capabilities', { asUser: this.botMxid });
      const v = caps.capabilities?.['m.room_versions']?.default ?? '10';
      this.creatorHasImplicitPower = /^\d+$/.test(v) ? Number(v) >= 12 : v.includes('msc4289');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not read the default room version');
    }
  }

  /** Loads every stored login and connects it, then replays queued Matrix events. */
  async startLogins(): Promise<void> {
    for (const row of await this.db.logins.listAll()) {
      await this.activateLogin(row).catch((err) => this.log.error({ err, login: row.id }, 'login could not be loaded'));
    }
  }

  /** Catch-up for every portal of a login, in each portal's queue (called on (re)connect). */
  async catchUpLogin(login: UserLogin): Promise<void> {
    for (const up of await this.db.userPortals.listForLogin(login.id)) {
      const portal = await this.getPortal({ id: up.portalId, receiver: up.portalReceiver } as PortalKey);
      void portal.runInQueue(() => catchUp(portal, login)).catch((err) => portal.log.warn({ err }, 'catch-up failed'));
    }
  }

  async stop(): Promise<void> {
    this.intake.stopped = true;
    this.disappearing.stop();
    await Promise.all([...this.logins.values()].map((l) => l.client.disconnect().catch(() => undefined)));
  }

  /** Resolves when every portal queue is idle and its trailing sends are done (tests, shutdown). */
  async idle(): Promise<void> {
    await this.intake.drained();
    await Promise.all([...this.portals.values()].map((p) => p.settled()));
    // Again: the portals gave their done marks while settling, and they are written in batches.
    await this.intake.drained();
  }
}
