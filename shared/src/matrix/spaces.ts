/**
 * A personal space per login that holds its portals, so a person with several accounts sees each
 * account's chats grouped under one entry in their client.
 */
import type { Bridge } from '../core/bridge.js';
import type { Portal } from '../core/portal.js';
import type { UserLogin } from '../core/user-login.js';

export class Spaces {
  constructor(private readonly bridge: Bridge) {}

  async ensureSpace(login: UserLogin): Promise<string | undefined> {
    const b = this.bridge;
    if (!b.config.bridge.personal_space) return undefined;
    if (login.spaceRoom) return login.spaceRoom;
    const roomId = await b.api.createRoom({
      visibility: 'private', preset: 'private_chat', name: `${b.connector.name.displayName} (${login.remoteName})`,
      topic: `Your ${b.connector.name.displayName} chats, bridged by Tributary`,
      invite: [login.userMxid], creation_content: { type: 'm.space' },
      power_level_content_override: { users: { ...(b.creatorHasImplicitPower ? {} : { [b.botMxid]: 100 }), [login.userMxid]: 50 }, events_default: 100 },
    }, b.botMxid);
    login.spaceRoom = roomId;
    await b.db.logins.setSpaceRoom(login.id, roomId);
    return roomId;
  }

  async addPortal(login: UserLogin, portal: Portal): Promise<void> {
    const space = await this.ensureSpace(login);
    if (!space || !portal.roomId) return;
    const via = [this.bridge.serverName];
    await this.bridge.api.sendState(space, 'm.space.child', portal.roomId, { via }, this.bridge.botMxid);
    await this.bridge.db.userPortals.setInSpace(login.id, portal.key, true);
  }
}
