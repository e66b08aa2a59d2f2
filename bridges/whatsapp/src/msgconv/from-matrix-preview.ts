/**
 * A link preview a Matrix client attached (`com.beeper.linkpreviews`, MSC4095) -> Baileys'
 * `linkPreview` (WAUrlInfo), which it sends as the extendedTextMessage's matchedText, title and
 * description. The bridge never fetches URLs: only what the client already put in the event is
 * used. The preview image (`og:image`, an mxc URI) is not sent: the outbound converter has no way
 * to download arbitrary Matrix media, so WhatsApp shows the preview without a thumbnail.
 * Baileys rc14 does not copy `canonical-url` into the message, so canonicalUrl stays unset.
 */
import type { WAUrlInfo } from 'baileys';

export const LINK_PREVIEWS_KEY = 'com.beeper.linkpreviews';
const TITLE_MAX = 512;
const DESCRIPTION_MAX = 1024;

function str(v: unknown, max: number): string | undefined {
  return typeof v === 'string' && v.trim() ? Array.from(v.trim()).slice(0, max).join('') : undefined;
}

/**
 * The first preview whose URL appears in the sent text; undefined when there is none (an
 * empty array, malformed entries, a URL that is not in the text, or anything not http(s)).
 */
export function linkPreviewOf(content: Record<string, unknown>, text: string): WAUrlInfo | undefined {
  const previews = content[LINK_PREVIEWS_KEY];
  if (!Array.isArray(previews)) return undefined;
  for (const p of previews) {
    if (!p || typeof p !== 'object') continue;
    const preview = p as Record<string, unknown>;
    const matched = str(preview.matched_url, 2048);
    if (!matched || !/^https?:\/\//i.test(matched) || !text.includes(matched)) continue;
    const canonical = str(preview['og:url'], 2048) ?? matched;
    const title = str(preview['og:title'], TITLE_MAX) ?? '';
    const description = str(preview['og:description'], DESCRIPTION_MAX);
    return { 'canonical-url': canonical, 'matched-text': matched, title, ...(description ? { description } : {}) };
  }
  return undefined;
}
