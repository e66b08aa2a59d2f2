/**
 * Meta attachments the sandbox has no content kind for (stickers, GIFs, and XMA shares: posts,
 * reels, stories, links), carried as sandbox `extension` content so tests and the demo can make a
 * contact send them through the control API. The payload shape is ours (an emulator convention):
 *
 *   payload.meta_attachment = {
 *     type: 'sticker' | 'gif' | 'xma',
 *     media_id?,                  sandbox media: the sticker image, the GIF's video, the XMA preview
 *     mimetype?, width?, height?,
 *     url?, title?, subtitle?,    XMA only: the page it opens and its card's text
 *   }
 *   payload.sticker_id            (stickers) the numeric sticker id, as the send task stores it
 *
 * The attachment rows use Meta's types (facts: 1 sticker, 3 animated image, 7 XMA) and go out
 * without message text: the extension's `fallback` is for clients that know no Meta.
 */
import type { JsonValue, WireMessage } from '@tributary/sandbox/client/index';
import type { LSProgramBuilder } from '../lightspeed/builder.js';
import type { RowContext } from './rows.js';

const TYPE = { sticker: 1, gif: 3, xma: 7 } as const;

export interface MetaAttachmentSpec {
  type: keyof typeof TYPE;
  media_id?: string;
  mimetype?: string;
  width?: number;
  height?: number;
  url?: string;
  title?: string;
  subtitle?: string;
}

const str = (v: JsonValue | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const int = (v: JsonValue | undefined): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

/** The Meta attachment an extension message stands for, or undefined (any other extension). */
export function metaAttachmentOf(msg: Pick<WireMessage, 'content'>): MetaAttachmentSpec | undefined {
  if (msg.content.kind !== 'extension') return undefined;
  const raw = msg.content.payload.meta_attachment;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const type = raw.type;
  if (type !== 'sticker' && type !== 'gif' && type !== 'xma') return undefined;
  const spec: MetaAttachmentSpec = { type };
  for (const key of ['media_id', 'mimetype', 'url', 'title', 'subtitle'] as const) {
    const v = str(raw[key]);
    if (v !== undefined) spec[key] = v;
  }
  for (const key of ['width', 'height'] as const) {
    const v = int(raw[key]);
    if (v !== undefined) spec[key] = v;
  }
  return spec;
}

/** The attachment row of such a message (nothing for a deleted one or a spec without its media). */
export function addExtensionAttachment(b: LSProgramBuilder, msg: WireMessage, threadKey: string, messageId: string, ctx: RowContext): void {
  const spec = msg.deleted ? undefined : metaAttachmentOf(msg);
  if (!spec) return;
  const media = spec.media_id ? ctx.mediaUrl(spec.media_id) : undefined;
  const common = {
    threadKey, messageId, timestampMs: msg.ts, attachmentIndex: 0, attachmentType: TYPE[spec.type],
    ...(spec.width ? { previewWidth: spec.width } : {}),
    ...(spec.height ? { previewHeight: spec.height } : {}),
  };
  if (spec.type === 'xma') {
    b.call('LSInsertAttachment', {
      ...common,
      hasXma: true,
      ...(spec.url ? { actionUrl: spec.url } : {}),
      ...(spec.title ? { titleText: spec.title } : {}),
      ...(spec.subtitle ? { subtitleText: spec.subtitle } : {}),
      ...(media ? { previewUrl: media, previewUrlMimeType: spec.mimetype ?? 'image/jpeg' } : {}),
    });
    return;
  }
  if (!media || !spec.media_id) return;
  const mimetype = spec.mimetype ?? (spec.type === 'gif' ? 'video/mp4' : 'image/png');
  b.call('LSInsertBlobAttachment', {
    ...common,
    attachmentMimeType: mimetype,
    attachmentFbid: spec.media_id,
    filename: spec.type,
    hasMedia: true,
    // A sticker is an image Meta shows from its preview; a GIF plays from its video.
    ...(spec.type === 'sticker' ? { previewUrl: media, previewUrlMimeType: mimetype } : { playableUrl: media, playableUrlMimeType: mimetype }),
  });
}
