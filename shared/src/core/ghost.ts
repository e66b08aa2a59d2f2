/** A remote person as a Matrix user: registered on demand, profile kept in sync with the network. */
import type { GhostRow } from '../db/queries/ghosts.js';
import type { ChatAvatar, RemoteUserId, UserInfo } from '../network/index.js';
import type { Bridge } from './bridge.js';

export class Ghost {
  private registered = false;
  private readonly joined = new Set<string>();

  constructor(private readonly bridge: Bridge, public row: GhostRow, readonly mxid: string) {}

  get id(): RemoteUserId {
    return this.row.id as RemoteUserId;
  }

  get displayName(): string {
    return this.row.name ?? this.row.id;
  }

  async ensureRegistered(): Promise<void> {
    if (this.registered) return;
    await this.bridge.api.register(this.mxid.slice(1, this.mxid.indexOf(':')));
    this.registered = true;
  }

  /** Joins the ghost to a room the bot can invite it to; cached per process. */
  async ensureJoined(roomId: string): Promise<void> {
    if (this.joined.has(roomId)) return;
    await this.ensureRegistered();
    try {
      await this.bridge.api.join(roomId, this.mxid);
    } catch {
      await this.bridge.api.invite(roomId, this.mxid, this.bridge.botMxid);
      await this.bridge.api.join(roomId, this.mxid);
    }
    this.joined.add(roomId);
  }

  forgetRoom(roomId: string): void {
    this.joined.delete(roomId);
  }

  /** Updates name and avatar when they changed; the row is saved afterwards. */
  async updateInfo(info: UserInfo): Promise<void> {
    await this.ensureRegistered();
    const patch: Partial<GhostRow> = {};
    if (info.name && (info.name !== this.row.name || !this.row.nameSet)) {
      await this.bridge.api.setDisplayName(this.mxid, info.name);
      patch.name = info.name;
      patch.nameSet = true;
    }
    if (info.avatar) await this.updateAvatar(info.avatar, patch);
    if (info.identifiers) patch.identifiers = info.identifiers;
    if (info.isBot !== undefined) patch.isBot = info.isBot;
    if (Object.keys(patch).length) {
      this.row = { ...this.row, ...patch, updatedAt: Date.now() };
      await this.bridge.db.ghosts.update(this.row.id, { ...patch, updatedAt: this.row.updatedAt });
    }
  }

  private async updateAvatar(avatar: ChatAvatar, patch: Partial<GhostRow>): Promise<void> {
    if (avatar.remove) {
      if (this.row.avatarMxc) {
        await this.bridge.api.setAvatarUrl(this.mxid, '');
        Object.assign(patch, { avatarId: null, avatarMxc: null, avatarSet: true });
      }
      return;
    }
    if (avatar.id === this.row.avatarId && this.row.avatarSet) return;
    if (!avatar.source) return;
    const up = await this.bridge.media.upload(avatar.source, this.bridge.botMxid);
    await this.bridge.api.setAvatarUrl(this.mxid, up.url);
    Object.assign(patch, { avatarId: avatar.id, avatarMxc: up.url, avatarSet: true });
  }
}
