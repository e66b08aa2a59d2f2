/**
 * Matrix message -> the input of Meta's SendMessage task (lightspeed/tasks.ts). Pure apart from
 * the media upload; the connector builds the task and sends it.
 *
 * - text/notice: Meta markers and mention ranges (meta-format.ts); an emote gets "/me ".
 * - replies: `replyToMessageId` (the Meta message id of the target).
 * - media: uploaded first (from-matrix-media.ts), its fbid sent with the caption as text.
 * - stickers: one that came from Meta (it carries its Meta sticker id) goes back as that sticker;
 *   any other is sent as an image.
 * - location: text with a map link (Meta has no location message to send from the web).
 * - the otid derives from the Matrix transaction id, so a resend after a crash reuses it.
 */
import { plain, type FormattedText } from '@tributary/core/matrix/format/index';
import { BridgeError, ErrUnsupported, type MatrixMessage } from '@tributary/core/network/index';
import { deriveOtid } from '../lightspeed/ids.js';
import type { SendMessageInput } from '../lightspeed/tasks.js';
import { parseMetaMessageId, parseMetaUserId } from './meta-ids.js';
import { formatMetaText, type MetaOutgoingText } from './meta-format.js';
import { uploadMatrixMedia, type MetaUploader } from './from-matrix-media.js';
import { STICKER_ID_KEY } from './to-matrix-common.js';

/** Meta's longest text message (fact). */
export const META_MAX_TEXT = 20_000;
export const EMOTE_PREFIX = '/me ';

/** The chat a send goes to. */
export interface MetaSendTarget {
  /** The decimal thread key. */
  threadId: string;
  isGroup: boolean;
}

export function prefixed(ft: FormattedText, prefix: string): FormattedText {
  return { text: prefix + ft.text, entities: ft.entities.map((e) => ({ ...e, offset: e.offset + prefix.length })) };
}

/** FormattedText (mentions as RemoteUserIds) -> Meta text; room mentions only in groups. */
export function textToMeta(ft: FormattedText, target: MetaSendTarget): MetaOutgoingText {
  return formatMetaText(ft, { metaUserIdFor: parseMetaUserId, ...(target.isGroup ? { roomMentionThreadId: target.threadId } : {}) });
}

function checkLength(text: string): void {
  if (text.length > META_MAX_TEXT) {
    throw new BridgeError(`text of ${text.length} characters`, {
      reason: 'm_too_large', userMessage: `The message is too long for Meta (at most ${META_MAX_TEXT} characters)`,
    });
  }
}

function locationText(loc: NonNullable<MatrixMessage['location']>): FormattedText {
  const { latitude, longitude } = loc;
  if (!Number.isFinite(latitude) || !Number.isFinite(longitude) || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) {
    throw new BridgeError(`bad location ${latitude},${longitude}`, { reason: 'm_bad_format', userMessage: 'The location is malformed' });
  }
  const url = `https://www.openstreetmap.org/?mlat=${latitude}&mlon=${longitude}`;
  const name = loc.description?.replace(/\s+/g, ' ').trim();
  const head = name && !name.startsWith('geo:') ? `📍 ${name.slice(0, 256)}\n` : '📍 ';
  return { text: head + url, entities: [{ type: 'link', offset: head.length, length: url.length, url }] };
}

/** The Meta sticker id a Matrix sticker carries when it came from Meta. */
export function metaStickerIdOf(content: Record<string, unknown>): string | undefined {
  const id = content[STICKER_ID_KEY];
  return typeof id === 'string' && /^\d{1,19}$/.test(id) ? id : undefined;
}

export interface MetaSendDeps {
  upload: MetaUploader;
}

/** A Matrix message as SendMessage input; media is uploaded on the way. */
export async function matrixMessageToMeta(msg: MatrixMessage, target: MetaSendTarget, deps: MetaSendDeps): Promise<SendMessageInput> {
  if (!/^\d{1,19}$/.test(target.threadId)) throw new BridgeError('bad thread id', { reason: 'm_not_found', userMessage: 'This chat has no valid Meta thread' });
  const timestamp = Number.isSafeInteger(msg.timestamp) && msg.timestamp > 0 ? msg.timestamp : Date.now();
  const input: SendMessageInput = { threadId: target.threadId, otid: deriveOtid(msg.txnId || msg.eventId, timestamp) };
  if (msg.replyTo) {
    const mid = parseMetaMessageId(msg.replyTo.messageId);
    if (mid) input.replyToMessageId = mid;
  }
  let ft: FormattedText | undefined = msg.text;
  if (msg.location) ft = locationText(msg.location);
  else if (msg.media) {
    const stickerId = msg.media.kind === 'sticker' ? metaStickerIdOf(msg.content ?? {}) : undefined;
    if (stickerId) return { ...input, stickerId };
    input.attachmentFbids = [await uploadMatrixMedia(msg.media, deps.upload)];
    // A sticker's or file's body is its name, not a caption.
    if (msg.media.kind === 'sticker' || ft?.text === msg.media.filename) ft = undefined;
  } else if (!ft) {
    throw ErrUnsupported(`Message type ${msg.msgtype}`);
  }
  if (ft && msg.msgtype === 'm.emote') ft = prefixed(ft, EMOTE_PREFIX);
  const out = textToMeta(ft ?? plain(''), target);
  checkLength(out.text);
  if (out.text.trim() !== '') {
    input.text = out.text;
    if (out.mentions.length > 0) input.mentions = out.mentions.map((m) => ({ userId: m.userId, offset: m.offset, length: m.length, type: m.type }));
    input.textHasLinks = /\bhttps?:\/\//i.test(out.text);
  } else if (!input.attachmentFbids) {
    throw new BridgeError('empty message', { reason: 'm_bad_format', sendNotice: false });
  }
  return input;
}
