/**
 * ChatInfo and UserInfo from what the directory knows: DM or group, members with admins as power
 * levels, name, picture and description; message requests are marked in the topic, since Matrix
 * has no folder for them, and so are end-to-end encrypted chats (see e2ee.ts).
 */
import { Readable } from 'node:stream';
import type { ChatAvatar, ChatInfo, ChatMember, UserInfo, UserLoginId } from '@tributary/core/network/index';
import { makeMetaUserId, platformName, type MetaPlatform } from '../msgconv/meta-ids.js';
import type { MetaDirectory, MetaParticipant } from './directory.js';
import { e2eeNoticeText } from './e2ee.js';
import { pictureId } from './ids.js';

/** Power levels of Meta roles (the core's convention: 50 admin, 75 owner/super admin). */
export const META_ROLE_LEVEL = { member: 0, admin: 50, superAdmin: 75 } as const;

export type MediaDownloader = (url: string) => Promise<Uint8Array>;

export function requestTopicNote(platform: MetaPlatform, prefix = `!${platform}`): string {
  return `This chat is a message request on ${platformName(platform)}: the sender is not in your chats yet. Send "${prefix} accept" (or reply) to accept it, "${prefix} decline" to delete it.`;
}

function mimeOfUrl(url: string): string {
  const path = url.split('?')[0]!.toLowerCase();
  if (path.endsWith('.png')) return 'image/png';
  if (path.endsWith('.webp')) return 'image/webp';
  if (path.endsWith('.gif')) return 'image/gif';
  return 'image/jpeg';
}

export function pictureAvatar(url: string | undefined, download: MediaDownloader): ChatAvatar | undefined {
  if (!url) return undefined;
  return {
    id: pictureId(url),
    source: { open: async () => Readable.from([Buffer.from(await download(url))]), mimetype: mimeOfUrl(url), filename: 'avatar' },
  };
}

function levelOf(p: MetaParticipant): number {
  if (p.isSuperAdmin) return META_ROLE_LEVEL.superAdmin;
  return p.isAdmin ? META_ROLE_LEVEL.admin : META_ROLE_LEVEL.member;
}

export function memberOf(p: MetaParticipant, selfId: string): ChatMember {
  return {
    user: makeMetaUserId(p.contactId), membership: 'join', powerLevel: levelOf(p),
    ...(p.contactId === selfId ? { isFromMe: true } : {}),
    ...(p.nickname ? { displayName: p.nickname } : {}),
  };
}

export interface ChatInfoDeps {
  dir: MetaDirectory;
  platform: MetaPlatform;
  login: UserLoginId;
  download: MediaDownloader;
  /** bridge.command_prefix, named in a request's topic. */
  commandPrefix?: string;
}

export function chatInfoOf(threadKey: string, deps: ChatInfoDeps): ChatInfo {
  const { dir } = deps;
  const thread = dir.threads.get(threadKey);
  const isGroup = dir.isGroup(threadKey) ?? false;
  const note = dir.isMessageRequest(threadKey) ? requestTopicNote(deps.platform, deps.commandPrefix) : undefined;
  // An encrypted chat says so in its topic too: the one notice scrolls away, the topic stays.
  const e2ee = dir.isEncrypted(threadKey) ? e2eeNoticeText(deps.platform) : undefined;
  // A known thread always states its topic, so a line that no longer applies (an accepted
  // request) is cleared; an unknown one leaves the room's topic alone.
  const joined = [thread?.description, note, e2ee].filter(Boolean).join('\n\n');
  const topic = joined || (thread ? '' : undefined);
  if (!isGroup) {
    const members: ChatMember[] = [
      { user: makeMetaUserId(dir.selfId), isFromMe: true, membership: 'join' },
      { user: makeMetaUserId(threadKey), membership: 'join' },
    ];
    return { type: 'dm', otherUser: makeMetaUserId(threadKey), members, membersComplete: true, ...(topic !== undefined ? { topic } : {}) };
  }
  const participants = [...(dir.participants.get(threadKey)?.values() ?? [])];
  const info: ChatInfo = {
    type: 'group',
    members: participants.map((p) => memberOf(p, dir.selfId)),
    membersComplete: participants.length > 0,
  };
  const name = thread?.name ?? groupNameFromMembers(participants, deps);
  if (name) info.name = name;
  if (topic !== undefined) info.topic = topic;
  const avatar = pictureAvatar(thread?.pictureUrl, deps.download);
  if (avatar) info.avatar = avatar;
  return info;
}

/** Meta shows an unnamed group by its members' first names, as we do. */
function groupNameFromMembers(participants: MetaParticipant[], deps: ChatInfoDeps): string | undefined {
  const names = participants
    .filter((p) => p.contactId !== deps.dir.selfId)
    .map((p) => deps.dir.contacts.get(p.contactId))
    .map((c) => c?.firstName ?? c?.name)
    .filter((n): n is string => !!n);
  return names.length ? names.slice(0, 5).join(', ') : undefined;
}

export function userInfoOf(userId: string, deps: Pick<ChatInfoDeps, 'dir' | 'download'>): UserInfo {
  const c = deps.dir.contacts.get(userId);
  if (!c) return {};
  const info: UserInfo = {};
  if (c.name) info.name = c.name;
  if (c.secondaryName) info.identifiers = [c.secondaryName];
  const avatar = pictureAvatar(c.pictureUrl, deps.download);
  if (avatar) info.avatar = avatar;
  return info;
}
