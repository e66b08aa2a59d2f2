/**
 * One logged-in network account. Implements the handle a connector reports through, and holds the
 * NetworkAPI the connector built for it.
 */
import type { Logger } from '../logging.js';
import type {
  BridgeStateUpdate, MessageId, NetworkAPI, PartId, PortalKey, QueuedEvent, RemoteEvent, RemotePresence, RemoteUserId,
  UserInfo, UserLoginHandle, UserLoginId,
} from '../network/index.js';
import type { LoginRow } from '../db/queries/logins.js';
import type { Bridge } from './bridge.js';
import { ProgressNotices } from './progress-notices.js';

export class UserLogin implements UserLoginHandle {
  client!: NetworkAPI;
  readonly log: Logger;
  private meta: Record<string, unknown>;
  private readonly notices: ProgressNotices;

  constructor(private readonly bridge: Bridge, private row: LoginRow) {
    this.log = bridge.log.child({ login: row.id });
    this.meta = { ...(row.metadata ?? {}) };
    this.notices = new ProgressNotices(bridge, row.userMxid);
  }

  get id(): UserLoginId {
    return this.row.id as UserLoginId;
  }
  get userMxid(): string {
    return this.row.userMxid;
  }
  get remoteName(): string {
    return this.row.remoteName;
  }
  get spaceRoom(): string | null {
    return this.row.spaceRoom;
  }
  set spaceRoom(roomId: string | null) {
    this.row = { ...this.row, spaceRoom: roomId };
  }
  get metadata(): Readonly<Record<string, unknown>> {
    return this.meta;
  }

  async saveMetadata(patch: Record<string, unknown>): Promise<void> {
    this.meta = { ...this.meta, ...patch };
    await this.bridge.db.logins.updateMetadata(this.row.id, this.meta);
  }

  queueRemoteEvent(evt: RemoteEvent): Promise<QueuedEvent> {
    return this.bridge.queueRemoteEvent(this, evt);
  }

  updatePresence(p: RemotePresence): void {
    this.bridge.updateGhostPresence(p).catch((err) => this.log.debug({ err }, 'presence update failed'));
  }

  async updateGhost(user: RemoteUserId, info: UserInfo): Promise<void> {
    try {
      const ghost = await this.bridge.existingGhost(user);
      await ghost?.updateInfo(info);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, ghost: user }, 'ghost profile update failed');
    }
  }

  async sendProgressNotice(key: string, text: string): Promise<void> {
    await this.notices.post(key, text).catch((err: unknown) => this.log.warn({ err: (err as Error).message, key }, 'progress notice failed'));
  }

  async getMessageMetadata(portal: PortalKey, id: MessageId, part = '' as PartId): Promise<Readonly<Record<string, unknown>> | undefined> {
    return (await this.bridge.db.messages.getPart(portal, id, part))?.metadata;
  }

  setBridgeState(state: BridgeStateUpdate): void {
    this.bridge.states.set(this, state);
  }

  async handleRemoteLogout(reason: string): Promise<void> {
    this.setBridgeState({ stateEvent: 'LOGGED_OUT', error: 'remote-logout', message: reason });
  }
}
