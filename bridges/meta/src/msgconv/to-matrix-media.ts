/**
 * One Meta media attachment (image, GIF, video, voice clip, file, sticker) -> one Matrix event.
 * Bytes are streamed: the MediaSource opens the download only when the core uploads (or first, to
 * read a type Meta did not give). A download or upload that fails becomes a notice saying so,
 * never a lost attachment.
 */
import type { Readable } from 'node:stream';
import {
  isBridgeError, partId, type ConvertContext, type ConvertedPart, type MatrixContent, type MediaSource,
} from '@tributary/core/network/index';
import { ATTACHMENT_TYPE, type MetaAttachmentRow } from './meta-message.js';
import { sniffStream } from './mime-sniff.js';
import {
  GIF_INFO_FLAGS, GIF_KEY, STICKER_ID_KEY, baseMime, cleanFilename, defaultFilename, unsupportedPart, withCaption, type MetaConvertDeps,
} from './to-matrix-common.js';

export type MetaMediaKind = 'image' | 'gif' | 'video' | 'voice' | 'audio' | 'file' | 'sticker';

const STICKER_TYPES: ReadonlySet<number> = new Set([ATTACHMENT_TYPE.sticker, ATTACHMENT_TYPE.selfieSticker, ATTACHMENT_TYPE.thirdPartySticker]);

/** Meta's web client shows every sticker at 96x96 (fact); their own sizes say little. */
const STICKER_SIZE = 96;

/** The URL and type to fetch: the playable file when there is one, else the preview image. */
export function mediaSourceOf(att: MetaAttachmentRow): { url: string; mimetype?: string; isPreview: boolean } | undefined {
  if (att.playableUrl) {
    const mimetype = baseMime(att.playableUrlMimeType) ?? baseMime(att.attachmentMimeType);
    return { url: att.playableUrl, isPreview: false, ...(mimetype ? { mimetype } : {}) };
  }
  if (att.previewUrl) {
    const mimetype = baseMime(att.previewUrlMimeType) ?? baseMime(att.attachmentMimeType);
    return { url: att.previewUrl, isPreview: true, ...(mimetype ? { mimetype } : {}) };
  }
  return undefined;
}

/** What the attachment is, from Meta's type, else from its mimetype. */
export function mediaKindOf(att: MetaAttachmentRow, mimetype: string | undefined): MetaMediaKind {
  const type = att.attachmentType ?? ATTACHMENT_TYPE.none;
  if (STICKER_TYPES.has(type)) return 'sticker';
  switch (type) {
    case ATTACHMENT_TYPE.image:
      return 'image';
    case ATTACHMENT_TYPE.animatedImage:
      return mimetype?.startsWith('video/') ? 'gif' : 'image';
    case ATTACHMENT_TYPE.video:
      return 'video';
    case ATTACHMENT_TYPE.audio:
      // Meta's audio attachments are voice clips recorded in the app (fact).
      return 'voice';
    case ATTACHMENT_TYPE.soundBite:
      return 'audio';
    case ATTACHMENT_TYPE.file:
      return 'file';
    default: {
      const major = mimetype?.split('/')[0];
      return major === 'image' ? 'image' : major === 'video' ? 'video' : major === 'audio' ? 'audio' : 'file';
    }
  }
}

const MSGTYPE: Record<Exclude<MetaMediaKind, 'sticker'>, string> = {
  image: 'm.image', gif: 'm.video', video: 'm.video', voice: 'm.audio', audio: 'm.audio', file: 'm.file',
};

function positive(n: number | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0;
}

/**
 * Converts a media attachment. `caption` (text content of the same message) is laid over it when
 * the message has exactly one attachment, as Matrix shows a caption.
 */
export async function convertMetaMedia(
  att: MetaAttachmentRow, ctx: ConvertContext, deps: MetaConvertDeps, caption?: MatrixContent, stickerId?: string,
): Promise<ConvertedPart> {
  // View-once media is meant to be seen once, in Meta's app: a copy kept in a Matrix room would
  // break that promise to the sender, so only a notice is bridged (mautrix-meta's default too).
  if (att.attachmentType === ATTACHMENT_TYPE.ephemeralImage || att.attachmentType === ATTACHMENT_TYPE.ephemeralVideo) {
    const what = att.attachmentType === ATTACHMENT_TYPE.ephemeralImage ? 'A view-once photo' : 'A view-once video';
    return unsupportedPart(ctx, deps, what, [], { viewOnce: true });
  }
  const source = mediaSourceOf(att);
  const name = cleanFilename(att.filename);
  if (!source) return unsupportedPart(ctx, deps, 'An attachment without a file', name ? [name] : [], { attachmentType: att.attachmentType ?? null });
  const kind = mediaKindOf(att, source.mimetype);
  const size = !source.isPreview && positive(att.filesize) ? att.filesize : undefined;
  let up;
  let mimetype = source.mimetype ?? (kind === 'sticker' ? 'image/png' : undefined);
  let filename = '';
  try {
    // No mimetype (Instagram's attachments carry none): the file's first bytes name it.
    let opened: Readable | undefined;
    if (mimetype === undefined) ({ mimetype, stream: opened } = await sniffStream(await deps.download(source.url)));
    mimetype ??= 'application/octet-stream';
    filename = (kind === 'file' || kind === 'audio' ? name : undefined) ?? defaultFilename(kind, mimetype);
    const open = async (): Promise<Readable> => {
      const ready = opened;
      opened = undefined;
      return ready ?? deps.download(source.url);
    };
    const media: MediaSource = { open, mimetype, filename, ...(size !== undefined ? { size } : {}) };
    up = await ctx.uploadMedia(media);
  } catch (err) {
    const why = isBridgeError(err) && err.reason === 'm_too_large' ? 'too large to bridge' : 'could not be downloaded';
    return unsupportedPart(ctx, deps, `An attachment (${kind}) ${why}`, name ? [name] : [], { failed: kind, reason: isBridgeError(err) ? err.reason : 'download' });
  }
  const info: Record<string, unknown> = { mimetype: up.mimetype || mimetype, size: up.size };
  if (kind === 'sticker') {
    info.w = STICKER_SIZE;
    info.h = STICKER_SIZE;
    const content: MatrixContent = { body: name ?? 'sticker', url: up.url, info };
    if (stickerId) content[STICKER_ID_KEY] = stickerId;
    return { id: partId(''), type: 'm.sticker', content };
  }
  if (positive(att.previewWidth)) info.w = att.previewWidth;
  if (positive(att.previewHeight)) info.h = att.previewHeight;
  if (positive(att.playableDurationMs)) info.duration = att.playableDurationMs;
  if (kind === 'gif') Object.assign(info, GIF_INFO_FLAGS);
  let content: MatrixContent = { msgtype: MSGTYPE[kind], body: filename, filename, url: up.url, info };
  if (kind === 'gif') content[GIF_KEY] = true;
  if (kind === 'voice' || kind === 'audio') {
    content['org.matrix.msc1767.audio'] = positive(att.playableDurationMs) ? { duration: att.playableDurationMs } : {};
    if (kind === 'voice') content['org.matrix.msc3245.voice'] = {};
  }
  content = withCaption(content, caption);
  return { id: partId(''), type: 'm.room.message', content };
}
