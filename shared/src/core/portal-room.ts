/**
 * Creating a portal's Matrix room and keeping its state (name, topic, avatar, members, power
 * levels) in line with the network's ChatInfo.
 */
import type { ChatAvatar, ChatInfo, ChatMember, RemoteUserId } from '../network/index.js';
import type { Portal } from './portal.js';
import type { UserLogin } from './user-login.js';
import { linkChildren, setParent } from './portal-space.js';
import { adoptRoom, dmClaimKey } from './ghost-invite.js';

const BOT_LEVEL = 100;
const USER_LEVEL = 50;

export function bridgeInfoContent(portal: Portal, name = portal.row.name): Record<string, unknown> {
  const b = portal.bridge;
  const n = b.connector.name;
  return {
    bridgebot: b.botMxid,
    creator: b.botMxid,
    protocol: { id: n.protocolId, displayname: n.displayName, external_url: n.networkUrl, ...(n.networkIcon ? { avatar_url: n.networkIcon } : {}) },
    channel: { id: portal.row.id, displayname: name ?? undefined },
    ...(portal.row.receiver ? { 'net.tributary.receiver': portal.row.receiver } : {}),
  };
}

export function bridgeStateKey(portal: Portal): string {
  return `net.tributary://${portal.bridge.connector.name.networkId}/${encodeURIComponent(portal.row.id)}`;
}

/** Creates the room if it does not exist; returns its id. Runs inside the portal queue. */
export async function ensureRoom(portal: Portal, login: UserLogin, given?: ChatInfo): Promise<string> {
  if (portal.roomId) return portal.roomId;
  const b = portal.bridge;
  const info = given ?? (await login.client.getChatInfo(portal.key));
  const isDm = info.type === 'dm';
  const members = (info.members ?? []).filter((m) => (m.membership ?? 'join') === 'join');
  const ghostMembers = members.filter((m) => !login.client.isThisUser(m.user));
  const dmPartner = isDm ? (info.otherUser ?? ghostMembers[0]?.user) : undefined;
  // A DM the person started by inviting the ghost into a room of their own: that room it is.
  const claim = dmPartner ? dmClaimKey(login.id, dmPartner) : undefined;
  const claimed = claim ? b.dmClaims.get(claim) : undefined;
  if (claim && claimed) {
    b.dmClaims.delete(claim);
    return adoptRoom(portal, login, claimed, dmPartner!);
  }

  // Room version 12 (MSC4289) gives the creator unlimited power and refuses it in `users`; older
  // versions need the bot listed explicitly.
  const levels: Record<string, number> = { [login.userMxid]: USER_LEVEL };
  if (!b.creatorHasImplicitPower) levels[b.botMxid] = BOT_LEVEL;
  for (const m of ghostMembers) if (m.powerLevel) levels[b.ghostMxid(m.user)] = m.powerLevel;
  const own = members.find((m) => login.client.isThisUser(m.user));
  if (own?.powerLevel && own.powerLevel > USER_LEVEL) levels[login.userMxid] = Math.min(own.powerLevel, 99);

  const initialState: Array<Record<string, unknown>> = [
    // The row gets the name only after the room exists; the channel name is needed now.
    { type: 'm.bridge', state_key: bridgeStateKey(portal), content: bridgeInfoContent(portal, info.name ?? null) },
    { type: 'uk.half-shot.bridge', state_key: bridgeStateKey(portal), content: bridgeInfoContent(portal, info.name ?? null) },
  ];
  if (info.topic) initialState.push({ type: 'm.room.topic', state_key: '', content: { topic: info.topic } });
  // Spaces carry no messages, so they are never encrypted.
  const encrypted = b.config.encryption.allow && (b.config.encryption.default || b.config.encryption.require) && info.type !== 'space';
  if (encrypted) initialState.push({ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } });
  const name = isDm ? undefined : info.name;

  const roomId = await b.api.createRoom({
    visibility: 'private',
    preset: 'private_chat',
    is_direct: isDm,
    invite: [login.userMxid],
    ...(name ? { name } : {}),
    // A space portal (a community) is a Matrix space; its children are linked by portal-space.ts.
    creation_content: { 'm.federate': b.config.bridge.federate_rooms, ...(info.type === 'space' ? { type: 'm.space' } : {}) },
    initial_state: initialState,
    power_level_content_override: {
      users: levels,
      events: {
        'm.room.name': info.powerLevels?.name ?? 0, 'm.room.topic': info.powerLevels?.topic ?? 0, 'm.room.avatar': info.powerLevels?.avatar ?? 0, 'm.reaction': 0, 'm.room.redaction': 0,
        // The person (USER_LEVEL) may change contacts' levels, which makes them admins on the
        // network if the network lets them; Matrix keeps anyone from going above their own level.
        'm.room.power_levels': USER_LEVEL,
      },
      invite: info.powerLevels?.invite ?? 0,
      kick: info.powerLevels?.kick ?? 50,
      state_default: 50,
      events_default: 0,
      users_default: 0,
    },
  }, b.botMxid);

  await portal.update({
    mxid: roomId, roomType: info.type, name: info.name ?? null, nameSet: !!name, topic: info.topic || null,
    topicSet: !!info.topic, otherUserId: dmPartner ?? null,
    disappearType: info.disappear?.type ?? null, disappearTimerMs: info.disappear?.timerMs ?? null, encrypted,
  });
  b.registerPortalRoom(portal);
  portal.log.info({ room: roomId }, 'created portal room');

  // With double puppeting the person's invite is accepted for them, so their own remote messages
  // can be sent as them right away.
  if (b.canPuppet(login.userMxid)) await b.api.join(roomId, login.userMxid).catch((err) => portal.log.warn({ err }, 'double-puppet join failed'));
  for (const m of ghostMembers) await joinGhost(portal, m);
  if (info.avatar) await setRoomAvatar(portal, info.avatar);
  await b.db.userPortals.upsert({ loginId: login.id, portalId: portal.row.id, portalReceiver: portal.row.receiver, userMxid: login.userMxid, inSpace: false, preferred: true });
  await b.spaces.addPortal(login, portal).catch((err) => portal.log.warn({ err }, 'could not add the portal to the space'));
  await setParent(portal, login, info.parent, true);
  await linkChildren(portal);
  return roomId;
}

async function joinGhost(portal: Portal, m: ChatMember): Promise<void> {
  const ghost = await portal.bridge.getGhost(m.user);
  if (m.displayName && !ghost.row.nameSet) await ghost.updateInfo({ name: m.displayName }).catch(() => undefined);
  await ghost.ensureJoined(portal.roomId!);
}

export async function setRoomAvatar(portal: Portal, avatar: ChatAvatar): Promise<void> {
  const b = portal.bridge;
  if (!portal.roomId || (avatar.id === portal.row.avatarId && portal.row.avatarSet)) return;
  let url = '';
  if (!avatar.remove) {
    if (!avatar.source) return;
    url = (await b.media.upload(avatar.source, b.botMxid)).url;
  }
  await b.api.sendState(portal.roomId, 'm.room.avatar', '', avatar.remove ? {} : { url }, b.botMxid);
  await portal.update({ avatarId: avatar.remove ? null : avatar.id, avatarMxc: url || null, avatarSet: true });
}

/** Applies name/topic/avatar/members from the network to an existing room, sent as `sender`. */
export async function applyChatInfo(portal: Portal, login: UserLogin, info: Partial<ChatInfo>, sender?: RemoteUserId): Promise<void> {
  const b = portal.bridge;
  const roomId = portal.roomId;
  if (!roomId) return;
  const actor = sender ? await b.actorFor(portal, login, sender) : b.botMxid;
  if (info.name !== undefined && info.name !== portal.row.name && portal.row.roomType !== 'dm') {
    await sendStateAs(portal, actor, 'm.room.name', { name: info.name });
    await portal.update({ name: info.name, nameSet: true });
    // The bridge info names the channel too; keep it current for clients that show it.
    for (const type of ['m.bridge', 'uk.half-shot.bridge']) {
      await b.api.sendState(roomId, type, bridgeStateKey(portal), bridgeInfoContent(portal), b.botMxid).catch(() => undefined);
    }
  }
  // An empty topic clears one the room has, and is no change for a room that never had one.
  if (info.topic !== undefined && (info.topic || null) !== portal.row.topic) {
    await sendStateAs(portal, actor, 'm.room.topic', { topic: info.topic });
    await portal.update({ topic: info.topic || null, topicSet: true });
  }
  if (info.avatar) await setRoomAvatar(portal, info.avatar);
  if (info.disappear !== undefined) {
    await portal.update({ disappearType: info.disappear?.type ?? null, disappearTimerMs: info.disappear?.timerMs ?? null });
  }
  if (info.members) {
    for (const m of info.members) {
      if (login.client.isThisUser(m.user)) continue;
      if ((m.membership ?? 'join') === 'join') await joinGhost(portal, m);
    }
    if (info.membersComplete) {
      const keep = new Set(info.members.filter((m) => (m.membership ?? 'join') === 'join').map((m) => b.ghostMxid(m.user)));
      for (const mxid of await b.api.joinedMembers(roomId, b.botMxid)) {
        if (b.isGhost(mxid) && !keep.has(mxid)) await b.api.leave(roomId, mxid).catch(() => undefined);
      }
    }
  }
}

/** Sends room state as a ghost; falls back to the bot when the ghost lacks the power level. */
export async function sendStateAs(portal: Portal, actor: string, type: string, content: Record<string, unknown>): Promise<void> {
  const b = portal.bridge;
  try {
    await b.api.sendState(portal.roomId!, type, '', content, actor);
  } catch {
    await b.api.sendState(portal.roomId!, type, '', content, b.botMxid);
  }
}

/** Power levels a remote role maps to, set by the bot. */
export async function setMemberPowerLevels(portal: Portal, members: ChatMember[]): Promise<void> {
  const b = portal.bridge;
  if (!portal.roomId) return;
  const pl = (await b.api.getState<{ users?: Record<string, number> }>(portal.roomId, 'm.room.power_levels', '', b.botMxid)) ?? {};
  const users = { ...(pl.users ?? {}) };
  let changed = false;
  for (const m of members) {
    if (m.powerLevel === undefined) continue;
    const mxid = b.ghostMxid(m.user);
    if ((users[mxid] ?? 0) !== m.powerLevel) {
      users[mxid] = m.powerLevel;
      changed = true;
    }
  }
  if (changed) await b.api.sendState(portal.roomId, 'm.room.power_levels', '', { ...pl, users }, b.botMxid);
}
