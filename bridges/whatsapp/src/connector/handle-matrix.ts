/**
 * Matrix -> WhatsApp: one function per Matrix action, each taking the login's WAMatrixContext.
 * wa-api.ts calls them from its capability methods. Conversion is in msgconv/from-matrix*.ts;
 * here are the socket calls and what their failures mean for the person (BridgeError):
 * not connected -> m_network_error (retriable), not-authorized/forbidden -> m_no_permission,
 * item-not-found -> m_not_found, too large -> m_too_large, rate-overlimit -> m_rate_limited.
 */
import type { Readable } from 'node:stream';
import {
  BridgeError, ErrTooLarge, ErrTooOld, ErrUnsupported, ErrUnsupportedInRoom, isBridgeError,
  type BridgeErrorOptions, type EmojiId, type MatrixEdit, type MatrixMembershipChange, type MatrixMessage,
  type MatrixMessageRemove, type MatrixMessageResponse, type MatrixPowerLevelChange, type MatrixReaction,
  type MatrixReactionRemove, type MatrixReadReceipt, type MatrixRoomMeta, type MatrixTyping, type RemoteUserId,
} from '@tributary/core/network/index';
import type { ParticipantAction } from 'baileys';
import type { WAClientPort } from '../client/port.js';
import type { WAMatrixContext } from './context.js';
import { chatJidOfPortal, jidFromUserId, makeMessageId, parseMessageId } from './ids.js';
import { isStatusBroadcast, refuseInStatusBroadcast, statusReceiptKey } from './handle-whatsapp-status.js';
import {
  isGroupChat, matrixEditToWA, matrixMessageToWA, messageIdForTxn, ownUserIdOf, quotedStubOf, waKeyOf, wireKey,
  type WASendTarget,
} from '../msgconv/from-matrix.js';

/** WhatsApp's limits on group subjects and descriptions (UTF-16 units are close enough). */
export const WA_GROUP_SUBJECT_MAX = 100;
export const WA_GROUP_DESCRIPTION_MAX = 2048;
/** Largest picture read for a group avatar; Baileys scales it down to 640 px. */
export const WA_AVATAR_MAX_BYTES = 10 * 1024 * 1024;
/** Power level from which a member is a WhatsApp group admin. */
export const WA_ADMIN_LEVEL = 50;
/** WhatsApp accepts edits of a message for 15 minutes and deletes for everyone for 2 days. */
export const WA_EDIT_WINDOW_MS = 15 * 60_000;
export const WA_DELETE_WINDOW_MS = 2 * 24 * 60 * 60_000;

/**
 * The core refuses edits and deletes outside the room's windows (getCapabilities) before they get
 * here; this second check keeps a direct caller from sending what WhatsApp would drop silently.
 */
function refuseTooOld(what: 'Edit' | 'Deletion', sentAt: number, windowMs: number, now = Date.now()): void {
  if (Number.isFinite(sentAt) && sentAt > 0 && now - sentAt > windowMs) {
    throw ErrTooOld(what).with({
      userMessage: what === 'Edit' ? 'WhatsApp only lets you edit a message for 15 minutes' : 'WhatsApp only lets you delete a message for everyone for 2 days',
    });
  }
}

function targetOf(ctx: WAMatrixContext, portal: MatrixEdit['portal']): WASendTarget {
  return { chat: chatJidOfPortal(portal), ownJid: ctx.ownJid() };
}

function requireGroup(chat: string, what: string): void {
  if (!isGroupChat(chat)) throw ErrUnsupportedInRoom(what);
}

/** Runs one socket call, turning its failure into a BridgeError. */
async function call<T>(ctx: WAMatrixContext, what: string, f: (sock: WAClientPort) => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await f(ctx.socket());
  } catch (err) {
    throw waErrorToBridgeError(err, what);
  }
  const sentId = (result as { key?: { id?: string | null } } | undefined)?.key?.id;
  if (sentId) ctx.noteOwnSend?.(sentId);
  return result;
}

interface BoomLike {
  isBoom: true;
  message: string;
  data?: unknown;
  output?: { statusCode?: number };
}

function isBoomLike(err: unknown): err is BoomLike {
  return typeof err === 'object' && err !== null && (err as { isBoom?: unknown }).isBoom === true;
}

/**
 * What a Baileys failure means for the person. Baileys throws Booms: server errors of a query
 * carry the server's code in `data` and its text ("not-authorized", "item-not-found") as message;
 * socket failures carry a DisconnectReason as the status code.
 */
export function waErrorToBridgeError(err: unknown, what: string): BridgeError {
  if (isBridgeError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const text = message.toLowerCase();
  const full = `${what}: ${message}`;
  const make = (opts: BridgeErrorOptions) => new BridgeError(full, { cause: err, ...opts });
  if (isBoomLike(err)) {
    const serverCode = typeof err.data === 'number' && Number.isFinite(err.data) ? err.data : undefined;
    const status = err.output?.statusCode;
    const code = serverCode ?? status;
    if (text.includes('not-authorized') || text.includes('forbidden') || code === 401 && serverCode !== undefined || code === 403) {
      return make({ reason: 'm_no_permission', userMessage: `You are not allowed to do that on WhatsApp (${what})` });
    }
    if (text.includes('item-not-found') || code === 404) return make({ reason: 'm_not_found' });
    if (text.includes('rate-overlimit') || code === 429) return make({ reason: 'm_rate_limited', status: 'retriable', certain: false });
    if (text.includes('too large') || text.includes('content length exceeded') || code === 413) return make({ reason: 'm_too_large' });
    if (text.includes('bad-request') || text.includes('not-acceptable') || code === 400 || code === 406) return make({ reason: 'm_bad_format' });
    if (serverCode === undefined && status === 401) return make({ reason: 'm_not_logged_in', userMessage: 'The WhatsApp session has ended; log in again' });
    if (text.includes('timed out') || status === 408) return make({ reason: 'm_timeout', status: 'retriable', certain: false });
    if (
      text.includes('connection closed') || text.includes('connection terminated') || text.includes('connection was lost')
      || text.includes('media upload failed') || status === 428 || status === 440 || status === 503
    ) {
      return make({ reason: 'm_network_error', status: 'retriable', certain: false, userMessage: 'Not connected to WhatsApp; the message will be retried' });
    }
  }
  return make({ reason: 'm_unknown', status: 'retriable', certain: false });
}

function timestampMs(ts: unknown): number | undefined {
  let n: number | undefined;
  if (typeof ts === 'number') n = ts;
  else if (typeof ts === 'object' && ts !== null && typeof (ts as { toNumber?: unknown }).toNumber === 'function') {
    n = (ts as { toNumber(): number }).toNumber();
  }
  return n !== undefined && Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
}

/** Text, emote, notice, media, location; replies and mentions included. Idempotent per txnId. */
export async function sendMatrixMessage(ctx: WAMatrixContext, msg: MatrixMessage): Promise<MatrixMessageResponse> {
  refuseInStatusBroadcast(msg.portal, 'Posting a status');
  ctx.chatActive?.(msg.portal);
  const to = targetOf(ctx, msg.portal);
  const own = ownUserIdOf(to.ownJid);
  const waId = messageIdForTxn(msg.txnId);
  // A reply target whose id is not ours (imported from elsewhere) is sent as a plain message.
  const quoted = msg.replyTo && parseMessageId(msg.replyTo.messageId) ? quotedStubOf(msg.replyTo.messageId, to) : undefined;
  const converted = await matrixMessageToWA(msg, to);
  // In a disappearing chat every message carries the timer (contextInfo.expiration).
  const expiration = ctx.disappearingTimer?.(msg.portal);
  try {
    const sent = await call(ctx, 'send message', (sock) => sock.sendMessage(to.chat, converted.content, {
      messageId: waId, ...(quoted ? { quoted } : {}), ...(expiration ? { ephemeralExpiration: expiration } : {}),
    }));
    const sentId = sent?.key.id ?? waId;
    return { id: makeMessageId(to.chat, own, sentId), timestamp: timestampMs(sent?.messageTimestamp) ?? Date.now() };
  } finally {
    if (converted.stream && !converted.stream.destroyed) converted.stream.destroy();
  }
}

/** Edits an own message (WhatsApp lets nobody edit other people's messages). */
export async function sendMatrixEdit(ctx: WAMatrixContext, msg: MatrixEdit): Promise<void> {
  refuseInStatusBroadcast(msg.portal, 'Editing a status');
  const to = targetOf(ctx, msg.portal);
  const key = waKeyOf(msg.target.messageId, to);
  if (!key.fromMe) {
    throw new BridgeError('edit of another person\'s message', { reason: 'm_unsupported', userMessage: 'Only your own messages can be edited on WhatsApp' });
  }
  refuseTooOld('Edit', msg.target.timestamp, WA_EDIT_WINDOW_MS);
  const content = matrixEditToWA(msg.text, wireKey(key), to.chat);
  await call(ctx, 'edit message', (sock) => sock.sendMessage(to.chat, content));
}

/** Reacts (WhatsApp keeps one reaction per person and message; a new one replaces the old). */
export async function sendMatrixReaction(ctx: WAMatrixContext, msg: MatrixReaction, emojiId: EmojiId): Promise<void> {
  refuseInStatusBroadcast(msg.portal, 'Reacting to a status');
  const to = targetOf(ctx, msg.portal);
  const key = wireKey(waKeyOf(msg.target.messageId, to));
  const text = (emojiId as string) || msg.emoji;
  if (!text) throw new BridgeError('empty reaction', { reason: 'm_bad_format', sendNotice: false });
  await call(ctx, 'react', (sock) => sock.sendMessage(to.chat, { react: { text, key } }));
}

export async function removeMatrixReaction(ctx: WAMatrixContext, msg: MatrixReactionRemove): Promise<void> {
  refuseInStatusBroadcast(msg.portal, 'Reacting to a status');
  const to = targetOf(ctx, msg.portal);
  const key = wireKey(waKeyOf(msg.target.messageId, to));
  await call(ctx, 'remove reaction', (sock) => sock.sendMessage(to.chat, { react: { text: '', key } }));
}

/** Deletes for everyone: own messages anywhere, other people's only in groups (as an admin). */
export async function removeMatrixMessage(ctx: WAMatrixContext, msg: MatrixMessageRemove): Promise<void> {
  refuseInStatusBroadcast(msg.portal, 'Deleting a status');
  const to = targetOf(ctx, msg.portal);
  const key = waKeyOf(msg.target.messageId, to);
  if (!key.fromMe && !isGroupChat(to.chat)) {
    throw new BridgeError('delete of another person\'s message in a private chat', {
      reason: 'm_unsupported', userMessage: 'Other people\'s messages in a private chat cannot be deleted on WhatsApp',
    });
  }
  refuseTooOld('Deletion', msg.target.timestamp, WA_DELETE_WINDOW_MS);
  await call(ctx, 'delete message', (sock) => sock.sendMessage(to.chat, { delete: wireKey(key) }));
}

/** Marks the chat read up to the target (nothing to do when it is our own message). */
export async function sendMatrixReadReceipt(ctx: WAMatrixContext, msg: MatrixReadReceipt): Promise<void> {
  ctx.chatActive?.(msg.portal);
  if (!msg.target) return;
  const to = targetOf(ctx, msg.portal);
  const key = waKeyOf(msg.target.messageId, to);
  if (key.fromMe) return;
  await call(ctx, 'mark read', (sock) => sock.readMessages([statusReceiptKey(wireKey(key), key.sender)]));
}

export async function sendMatrixTyping(ctx: WAMatrixContext, msg: MatrixTyping): Promise<void> {
  ctx.chatActive?.(msg.portal);
  const chat = chatJidOfPortal(msg.portal);
  if (isStatusBroadcast(chat)) return;
  await call(ctx, 'typing', (sock) => sock.sendPresenceUpdate(msg.typing ? 'composing' : 'paused', chat));
}

export async function setMatrixPresence(ctx: WAMatrixContext, presence: 'online' | 'offline' | 'unavailable'): Promise<void> {
  await call(ctx, 'presence', (sock) => sock.sendPresenceUpdate(presence === 'online' ? 'available' : 'unavailable'));
}

function cut(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length <= max ? s : chars.slice(0, max).join('');
}

export async function renameGroup(ctx: WAMatrixContext, msg: MatrixRoomMeta): Promise<void> {
  const chat = chatJidOfPortal(msg.portal);
  requireGroup(chat, 'Renaming');
  const name = (msg.name ?? '').replace(/\s+/g, ' ').trim();
  if (!name) throw new BridgeError('empty group name', { reason: 'm_unsupported', userMessage: 'WhatsApp groups must have a name' });
  await call(ctx, 'rename group', (sock) => sock.groupUpdateSubject(chat, cut(name, WA_GROUP_SUBJECT_MAX)));
}

/** Sets the group description; an empty topic removes it. */
export async function setGroupTopic(ctx: WAMatrixContext, msg: MatrixRoomMeta): Promise<void> {
  const chat = chatJidOfPortal(msg.portal);
  requireGroup(chat, 'Changing the topic');
  const topic = (msg.topic ?? '').trim();
  await call(ctx, 'set group description', (sock) => sock.groupUpdateDescription(chat, topic ? cut(topic, WA_GROUP_DESCRIPTION_MAX) : undefined));
}

async function readCapped(stream: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      size += buf.length;
      if (size > max) throw ErrTooLarge(size, max);
      chunks.push(buf);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

/** Sets the group picture from the Matrix room avatar (removal is not offered by the port). */
export async function setGroupAvatar(ctx: WAMatrixContext, msg: MatrixRoomMeta): Promise<void> {
  const chat = chatJidOfPortal(msg.portal);
  requireGroup(chat, 'Changing the picture');
  if (!msg.avatar) {
    await call(ctx, 'remove group picture', (sock) => sock.removeProfilePicture(chat));
    return;
  }
  if (typeof msg.avatar.size === 'number' && msg.avatar.size > WA_AVATAR_MAX_BYTES) throw ErrTooLarge(msg.avatar.size, WA_AVATAR_MAX_BYTES);
  const bytes = await readCapped(await msg.avatar.open(), WA_AVATAR_MAX_BYTES);
  if (bytes.length === 0) throw new BridgeError('empty avatar', { reason: 'm_bad_format' });
  await call(ctx, 'set group picture', (sock) => sock.updateProfilePicture(chat, bytes));
}

type ParticipantResult = Array<{ status: string; jid?: string }>;

/** Fails when WhatsApp refused the change for anyone (per-participant status codes). */
function checkParticipants(action: ParticipantAction, results: ParticipantResult | undefined): void {
  for (const r of results ?? []) {
    const status = String(r.status);
    if (status === '200' || (action === 'add' && status === '409')) continue;
    if (status === '403' || status === '401') {
      throw new BridgeError(`${action} ${r.jid ?? ''}: ${status}`, {
        reason: 'm_no_permission',
        userMessage: action === 'add'
          ? 'WhatsApp did not let you add this person (their privacy settings may require an invite link)'
          : 'You are not allowed to do that in this WhatsApp group',
      });
    }
    if (status === '404') throw new BridgeError(`${action} ${r.jid ?? ''}: 404`, { reason: 'm_not_found', userMessage: 'This person is not on WhatsApp or not in the group' });
    throw new BridgeError(`${action} ${r.jid ?? ''}: ${status}`, { reason: 'm_unknown' });
  }
}

async function updateParticipants(ctx: WAMatrixContext, chat: string, jids: string[], action: ParticipantAction): Promise<void> {
  if (jids.length === 0) return;
  const results = await call(ctx, `group ${action}`, (sock) => sock.groupParticipantsUpdate(chat, jids, action));
  checkParticipants(action, results);
}

/**
 * invite -> add; kick and ban -> remove (WhatsApp has no ban list); the person leaving the room ->
 * leave the group. A ghost cannot be made to leave.
 */
export async function changeGroupMembership(ctx: WAMatrixContext, msg: MatrixMembershipChange): Promise<void> {
  const chat = chatJidOfPortal(msg.portal);
  requireGroup(chat, 'Changing members');
  const own = ownUserIdOf(ctx.ownJid());
  if ((msg.target as string) === (own as string)) {
    if (msg.change !== 'leave') throw ErrUnsupported('Changing your own membership from Matrix');
    await call(ctx, 'group leave', (sock) => sock.groupLeave(chat));
    return;
  }
  const jid = jidFromUserId(msg.target);
  if (msg.change === 'invite') return updateParticipants(ctx, chat, [jid], 'add');
  if (msg.change === 'kick' || msg.change === 'ban') return updateParticipants(ctx, chat, [jid], 'remove');
  throw ErrUnsupported(`Membership change ${msg.change}`);
}

/** Power level >= 50 -> group admin (promote), below -> member (demote). */
export async function changeGroupPowerLevels(ctx: WAMatrixContext, msg: MatrixPowerLevelChange): Promise<void> {
  const chat = chatJidOfPortal(msg.portal);
  requireGroup(chat, 'Changing admins');
  const own = ownUserIdOf(ctx.ownJid()) as string;
  const promote: string[] = [];
  const demote: string[] = [];
  for (const { user, level } of msg.users) {
    if ((user as RemoteUserId as string) === own) continue;
    (level >= WA_ADMIN_LEVEL ? promote : demote).push(jidFromUserId(user));
  }
  await updateParticipants(ctx, chat, promote, 'promote');
  await updateParticipants(ctx, chat, demote, 'demote');
}
