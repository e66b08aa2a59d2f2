/**
 * WhatsApp text (conversation, extendedTextMessage) -> m.text with formatting and mentions, and the
 * link preview WhatsApp attached as `com.beeper.linkpreviews`.
 */
import { Readable } from 'node:stream';
import { partId, type ConvertContext, type ConvertedPart, type MatrixContent } from '@tributary/core/network/index';
import type { proto } from 'baileys';
import { waTextContent, type WAConvertDeps } from './wa-common.js';

export const LINK_PREVIEWS_KEY = 'com.beeper.linkpreviews';

/** Link preview in Beeper's shape (og:* keys), with the thumbnail uploaded when WhatsApp sent one. */
export async function linkPreviewOf(ext: proto.Message.IExtendedTextMessage, ctx: ConvertContext): Promise<Record<string, unknown> | undefined> {
  const matched = ext.matchedText?.trim();
  if (!matched) return undefined;
  const preview: Record<string, unknown> = { matched_url: matched, 'og:url': matched };
  if (ext.title) preview['og:title'] = ext.title;
  if (ext.description) preview['og:description'] = ext.description;
  const thumb = ext.jpegThumbnail;
  if (thumb && thumb.length > 0) {
    const bytes = Buffer.from(thumb);
    const up = await ctx.uploadMedia({ open: async () => Readable.from([bytes]), mimetype: 'image/jpeg', size: bytes.length, filename: 'preview.jpg' });
    preview['og:image'] = up.url;
    preview['og:image:type'] = 'image/jpeg';
    preview['matrix:image:size'] = up.size;
    if (ext.thumbnailWidth) preview['og:image:width'] = ext.thumbnailWidth;
    if (ext.thumbnailHeight) preview['og:image:height'] = ext.thumbnailHeight;
  }
  return preview;
}

export async function convertWAText(
  text: string, ext: proto.Message.IExtendedTextMessage | undefined, info: proto.IContextInfo | undefined,
  ctx: ConvertContext, deps: WAConvertDeps,
): Promise<ConvertedPart> {
  const content: MatrixContent = await waTextContent(text, info, ctx, deps);
  const preview = ext ? await linkPreviewOf(ext, ctx) : undefined;
  if (preview) content[LINK_PREVIEWS_KEY] = [preview];
  return { id: partId(''), type: 'm.room.message', content };
}
