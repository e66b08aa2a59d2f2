/**
 * WhatsApp ids as core ids. A person is known by their phone number whenever the bridge can find
 * it, and by their LID only until then, so one person gets one ghost and one DM portal even though
 * WhatsApp addresses them by phone number in some places and by LID in others (v7 addressing).
 *
 *   RemoteUserId   "15551234567" (phone digits)  or  "lid-123456789" (LID, phone unknown)
 *   PortalId       "15551234567@s.whatsapp.net" (DM, receiver = the login), "1203...@g.us" (group),
 *                  "status@broadcast"
 *   MessageId      "<chat portal id>/<sender user id>/<WhatsApp message id>"
 *   UserLoginId    the account's phone digits
 */
import {
  messageId, portalKey, remoteUserId, userLoginId,
  type MessageId, type PortalKey, type RemoteUserId, type UserLoginId,
} from '@tributary/core/network/index';
import { isJidGroup, isLidUser, jidDecode } from 'baileys';

export const PN_SERVER = 's.whatsapp.net';
export const LID_SERVER = 'lid';
export const STATUS_BROADCAST = 'status@broadcast';

/** Looks up the phone-number JID of a LID (the bridge's own table, then Baileys' store). */
export interface LidResolver {
  pnForLid(lidJid: string): Promise<string | undefined>;
}

function userPart(jid: string): string | undefined {
  return jidDecode(jid)?.user;
}

/** The person behind a user JID (`…@s.whatsapp.net` or `…@lid`, device suffix allowed). */
export async function userIdFromJid(jid: string, lids: LidResolver): Promise<RemoteUserId | undefined> {
  const user = userPart(jid);
  if (!user || !/^\d+$/.test(user)) return undefined;
  if (isLidUser(jid)) {
    const pn = await lids.pnForLid(`${user}@${LID_SERVER}`);
    const pnUser = pn ? userPart(pn) : undefined;
    return remoteUserId(pnUser ? pnUser : `lid-${user}`);
  }
  return remoteUserId(user);
}

/** The JID to address a person with: their phone-number JID, or their LID when that is all we know. */
export function jidFromUserId(user: RemoteUserId | string): string {
  return user.startsWith('lid-') ? `${user.slice(4)}@${LID_SERVER}` : `${user}@${PN_SERVER}`;
}

export function loginIdFromJid(jid: string): UserLoginId | undefined {
  const user = userPart(jid);
  return user && /^\d+$/.test(user) ? userLoginId(user) : undefined;
}

/** The portal of a chat JID as one login sees it; DMs with a LID resolve to the phone number. */
export async function portalKeyFromChatJid(chatJid: string, login: UserLoginId, lids: LidResolver): Promise<PortalKey | undefined> {
  if (chatJid === STATUS_BROADCAST) return portalKey(STATUS_BROADCAST, login);
  if (isJidGroup(chatJid)) return portalKey(chatJid, '');
  const user = await userIdFromJid(chatJid, lids);
  return user ? portalKey(jidFromUserId(user), login) : undefined;
}

/** The JID to send to for a portal. */
export function chatJidOfPortal(key: PortalKey): string {
  return key.id;
}

export function makeMessageId(chat: string, sender: RemoteUserId | string, waId: string): MessageId {
  return messageId(`${chat}/${sender}/${waId}`);
}

export function parseMessageId(id: MessageId | string): { chat: string; sender: string; waId: string } | undefined {
  const parts = id.split('/');
  if (parts.length !== 3 || parts.some((p) => !p)) return undefined;
  const [chat, sender, waId] = parts as [string, string, string];
  return { chat, sender, waId };
}

/** A phone number as people type it: optional +, 7 to 15 digits once spaces and punctuation go. */
const PHONE_RE = /^\+?\d{7,15}$/;

/** Digits of a phone number as typed, or undefined when it is not one. */
export function phoneDigits(input: string): string | undefined {
  const compact = input.replace(/[\s\-().]/g, '');
  return PHONE_RE.test(compact) ? compact.replace(/^\+/, '') : undefined;
}
