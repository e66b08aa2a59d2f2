/**
 * WhatsApp message -> Matrix: unwraps the wrappers (disappearing, view-once, document with
 * caption), picks the kind and hands it to its converter (wa-<kind>.ts), then adds what every kind
 * shares: the reply target, the forwarded mark and the disappearing timer.
 */
import {
  partId, type ConvertContext, type ConvertedEdit, type ConvertedMessage, type ConvertedPart, type MessageId, type PartId,
} from '@tributary/core/network/index';
import { normalizeMessageContent, type proto, type WAMessage } from 'baileys';
import { makeMessageId, userIdFromJid } from '../connector/ids.js';
import { contextInfoOf, waTextContent, type WAConvertDeps } from './wa-common.js';
import { convertWAContacts } from './wa-contact.js';
import { convertWALocation } from './wa-location.js';
import { convertWAMedia, type WAMediaKind } from './wa-media.js';
import { convertWAPoll } from './wa-poll.js';
import { convertWAText } from './wa-textmsg.js';

export type { WAConvertDeps } from './wa-common.js';
export { makeWAMediaDownloader } from './wa-media.js';

export const VIEW_ONCE_NOTICE = 'view-once message: open it on your phone';

const MEDIA_KINDS: readonly WAMediaKind[] = ['imageMessage', 'videoMessage', 'audioMessage', 'documentMessage', 'stickerMessage'];

/** Whether the message was sent as view-once (any wrapper, or the flag on the media). */
export function isViewOnce(msg: proto.IWebMessageInfo): boolean {
  const raw = msg.message;
  if (!raw) return false;
  if ((msg.key as { isViewOnce?: boolean } | null | undefined)?.isViewOnce) return true;
  const eph = raw.ephemeralMessage?.message ?? raw;
  if (eph.viewOnceMessage || eph.viewOnceMessageV2 || eph.viewOnceMessageV2Extension) return true;
  const inner = normalizeMessageContent(raw);
  return Boolean(inner?.imageMessage?.viewOnce || inner?.videoMessage?.viewOnce || inner?.audioMessage?.viewOnce);
}

/** The `messageSecret` of a message (polls and events encrypt their votes with it). */
export function messageSecretOf(raw: proto.IMessage | null | undefined): Uint8Array | undefined {
  let m: proto.IMessage | null | undefined = raw;
  for (let i = 0; m && i < 5; i++) {
    const secret = m.messageContextInfo?.messageSecret;
    if (secret && secret.length) return secret;
    m = m.ephemeralMessage?.message ?? m.viewOnceMessage?.message ?? m.viewOnceMessageV2?.message ?? m.documentWithCaptionMessage?.message;
  }
  return undefined;
}

/** The message's reply target as a core MessageId in this portal. */
export async function replyTargetOf(info: proto.IContextInfo | undefined, ctx: ConvertContext, deps: WAConvertDeps): Promise<MessageId | undefined> {
  if (!info?.stanzaId) return undefined;
  const senderJid = info.participant || info.remoteJid || (ctx.portal.isDm ? ctx.portal.key.id : undefined);
  const sender = senderJid ? await userIdFromJid(senderJid, deps.lids) : undefined;
  return sender ? makeMessageId(ctx.portal.key.id, sender, info.stanzaId) : undefined;
}

function notice(body: string, metadata?: Record<string, unknown>): ConvertedPart {
  return { id: partId(''), type: 'm.room.message', content: { msgtype: 'm.notice', body }, ...(metadata ? { metadata } : {}) };
}

async function partsOf(msg: WAMessage, content: proto.IMessage, info: proto.IContextInfo | undefined, ctx: ConvertContext, deps: WAConvertDeps): Promise<ConvertedPart[]> {
  if (typeof content.conversation === 'string' && content.conversation) return [await convertWAText(content.conversation, undefined, info, ctx, deps)];
  if (content.extendedTextMessage) return [await convertWAText(content.extendedTextMessage.text ?? '', content.extendedTextMessage, info, ctx, deps)];
  for (const kind of MEDIA_KINDS) {
    const media = content[kind];
    if (media) return [await convertWAMedia(msg, kind, media, info, ctx, deps)];
  }
  if (content.ptvMessage) return [await convertWAMedia(msg, 'videoMessage', content.ptvMessage, info, ctx, deps)];
  if (content.locationMessage) return [convertWALocation(content.locationMessage, Boolean(content.locationMessage.isLive))];
  if (content.liveLocationMessage) return [convertWALocation(content.liveLocationMessage, true)];
  if (content.contactMessage) return convertWAContacts([content.contactMessage], ctx);
  if (content.contactsArrayMessage) return convertWAContacts(content.contactsArrayMessage.contacts ?? [], ctx);
  const poll = content.pollCreationMessage ?? content.pollCreationMessageV2 ?? content.pollCreationMessageV3;
  if (poll) return [convertWAPoll(poll, messageSecretOf(msg.message), ctx)];
  const kind = Object.keys(content).find((k) => k !== 'messageContextInfo' && k !== 'senderKeyDistributionMessage') ?? 'empty';
  return [notice(`Unsupported WhatsApp message (${kind}); open it on your phone.`, { unsupported: kind })];
}

/** Converts a WhatsApp message (live or from history) into Matrix events. */
export async function convertWAMessage(message: proto.IWebMessageInfo, ctx: ConvertContext, deps: WAConvertDeps): Promise<ConvertedMessage> {
  const msg = message as WAMessage;
  const content = normalizeMessageContent(msg.message) ?? {};
  const info = contextInfoOf(content);
  const parts = isViewOnce(msg) ? [notice(VIEW_ONCE_NOTICE, { viewOnce: true })] : await partsOf(msg, content, info, ctx, deps);
  const reply = await replyTargetOf(info, ctx, deps);
  const expiration = info?.expiration ?? 0;
  return {
    parts,
    ...(reply ? { replyTo: { messageId: reply } } : {}),
    ...(expiration > 0 ? { disappear: { type: 'after_send' as const, timerMs: expiration * 1000 } } : {}),
  };
}

/**
 * The new content of an edited message. WhatsApp edits text or a caption; the edit replaces the
 * first part's text (a caption edit becomes the new text of the media's event body).
 */
export async function convertWAEdit(edited: proto.IMessage, existingParts: PartId[], ctx: ConvertContext, deps: WAConvertDeps): Promise<ConvertedEdit> {
  const content = normalizeMessageContent(edited) ?? {};
  const info = contextInfoOf(content);
  const media = MEDIA_KINDS.map((k) => content[k]).find((m) => m) as { caption?: string | null } | undefined;
  const text = content.conversation ?? content.extendedTextMessage?.text ?? media?.caption ?? '';
  const body = await waTextContent(text, info, ctx, deps);
  const target = existingParts.includes(partId('')) || existingParts.length === 0 ? partId('') : (existingParts[0] as PartId);
  return { modifiedParts: [{ partId: target, content: body }] };
}
