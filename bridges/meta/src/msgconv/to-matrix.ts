/**
 * Meta message -> Matrix: the message row's text (formatting, mentions), its attachments (media,
 * stickers, shares), the reply target, the forwarded mark, and the placeholders for what cannot
 * be shown (an unsent message, an unknown attachment): something always reaches the room.
 *
 * Parts: one part has id ''. With several, the text part is '' (edits change the text) and the
 * attachments are `att<n>` in Meta's order; without text the first attachment is ''. A single
 * media attachment with text becomes one media event with the text as its caption.
 */
import type { FormattedText } from '@tributary/core/matrix/format/index';
import {
  partId, type ConvertContext, type ConvertedEdit, type ConvertedMessage, type ConvertedPart, type MatrixContent, type PartId,
} from '@tributary/core/network/index';
import type { LSRow } from '../lightspeed/tables.js';
import { makeMetaMessageId } from './meta-ids.js';
import { REPLY_SOURCE_MESSAGE, THUMBS_UP_STICKER_IDS, type MetaMessage, type MetaMessageRow } from './meta-message.js';
import { mentionEntities, parseMetaMentions } from './meta-mentions.js';
import { parseMetaText } from './meta-text.js';
import { FORWARDED_KEY, LINK_PREVIEWS_KEY, noticePart, unsupportedPart, type MetaConvertDeps } from './to-matrix-common.js';
import { convertMetaMedia, mediaKindOf, mediaSourceOf } from './to-matrix-media.js';
import { convertMetaXma, isLinkPreviewXma, isXma, xmaPreview } from './to-matrix-xma.js';

export type { MetaConvertDeps } from './to-matrix-common.js';

export const UNSENT_NOTICE = 'This message was unsent.';
export const FORWARDED_PREFIX = '↷ Forwarded';
export const THUMBS_UP = '👍';

/** The row's text with formatting and mentions (mention entities hold RemoteUserIds). */
export function metaFormattedText(row: Pick<MetaMessageRow, 'text' | 'mentionOffsets' | 'mentionLengths' | 'mentionIds' | 'mentionTypes'>): FormattedText {
  const text = typeof row.text === 'string' ? row.text : '';
  return parseMetaText(text, mentionEntities(parseMetaMentions(row, text.length)));
}

/** Puts "↷ Forwarded" (italic) on its own line before the text. */
export function withForwardedPrefix(ft: FormattedText): FormattedText {
  const head = ft.text ? `${FORWARDED_PREFIX}\n` : FORWARDED_PREFIX;
  return {
    text: head + ft.text,
    entities: [{ type: 'italic', offset: 0, length: FORWARDED_PREFIX.length }, ...ft.entities.map((e) => ({ ...e, offset: e.offset + head.length }))],
  };
}

function isStickerAttachment(msg: MetaMessage, i: number): boolean {
  const att = msg.attachments[i];
  if (!att) return false;
  return mediaKindOf(att, mediaSourceOf(att)?.mimetype) === 'sticker';
}

async function textPart(msg: MetaMessage, text: FormattedText, ctx: ConvertContext, deps: MetaConvertDeps, previews: MetaMessage['attachments']): Promise<MatrixContent | undefined> {
  if (text.text.trim() === '') return undefined;
  const content = ctx.textContent(text, msg.row.isAdminMessage ? 'm.notice' : 'm.text');
  const list: Record<string, unknown>[] = [];
  for (const att of previews) {
    const preview = await xmaPreview(att, ctx, deps);
    if (preview) list.push(preview);
  }
  if (list.length > 0) content[LINK_PREVIEWS_KEY] = list;
  if (msg.row.isForwarded) content[FORWARDED_KEY] = true;
  return content;
}

/** Converts a message (live or from history) into Matrix events. */
export async function convertMetaMessage(msg: MetaMessage, ctx: ConvertContext, deps: MetaConvertDeps): Promise<ConvertedMessage> {
  const { row } = msg;
  if (row.isUnsent) return { parts: [noticePart(UNSENT_NOTICE, { unsent: true })] };
  let text = metaFormattedText(row);
  let attachments = msg.attachments;
  const thumbsUp = row.stickerId !== undefined && THUMBS_UP_STICKER_IDS.has(row.stickerId);
  if (thumbsUp) {
    attachments = attachments.filter((_, i) => !isStickerAttachment(msg, i));
    if (text.text === '') text = { text: THUMBS_UP, entities: [] };
  }
  if (row.isForwarded) text = withForwardedPrefix(text);
  const hasText = text.text.trim() !== '';
  const previews = hasText ? attachments.filter(isLinkPreviewXma) : [];
  const rest = attachments.filter((a) => !previews.includes(a));
  const textContent = await textPart(msg, text, ctx, deps, previews);

  const media = rest.filter((a) => !isXma(a));
  const stickerId = row.stickerId !== undefined && !thumbsUp ? row.stickerId : undefined;
  // One media attachment and text: one event with a caption.
  if (media.length === 1 && rest.length === 1 && textContent && !row.isAdminMessage) {
    const part = await convertMetaMedia(media[0]!, ctx, deps, textContent, stickerId);
    // A sticker holds no caption, and a failed attachment's notice must not swallow the text.
    if (part.type === 'm.sticker' || part.content.msgtype === 'm.notice') {
      return withReply(row, [{ ...part, id: partId('att0') }, { id: partId(''), type: 'm.room.message', content: textContent }]);
    }
    return withReply(row, [part]);
  }
  const attParts: ConvertedPart[] = [];
  for (const att of rest) {
    attParts.push(isXma(att) ? await convertMetaXma(att, ctx, deps) : await convertMetaMedia(att, ctx, deps, undefined, stickerId));
  }
  if (stickerId !== undefined && !attParts.some((p) => p.type === 'm.sticker')) {
    attParts.push(unsupportedPart(ctx, deps, 'A sticker', [], { stickerId }));
  }
  const parts: ConvertedPart[] = [];
  attParts.forEach((p, i) => parts.push({ ...p, id: partId(textContent || i > 0 ? `att${i}` : '') }));
  if (textContent) parts.push({ id: partId(''), type: 'm.room.message', content: textContent });
  if (parts.length === 0) parts.push(unsupportedPart(ctx, deps, 'A message Matrix cannot show', [], { empty: true }));
  return withReply(row, parts);
}

function withReply(row: MetaMessageRow, parts: ConvertedPart[]): ConvertedMessage {
  const replyToMessage = row.replySourceId && (row.replySourceType === undefined || row.replySourceType === REPLY_SOURCE_MESSAGE);
  return { parts, ...(replyToMessage ? { replyTo: { messageId: makeMetaMessageId(row.replySourceId as string) } } : {}) };
}

/**
 * The new content of an edited message. Meta edits text only (its edit row carries no mentions),
 * so the edit replaces the text part ('' when it exists, else the first part).
 */
export function convertMetaEdit(row: LSRow<'LSEditMessage'>, existingParts: readonly PartId[], ctx: ConvertContext): ConvertedEdit {
  const text = parseMetaText(row.text ?? '');
  const target = existingParts.length === 0 || existingParts.includes(partId('')) ? partId('') : (existingParts[0] as PartId);
  return { modifiedParts: [{ partId: target, content: ctx.textContent(text, 'm.text') }] };
}
