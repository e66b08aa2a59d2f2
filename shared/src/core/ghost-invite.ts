/**
 * Starting a direct chat from Matrix the way clients do it: create a room and invite the contact's
 * ghost. The ghost accepts, the chat is opened on the network (the connector's resolveIdentifier
 * with createChat), and the person's room becomes that chat's portal; the bot joins it. If the chat
 * already has a room, the ghost says where it is and leaves, and the person is invited there.
 * Refusals (not logged in, a network that cannot start chats, an unknown contact) leave the invite
 * rejected with the reason.
 */
import { isIdentifierResolving } from '../network/index.js';
import type { MatrixRoomEvent } from '../matrix/transaction.js';
import type { Bridge } from './bridge.js';
import { bridgeInfoContent, bridgeStateKey } from './portal-room.js';
import type { Portal } from './portal.js';
import type { UserLogin } from './user-login.js';

/** Whether `ev` is a person inviting a ghost into a room the bridge does not know. */
export function isGhostInvite(bridge: Bridge, ev: MatrixRoomEvent): boolean {
  return ev.type === 'm.room.member' && ev.content.membership === 'invite' && typeof ev.state_key === 'string'
    && bridge.isGhost(ev.state_key) && !bridge.isGhost(ev.sender) && ev.sender !== bridge.botMxid;
}

export async function handleGhostInvite(bridge: Bridge, ev: MatrixRoomEvent): Promise<void> {
  const ghost = ev.state_key!;
  const roomId = ev.room_id;
  const api = bridge.api;
  const network = bridge.connector.name.displayName;
  const refuse = (why: string) => api.leave(roomId, ghost, why).catch((err: Error) => bridge.log.debug({ err: err.message }, 'ghost could not reject an invite'));
  const login = bridge.permissions.can(ev.sender, 'user') ? bridge.loginsOf(ev.sender)[0] : undefined;
  if (!login) return refuse(`You are not logged in to ${network} on this bridge`);
  if (!isIdentifierResolving(login.client)) return refuse(`${network} chats cannot be started from Matrix`);
  const remote = bridge.parseGhostMxid(ghost)!;
  // A contact the bridge has not met yet has no Matrix account until now.
  await (await bridge.getGhost(remote)).ensureRegistered();
  await api.join(roomId, ghost);
  // Opening the chat may bring its first remote event before the call returns; the room is claimed
  // first, so the portal that event creates adopts this room instead of making another (ensureRoom).
  const claim = dmClaimKey(login.id, remote);
  bridge.dmClaims.set(claim, roomId);
  const res = await login.client.resolveIdentifier(remote, true).catch((err: Error) => {
    bridge.log.warn({ err: err.message }, 'starting a chat from a ghost invite failed');
    return null;
  });
  if (!res?.chat) {
    bridge.dmClaims.delete(claim);
    return refuse(`Could not start a ${network} chat with this contact`);
  }
  const portal = await bridge.getPortal(res.chat.portal);
  await portal.runInQueue(async () => {
    if (bridge.dmClaims.get(claim) === roomId) {
      bridge.dmClaims.delete(claim);
      if (!portal.roomId) return adoptRoom(portal, login, roomId, remote);
    }
    if (portal.roomId === roomId) return;
    await api.sendEvent(roomId, 'm.room.message', {
      msgtype: 'm.notice', body: `You already have a chat with me here: https://matrix.to/#/${portal.roomId}`,
    }, { asUser: ghost, txnId: `dup-dm.${ev.event_id}` }).catch(() => undefined);
    await api.leave(roomId, ghost).catch(() => undefined);
    if (portal.roomId) await api.invite(portal.roomId, login.userMxid, bridge.botMxid).catch(() => undefined);
  });
}

export function dmClaimKey(loginId: string, remote: string): string {
  return `${loginId}\n${remote}`;
}

/**
 * Makes the person's room (the ghost already in it) the DM portal's room: the bot joins, and the
 * portal records it. Runs in the portal's queue.
 */
export async function adoptRoom(portal: Portal, login: UserLogin, roomId: string, remote: string): Promise<string> {
  const bridge = portal.bridge;
  const api = bridge.api;
  // The bot joins too: it sends notices and statuses, and redacts, in every portal.
  await api.invite(roomId, bridge.botMxid, bridge.ghostMxid(remote)).catch(() => undefined);
  await api.join(roomId, bridge.botMxid);
  await portal.update({ mxid: roomId, roomType: 'dm', otherUserId: remote });
  bridge.registerPortalRoom(portal);
  await bridge.db.userPortals.upsert({
    loginId: login.id, portalId: portal.row.id, portalReceiver: portal.row.receiver, userMxid: login.userMxid, inSpace: false, preferred: true,
  });
  // The room is the person's: the bot may lack the power to set state, which only costs the label.
  for (const type of ['m.bridge', 'uk.half-shot.bridge']) {
    await api.sendState(roomId, type, bridgeStateKey(portal), bridgeInfoContent(portal), bridge.botMxid).catch(() => undefined);
  }
  await bridge.spaces.addPortal(login, portal).catch(() => undefined);
  portal.log.info({ room: roomId }, 'a direct chat started by a ghost invite became the portal');
  return roomId;
}
