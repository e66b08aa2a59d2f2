/**
 * ChatInfo of WhatsApp chats: groups from Baileys' GroupMetadata, DMs from the other person's id.
 * Pure apart from LID resolution, so the event handler can reuse it for group updates.
 */
import type { GroupMetadata, GroupParticipant } from 'baileys';
import type { ChatAvatar, ChatInfo, ChatMember, RemoteUserId, UserLoginId } from '@tributary/core/network/index';
import { userIdFromJid, type LidResolver } from './ids.js';
import { recordLidMappings } from './lid-resolver.js';

/** Matrix power levels of WhatsApp group roles. */
export const POWER_ADMIN = 50;
export const POWER_SUPERADMIN = 75;

export function powerLevelOf(p: Pick<GroupParticipant, 'admin' | 'isAdmin' | 'isSuperAdmin'>): number {
  if (p.admin === 'superadmin' || p.isSuperAdmin) return POWER_SUPERADMIN;
  if (p.admin === 'admin' || p.isAdmin) return POWER_ADMIN;
  return 0;
}

/** A disappearing-message timer in seconds (0 or absent: off) as ChatInfo's `disappear`. */
export function disappearOf(seconds: number | null | undefined): ChatInfo['disappear'] {
  return seconds && seconds > 0 ? { type: 'after_send', timerMs: seconds * 1000 } : null;
}

/**
 * The member of a participant: its phone number when WhatsApp sent one with the LID (v7 groups in
 * LID addressing mode), otherwise whatever `id` resolves to.
 */
async function memberOf(p: GroupParticipant, own: UserLoginId, lids: LidResolver): Promise<ChatMember | undefined> {
  if (p.lid && p.phoneNumber) await recordLidMappings(lids, [{ lid: p.lid, pn: p.phoneNumber }]);
  if (p.id && p.phoneNumber && p.id !== p.phoneNumber) await recordLidMappings(lids, [{ lid: p.id, pn: p.phoneNumber }]);
  const user = (p.phoneNumber ? await userIdFromJid(p.phoneNumber, lids) : undefined) ?? (await userIdFromJid(p.id, lids));
  if (!user) return undefined;
  const name = p.name ?? p.notify ?? p.verifiedName;
  return {
    user,
    membership: 'join',
    powerLevel: powerLevelOf(p),
    ...((user as string) === (own as string) ? { isFromMe: true } : {}),
    ...(name ? { displayName: name } : {}),
  };
}

/**
 * A group's ChatInfo. A community (`isCommunity`) is a space: its member list from WhatsApp is not
 * the whole community, so it is not complete. A group linked to a community (`linkedParent`, the
 * community's announcement group included) names the community's portal as its parent.
 */
export async function groupChatInfo(meta: GroupMetadata, own: UserLoginId, lids: LidResolver, avatar?: ChatAvatar): Promise<ChatInfo> {
  const members: ChatMember[] = [];
  const seen = new Set<string>();
  for (const p of meta.participants) {
    const m = await memberOf(p, own, lids);
    if (!m || seen.has(m.user)) continue;
    seen.add(m.user);
    members.push(m);
  }
  // `restrict`: only admins edit the group info; `memberAddMode` false: only admins add people.
  const infoLevel = meta.restrict ? POWER_ADMIN : 0;
  const community = meta.isCommunity === true;
  return {
    type: community ? 'space' : 'group',
    name: meta.subject,
    ...(meta.desc !== undefined ? { topic: meta.desc } : {}),
    ...(avatar ? { avatar } : {}),
    members,
    membersComplete: !community,
    disappear: disappearOf(meta.ephemeralDuration),
    ...(meta.linkedParent && !community ? { parent: meta.linkedParent } : {}),
    powerLevels: {
      name: infoLevel, topic: infoLevel, avatar: infoLevel,
      invite: meta.memberAddMode ? 0 : POWER_ADMIN,
      kick: POWER_ADMIN,
    },
  };
}

/** A DM's room takes the other person's picture from their ghost, so no avatar is set here. */
export function dmChatInfo(other: RemoteUserId, own: UserLoginId, otherName?: string): ChatInfo {
  return {
    type: 'dm',
    otherUser: other,
    members: [
      { user: other, membership: 'join', ...(otherName ? { displayName: otherName } : {}) },
      { user: own as string as RemoteUserId, membership: 'join', isFromMe: true },
    ],
    membersComplete: true,
  };
}
