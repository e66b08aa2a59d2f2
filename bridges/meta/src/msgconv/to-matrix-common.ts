/** What the Meta -> Matrix converters share: their dependencies, notices and content keys. */
import type { Readable } from 'node:stream';
import { cleanText } from '@tributary/core/matrix/format/index';
import { partId, type ConvertContext, type ConvertedPart, type MatrixContent } from '@tributary/core/network/index';
import { platformName, threadWebUrl, type MetaPlatform } from './meta-ids.js';

export interface MetaConvertDeps {
  platform: MetaPlatform;
  /** Opens a Meta media URL (the client adds its cookies, limits and retries). */
  download(url: string): Promise<Readable>;
}

/** Beeper's link preview list (og:* keys), as the WhatsApp converter writes it. */
export const LINK_PREVIEWS_KEY = 'com.beeper.linkpreviews';
/** Our mark for a GIF sent as a looping silent video (shared with the WhatsApp bridge). */
export const GIF_KEY = 'net.tributary.gif';
/** The Meta sticker id of a bridged sticker, so a Matrix resend can send the same sticker. */
export const STICKER_ID_KEY = 'net.tributary.meta.sticker_id';
/** The page a shared post, reel or story opens. */
export const EXTERNAL_URL_KEY = 'external_url';
export const FORWARDED_KEY = 'net.tributary.forwarded';

/** Flags Beeper-style clients read to show a video as a GIF (facts: these keys under `info`). */
export const GIF_INFO_FLAGS: Readonly<Record<string, boolean>> = {
  'fi.mau.gif': true, 'fi.mau.loop': true, 'fi.mau.autoplay': true, 'fi.mau.hide_controls': true, 'fi.mau.no_audio': true,
};

/** A notice; its text is cleaned (no control characters, no lone surrogates), as Meta's text may not be. */
export function noticePart(body: string, metadata?: Record<string, unknown>): ConvertedPart {
  return { id: partId(''), type: 'm.room.message', content: { msgtype: 'm.notice', body: cleanText(body) }, ...(metadata ? { metadata } : {}) };
}

/**
 * A notice for what cannot be shown in Matrix, with a link to the chat in Meta's own client so the
 * person can look there; `detail` (a title, a URL) is kept so nothing is silently lost.
 */
export function unsupportedPart(ctx: ConvertContext, deps: MetaConvertDeps, what: string, detail: string[], metadata: Record<string, unknown>): ConvertedPart {
  const app = platformName(deps.platform);
  const url = threadWebUrl(deps.platform, ctx.portal.key.id);
  const lines = [`${what}: open it in ${app} to see it.`, ...detail.filter((d) => d.trim() !== '')];
  if (url) lines.push(`Open in ${app}: ${url}`);
  return noticePart(lines.join('\n'), { unsupported: true, ...metadata });
}

/** Puts a caption's body, HTML and mentions over media content (the body of media is its caption in Matrix). */
export function withCaption(content: MatrixContent, caption: MatrixContent | undefined): MatrixContent {
  if (!caption || typeof caption.body !== 'string' || caption.body === '') return content;
  const out: MatrixContent = { ...content, body: caption.body };
  for (const key of ['format', 'formatted_body', 'm.mentions']) if (caption[key] !== undefined) out[key] = caption[key];
  return out;
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif', 'video/mp4': 'mp4', 'video/quicktime': 'mov',
  'audio/mpeg': 'mp3', 'audio/mp4': 'm4a', 'audio/ogg': 'ogg', 'audio/aac': 'aac', 'application/pdf': 'pdf',
};

export function baseMime(mimetype: string | undefined): string | undefined {
  const base = mimetype?.split(';')[0]?.trim().toLowerCase();
  return base && /^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(base) ? base : undefined;
}

/** "image.jpg", "voice.m4a"...: a name for media Meta sent without one. */
export function defaultFilename(kind: string, mimetype: string | undefined): string {
  const ext = EXTENSIONS[mimetype ?? ''];
  return ext ? `${kind}.${ext}` : kind;
}

/** A filename without control characters or path separators, at most 255 characters. */
export function cleanFilename(name: string | undefined): string | undefined {
  // eslint-disable-next-line no-control-regex -- removing exactly these
  const clean = name === undefined ? undefined : cleanText(name).replace(/[\u0000-\u001f\u007f-\u009f/\\]/g, '').trim().slice(0, 255);
  return clean ? clean : undefined;
}
