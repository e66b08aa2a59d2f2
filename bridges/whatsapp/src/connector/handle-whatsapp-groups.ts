/**
 * Group events -> RemoteEvents: subject/description changes and participant changes (add, remove,
 * promote, demote). Being added to a group resyncs (and creates) its portal.
 */
import type { ChatAvatar, ChatInfoChange, ChatMember, PortalKey, RemoteEvent, RemoteSender, RemoteUserId } from '@tributary/core/network/index';
import { isJidGroup, proto, type BaileysEventMap, type WAMessage } from 'baileys';
import type { WAEventHandler } from './handle-whatsapp.js';
import { msOf } from './handle-whatsapp-history.js';

/**
 * A group picture change: Baileys rc14 turns the `picture` notification into this stub message
 * (upserted as 'append', parameter: the new picture's id; none when removed), not into groups.update.
 */
export const STUB_GROUP_CHANGE_ICON = proto.WebMessageInfo.StubType.GROUP_CHANGE_ICON;

export const ADMIN_LEVEL = 50;
export const MEMBER_LEVEL = 0;

type Handler = Pick<WAEventHandler, 'portalOf' | 'senderOf' | 'member' | 'me'>;

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
    if (typeof g.ephemeralDuration === 'number') change.disappear = g.ephemeralDuration > 0 ? { type: 'after_send', timerMs: g.ephemeralDuration * 1000 } : null;
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

export const groupEvents = { fromGroupUpdates, fromParticipants, fromIconStubs };
