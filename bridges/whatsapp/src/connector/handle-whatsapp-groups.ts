/**
 * Group events -> RemoteEvents: subject/description changes and participant changes (add, remove,
 * promote, demote). Being added to a group resyncs (and creates) its portal.
 */
import type { ChatInfoChange, ChatMember, PortalKey, RemoteEvent, RemoteSender, RemoteUserId } from '@tributary/core/network/index';
import type { BaileysEventMap } from 'baileys';
import type { WAEventHandler } from './handle-whatsapp.js';

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

export const groupEvents = { fromGroupUpdates, fromParticipants };
