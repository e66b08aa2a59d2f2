/**
 * Group events -> RemoteEvents: subject/description changes, participant changes (add, remove,
 * promote, demote) and community links. Being added to a group resyncs (and creates) its portal.
 */
import type { ChatAvatar, ChatInfoChange, ChatMember, PortalKey, RemoteEvent, RemoteSender, RemoteUserId } from '@tributary/core/network/index';
import { isJidGroup, proto, type BaileysEventMap, type GroupMetadata, type WAMessage } from 'baileys';
import type { WAEventHandler } from './handle-whatsapp.js';
import { msOf } from './handle-whatsapp-history.js';

/**
 * A group picture change: Baileys rc14 turns the `picture` notification into this stub message
 * (upserted as 'append', parameter: the new picture's id; none when removed), not into groups.update.
 */
export const STUB_GROUP_CHANGE_ICON = proto.WebMessageInfo.StubType.GROUP_CHANGE_ICON;

export const ADMIN_LEVEL = 50;
export const MEMBER_LEVEL = 0;

type Handler = Pick<WAEventHandler, 'portalOf' | 'senderOf' | 'member' | 'me' | 'login'> & Partial<Pick<WAEventHandler, 'timers'>>;

const STUB = proto.WebMessageInfo.StubType;
/** Stubs in a group saying it joined or left a community (or the community went away). */
const PARENT_STUBS = new Set<number>([
  STUB.COMMUNITY_LINK_PARENT_GROUP, STUB.COMMUNITY_LINK_PARENT_GROUP_RICH, STUB.COMMUNITY_UNLINK_PARENT_GROUP,
  STUB.INTEGRITY_UNLINK_PARENT_GROUP, STUB.COMMUNITY_PARENT_GROUP_DELETED,
]);
/** Stubs in a community saying a group was linked to it or unlinked from it. */
const SUB_GROUP_STUBS = new Set<number>([STUB.COMMUNITY_LINK_SUB_GROUP, STUB.COMMUNITY_UNLINK_SUB_GROUP]);

/** Whether a message is a community link/unlink stub (fromCommunityStub handles it). */
function isCommunityStub(msg: WAMessage): boolean {
  const t = msg.messageStubType;
  return typeof t === 'number' && (PARENT_STUBS.has(t) || SUB_GROUP_STUBS.has(t));
}

async function authorOf(h: Handler, author: string | undefined, authorPn: string | undefined): Promise<RemoteSender | undefined> {
  return author ? h.senderOf(author, authorPn) : undefined;
}

async function fromGroupUpdates(h: Handler, updates: BaileysEventMap['groups.update']): Promise<RemoteEvent[]> {
  const out: RemoteEvent[] = [];
  for (const g of updates) {
    const portal = g.id ? await h.portalOf(g.id) : undefined;
    if (!portal) continue;
    const change: ChatInfoChange = {};
    if (typeof g.subject === 'string') change.name = g.subject;
    if (typeof g.desc === 'string' || (g.descId !== undefined && g.desc === undefined)) change.topic = g.desc ?? '';
    if (typeof g.ephemeralDuration === 'number') {
      change.disappear = g.ephemeralDuration > 0 ? { type: 'after_send', timerMs: g.ephemeralDuration * 1000 } : null;
      h.timers?.set(portal.id, g.ephemeralDuration);
    }
    // rc14 emits no event of its own when a group is linked to or unlinked from a community; the
    // link shows in full metadata (groups.update after a "dirty" groups sync re-reads every group,
    // with `participants`): linkedParent set, or absent when the group is in no community.
    if (typeof g.linkedParent === 'string' && g.linkedParent) change.parent = g.linkedParent;
    else if (Array.isArray(g.participants) && !g.isCommunity) change.parent = null;
    if (Object.keys(change).length === 0) continue;
    // Without an author (a sync rather than a notification), the change is attributed to the account.
    const sender = (await authorOf(h, g.author, g.authorPn)) ?? h.me();
    out.push({ type: 'chat_info_change', portal, sender, timestamp: Date.now(), change });
  }
  return out;
}

async function fromParticipants(h: Handler, u: BaileysEventMap['group-participants.update']): Promise<RemoteEvent[]> {
  const portal: PortalKey | undefined = await h.portalOf(u.id);
  if (!portal) return [];
  const author = await authorOf(h, u.author, u.authorPn);
  const sender = author ?? h.me();
  const timestamp = Date.now();
  const members: ChatMember[] = [];
  for (const p of u.participants ?? []) {
    const jid = typeof p === 'string' ? p : p.id;
    const alt = typeof p === 'string' ? undefined : p.phoneNumber;
    const level = u.action === 'promote' ? ADMIN_LEVEL : u.action === 'demote' ? MEMBER_LEVEL
      : typeof p === 'object' && p.admin ? ADMIN_LEVEL : undefined;
    const m = jid ? await h.member(jid, alt, level) : undefined;
    if (m) members.push(m);
  }
  if (members.length === 0) return [];
  switch (u.action) {
    case 'add':
      if (members.some((m) => m.isFromMe)) return [{ type: 'chat_resync', portal, sender, timestamp, createPortal: true }];
      return [{ type: 'chat_info_change', portal, sender, timestamp, change: { members: { added: members } } }];
    case 'remove':
      return [{
        type: 'chat_info_change', portal, sender, timestamp,
        change: {
          members: {
            removed: members.map((m) => {
              const kicked = author !== undefined && author.user !== m.user;
              return { user: m.user, kicked, ...(kicked ? { by: author.user as RemoteUserId } : {}) };
            }),
          },
        },
      }];
    case 'promote':
    case 'demote':
      return [{ type: 'chat_info_change', portal, sender, timestamp, change: { members: { changed: members } } }];
    default:
      return [];
  }
}

/**
 * Group picture changes among upserted messages. `pictureOf` looks the group's current picture up
 * (undefined: none or hidden, so nothing is sent for a "set" we cannot see).
 */
async function fromIconStubs(h: Handler, messages: WAMessage[], pictureOf: (jid: string) => Promise<ChatAvatar | undefined>): Promise<RemoteEvent[]> {
  const out: RemoteEvent[] = [];
  for (const msg of messages) {
    const jid = msg.key?.remoteJid;
    if (msg.messageStubType !== STUB_GROUP_CHANGE_ICON || !jid || !isJidGroup(jid)) continue;
    const portal = await h.portalOf(jid);
    if (!portal) continue;
    const removed = !msg.messageStubParameters?.length;
    const avatar: ChatAvatar | undefined = removed ? { id: '', remove: true } : await pictureOf(jid);
    if (!avatar) continue;
    // Baileys keeps the picture's author in `participant` (the key's participant is the notifier).
    const sender = (await authorOf(h, msg.participant ?? msg.key.participant ?? undefined, msg.key.participantAlt ?? undefined)) ?? h.me();
    out.push({ type: 'chat_info_change', portal, sender, timestamp: msOf(msg.messageTimestamp ?? 0), change: { avatar } });
  }
  return out;
}

/**
 * A community link/unlink stub upserted as a message. rc14's w:gp2 notification handler has no
 * link/unlink case, so it makes none of these itself; they are handled for a Baileys that does and
 * for any that arrive upserted. Their parameters are not documented, so the group's metadata is
 * read again and its `linkedParent` decides; in a community, the parameters that are group JIDs
 * name the groups to read.
 */
async function fromCommunityStub(h: Handler, msg: WAMessage, metadataOf: (jid: string) => Promise<GroupMetadata>): Promise<RemoteEvent[]> {
  const jid = msg.key?.remoteJid;
  if (!jid || !isJidGroup(jid)) return [];
  const groups = PARENT_STUBS.has(msg.messageStubType ?? -1) ? [jid] : (msg.messageStubParameters ?? []).filter((p: string) => isJidGroup(p) === true);
  const sender = (await authorOf(h, msg.participant ?? msg.key.participant ?? undefined, msg.key.participantAlt ?? undefined)) ?? h.me();
  const out: RemoteEvent[] = [];
  for (const group of groups) {
    const portal = await h.portalOf(group);
    if (!portal) continue;
    const meta = await metadataOf(group).catch((err: unknown) => {
      h.login.log.warn({ err: (err as Error).message, group }, 'could not read a WhatsApp group after a community change');
      return undefined;
    });
    if (!meta) continue;
    const parent = meta.linkedParent && !meta.isCommunity ? meta.linkedParent : null;
    out.push({ type: 'chat_info_change', portal, sender, timestamp: msOf(msg.messageTimestamp ?? 0), change: { parent } });
  }
  return out;
}

export const groupEvents = { fromGroupUpdates, fromParticipants, fromIconStubs, fromCommunityStub, isCommunityStub };
