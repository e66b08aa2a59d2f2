/**
 * Matrix -> WhatsApp content: what the handlers in connector/handle-matrix.ts hand to Baileys'
 * `sendMessage`. Pure apart from opening media streams; nothing here talks to the socket.
 *
 * - text/notice: WhatsApp markup (wa-text-format.ts) with `mentions` (JIDs) and, in groups,
 *   `mentionAll` for @room; an emote gets a "/me " prefix; link previews are never fetched
 *   (`linkPreview: null`), but one the Matrix client attached is sent (from-matrix-preview.ts).
 * - replies: Baileys' `quoted` option with a minimal stand-in for the quoted message (the
 *   bridge keeps ids, not contents), built from the reply target's MessageId.
 * - media: from-matrix-media.ts. location: locationMessage.
 * - the WhatsApp message id of a send derives from the Matrix txnId, so a resend after a crash
 *   reuses it and WhatsApp drops the copy.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FormattedText } from '@tributary/core/matrix/format/index';
import {
  BridgeError, ErrTargetNotFound, ErrUnsupported, remoteUserId,
  type MatrixMessage, type MessageId, type RemoteUserId,
} from '@tributary/core/network/index';
import { isJidGroup, jidDecode, type AnyMessageContent, type WAMessage, type WAMessageKey, type WAUrlInfo } from 'baileys';
import { jidFromUserId, parseMessageId } from '../connector/ids.js';
import { formatWhatsAppText } from './wa-text.js';
import { linkPreviewOf } from './from-matrix-preview.js';
import { mediaContentOf, WA_MEDIA_LIMITS, type MediaCaption, type WAMediaLimits } from './from-matrix-media.js';

export { WA_MEDIA_LIMITS, type WAMediaLimits } from './from-matrix-media.js';

/** Who is sending and where: the part of the login the converters need. */
export interface WASendTarget {
  /** The chat JID of the portal. */
  chat: string;
  /** The account's own JID (phone-number form). */
  ownJid: string;
}

export const EMOTE_PREFIX = '/me ';
/** WhatsApp's own ids: "3EB0" and upper-case hex (Baileys' generateMessageIDV2 makes 22 characters). */
const WA_ID_PREFIX = '3EB0';
const WA_ID_HASH_CHARS = 18;
const USER_ID_RE = /^(?:lid-)?\d{1,32}$/;

/** The WhatsApp message id for a Matrix send: the same txnId always gives the same id. */
export function messageIdForTxn(txnId: string): string {
  const hash = createHash('sha256').update('tributary/whatsapp/txn\u0000').update(txnId).digest('hex');
  return WA_ID_PREFIX + hash.slice(0, WA_ID_HASH_CHARS).toUpperCase();
}

/** The account's own RemoteUserId (its phone digits). */
export function ownUserIdOf(ownJid: string): RemoteUserId {
  const user = jidDecode(ownJid)?.user;
  if (!user) throw new BridgeError(`bad own JID ${ownJid}`, { reason: 'm_not_logged_in' });
  return remoteUserId(user);
}

export function isGroupChat(chat: string): boolean {
  return isJidGroup(chat) === true;
}

/** The JID of a RemoteUserId found in a mention, or undefined when it is not one of ours. */
export function mentionJid(userId: string): string | undefined {
  return USER_ID_RE.test(userId) ? jidFromUserId(userId) : undefined;
}

export interface WAText {
  text: string;
  mentions: string[];
  /** @room in a group: mention everyone. */
  mentionAll: boolean;
}

/** FormattedText -> WhatsApp markup with the mentioned JIDs. */
export function textToWhatsApp(ft: FormattedText, chat: string): WAText {
  const out = formatWhatsAppText(ft, { userIdToJid: mentionJid });
  return { text: out.text, mentions: out.mentions, mentionAll: out.everyone && isGroupChat(chat) };
}

function withPrefix(ft: FormattedText, prefix: string): FormattedText {
  return { text: prefix + ft.text, entities: ft.entities.map((e) => ({ ...e, offset: e.offset + prefix.length })) };
}

function textContent(t: WAText, linkPreview: WAUrlInfo | null = null): AnyMessageContent {
  return {
    text: t.text,
    linkPreview,
    ...(t.mentions.length > 0 ? { mentions: t.mentions } : {}),
    ...(t.mentionAll ? { mentionAll: true } : {}),
  };
}

/**
 * The key of an earlier message in the chat, from its MessageId. `participant` is set in groups
 * for other people's messages (own messages are `fromMe`).
 */
export function waKeyOf(target: MessageId | string, to: WASendTarget): WAMessageKey & { sender: string } {
  const parsed = parseMessageId(target);
  if (!parsed) throw ErrTargetNotFound(`message ${target}`);
  const own = ownUserIdOf(to.ownJid);
  const fromMe = parsed.sender === own;
  const key: WAMessageKey = { remoteJid: parsed.chat, id: parsed.waId, fromMe };
  if (isGroupChat(parsed.chat) && !fromMe) key.participant = jidFromUserId(parsed.sender);
  return Object.assign(key, { sender: parsed.sender });
}

/** A Baileys WAMessageKey without our extra field, for the wire. */
export function wireKey(key: WAMessageKey & { sender?: string }): WAMessageKey {
  const { sender: _sender, ...rest } = key;
  return rest;
}

/**
 * What Baileys needs to quote a message: its key and some content. The bridge does not keep
 * message contents, so the quoted content is an empty conversation; WhatsApp clients show the
 * original from their own copy by `stanzaId`.
 */
export function quotedStubOf(target: MessageId | string, to: WASendTarget): WAMessage {
  const key = waKeyOf(target, to);
  const stub: WAMessageKey = wireKey(key);
  if (isGroupChat(key.remoteJid ?? '')) stub.participant = key.fromMe ? to.ownJid : jidFromUserId(key.sender);
  return { key: stub, message: { conversation: '' } };
}

/** A location, validated. */
function locationContent(loc: NonNullable<MatrixMessage['location']>): AnyMessageContent {
  const { latitude, longitude } = loc;
  if (!Number.isFinite(latitude) || !Number.isFinite(longitude) || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) {
    throw new BridgeError(`bad location ${latitude},${longitude}`, { reason: 'm_bad_format', userMessage: 'The location is malformed' });
  }
  const name = loc.description?.trim();
  return {
    location: {
      degreesLatitude: latitude,
      degreesLongitude: longitude,
      ...(name && !name.startsWith('geo:') ? { name: name.slice(0, 256) } : {}),
    },
  };
}

export interface ConvertedMatrixMessage {
  content: AnyMessageContent;
  /** The media stream, when there is one: the caller closes it if the send fails. */
  stream?: Readable;
}

/** A Matrix message as Baileys content (media is opened, not read). */
export async function matrixMessageToWA(
  msg: MatrixMessage,
  to: WASendTarget,
  limits: WAMediaLimits = WA_MEDIA_LIMITS,
): Promise<ConvertedMatrixMessage> {
  if (msg.location) return { content: locationContent(msg.location) };
  if (msg.media) {
    const caption: MediaCaption | undefined = msg.text?.text ? textToWhatsApp(msg.text, to.chat) : undefined;
    const prepared = await mediaContentOf(msg.media, caption, limits);
    return { content: prepared.content, stream: prepared.stream };
  }
  if (msg.text) {
    const ft = msg.msgtype === 'm.emote' ? withPrefix(msg.text, EMOTE_PREFIX) : msg.text;
    const t = textToWhatsApp(ft, to.chat);
    if (t.text.trim().length === 0) throw new BridgeError('empty message', { reason: 'm_bad_format', sendNotice: false });
    return { content: textContent(t, linkPreviewOf(msg.content ?? {}, t.text) ?? null) };
  }
  throw ErrUnsupported(`Message type ${msg.msgtype}`);
}

/** An edit of an own text message (or of a caption): new text, sent as MESSAGE_EDIT. */
export function matrixEditToWA(text: FormattedText, key: WAMessageKey, chat: string): AnyMessageContent {
  const t = textToWhatsApp(text, chat);
  if (t.text.trim().length === 0) throw new BridgeError('empty edit', { reason: 'm_bad_format', sendNotice: false });
  return { ...textContent(t), edit: key } as AnyMessageContent;
}
