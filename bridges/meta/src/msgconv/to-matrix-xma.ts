/**
 * XMA attachments (Meta's "extensible message attachments": shared posts, reels, stories,
 * profiles, links) -> a text message with the link and a link preview (`com.beeper.linkpreviews`,
 * the preview image uploaded). Never dropped: an XMA without a usable URL keeps its title and
 * subtitle in a notice. The media behind a share is not fetched; the link opens it.
 */
import { cleanText, safeLinkUrl, type FormattedText, type TextEntity } from '@tributary/core/matrix/format/index';
import { partId, type ConvertContext, type ConvertedPart, type MatrixContent } from '@tributary/core/network/index';
import { ATTACHMENT_TYPE, type MetaAttachmentRow } from './meta-message.js';
import { EXTERNAL_URL_KEY, LINK_PREVIEWS_KEY, baseMime, unsupportedPart, type MetaConvertDeps } from './to-matrix-common.js';
import type { MetaPlatform } from './meta-ids.js';
import { convertMetaCall, isCallXma } from './to-matrix-call.js';
import { convertMetaLocation, isLocationXma } from './to-matrix-location.js';

export type XmaKind = 'post' | 'reel' | 'story' | 'profile' | 'link';

export const XMA_LABELS: Record<XmaKind, string> = {
  post: 'Shared post', reel: 'Shared reel', story: 'Shared story', profile: 'Shared profile', link: 'Shared link',
};

interface XmaFields {
  actionUrl?: string;
  titleText?: string;
  subtitleText?: string;
  imageUrl?: string;
}

function fieldsOf(att: MetaAttachmentRow): XmaFields {
  return 'actionUrl' in att || 'titleText' in att || 'imageUrl' in att || 'subtitleText' in att ? (att as XmaFields) : {};
}

/** Whether an attachment is an XMA rather than a media file. */
export function isXma(att: MetaAttachmentRow): boolean {
  if ('hasXma' in att && att.hasXma === true) return true;
  if (isLocationXma(att) || isCallXma(att)) return true;
  if (att.attachmentType === ATTACHMENT_TYPE.xma) return true;
  const f = fieldsOf(att);
  return !att.playableUrl && !att.previewUrl && Boolean(f.actionUrl || f.titleText);
}

function oneLine(s: string | undefined, max = 500): string | undefined {
  // eslint-disable-next-line no-control-regex -- removing exactly these
  const clean = s === undefined ? undefined : cleanText(s).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, '').replace(/\s+/g, ' ').trim().slice(0, max);
  return clean ? clean : undefined;
}

/**
 * The page an XMA opens, made absolute (facts: Meta's `l.php?u=` redirect wraps outside links;
 * Instagram's app links name a post by shortcode; relative paths are on the platform's site).
 */
export function canonicalXmaUrl(raw: string | undefined, platform: MetaPlatform): string | undefined {
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  let url = raw.trim();
  const app = /^instagram:\/\/(?:media|reels_share)\/?\?shortcode=([A-Za-z0-9_-]{1,64})/.exec(url);
  if (app) return `https://www.instagram.com/p/${app[1]}/`;
  if (url.startsWith('/') && !url.startsWith('//')) url = `${platform === 'instagram' ? 'https://www.instagram.com' : 'https://www.facebook.com'}${url}`;
  try {
    const parsed = new URL(url);
    if (parsed.pathname === '/l.php' && parsed.searchParams.has('u')) url = parsed.searchParams.get('u') ?? url;
  } catch {
    return undefined;
  }
  const safe = safeLinkUrl(url);
  return safe && /^https?:\/\//i.test(safe) ? safe : undefined;
}

export function xmaKindOf(url: string | undefined): XmaKind {
  if (!url) return 'link';
  let path = '';
  let host = '';
  try {
    const u = new URL(url);
    path = u.pathname;
    host = u.hostname.toLowerCase();
  } catch {
    return 'link';
  }
  if (!/(^|\.)(instagram|facebook|messenger)\.com$/.test(host)) return 'link';
  if (/^\/(reels?|reel_share)\//.test(path) || /^\/[^/]+\/reel\//.test(path)) return 'reel';
  if (/^\/stories\//.test(path)) return 'story';
  if (/^\/(p|tv)\//.test(path) || /\/posts\//.test(path)) return 'post';
  if (host.endsWith('instagram.com') && /^\/[A-Za-z0-9._]{1,30}\/?$/.test(path)) return 'profile';
  return 'link';
}

/** A link preview that Meta made for a URL in the text (fact: those go through `l.php`). */
export function isLinkPreviewXma(att: MetaAttachmentRow): boolean {
  return isXma(att) && /\/l\.php\?/.test(fieldsOf(att).actionUrl ?? '');
}

/** The preview in Beeper's shape, its image uploaded when Meta sent one (a failed upload leaves it out). */
export async function xmaPreview(att: MetaAttachmentRow, ctx: ConvertContext, deps: MetaConvertDeps): Promise<Record<string, unknown> | undefined> {
  const f = fieldsOf(att);
  const url = canonicalXmaUrl(f.actionUrl, deps.platform);
  if (!url) return undefined;
  const preview: Record<string, unknown> = { matched_url: url, 'og:url': url };
  const title = oneLine(f.titleText);
  const description = oneLine(f.subtitleText, 1000);
  if (title) preview['og:title'] = title;
  if (description) preview['og:description'] = description;
  const image = att.previewUrl ?? f.imageUrl;
  if (image) {
    const mimetype = baseMime(att.previewUrlMimeType) ?? 'image/jpeg';
    try {
      const up = await ctx.uploadMedia({ open: () => deps.download(image), mimetype, filename: 'preview' });
      preview['og:image'] = up.url;
      preview['og:image:type'] = up.mimetype || mimetype;
      preview['matrix:image:size'] = up.size;
      if (att.previewWidth) preview['og:image:width'] = att.previewWidth;
      if (att.previewHeight) preview['og:image:height'] = att.previewHeight;
    } catch {
      // The link and its text are what matter; the picture is a nicety.
    }
  }
  return preview;
}

/** A shared post, reel, story, profile or link as its own message part. */
export async function convertMetaXma(att: MetaAttachmentRow, ctx: ConvertContext, deps: MetaConvertDeps): Promise<ConvertedPart> {
  if (isLocationXma(att)) return convertMetaLocation(att, ctx, deps);
  if (isCallXma(att)) return convertMetaCall(att, deps.platform);
  const f = fieldsOf(att);
  const url = canonicalXmaUrl(f.actionUrl, deps.platform);
  const title = oneLine(f.titleText);
  const subtitle = oneLine(f.subtitleText, 1000);
  if (!url) {
    return unsupportedPart(ctx, deps, 'A shared item', [title ?? '', subtitle ?? ''], { xma: 'unknown' });
  }
  const kind = xmaKindOf(url);
  const head = title ? `${XMA_LABELS[kind]}: ${title}` : XMA_LABELS[kind];
  const lines = [head, ...(subtitle ? [subtitle] : [])];
  const prefix = `${lines.join('\n')}\n`;
  const entities: TextEntity[] = [{ type: 'link', offset: prefix.length, length: url.length, url }];
  const ft: FormattedText = { text: prefix + url, entities };
  const content: MatrixContent = ctx.textContent(ft, 'm.text');
  const preview = await xmaPreview(att, ctx, deps);
  if (preview) content[LINK_PREVIEWS_KEY] = [preview];
  content[EXTERNAL_URL_KEY] = url;
  return { id: partId(''), type: 'm.room.message', content, metadata: { xma: kind } };
}
