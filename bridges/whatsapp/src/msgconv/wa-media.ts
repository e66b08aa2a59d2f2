/**
 * WhatsApp media (image, video, GIF, audio, voice note, document, sticker) -> one Matrix event.
 * Bytes are streamed: the MediaSource opens Baileys' decrypting download only when the core uploads.
 * Lottie stickers become their PNG thumbnail (or a notice): Matrix clients cannot play them.
 */
import { Readable } from 'node:stream';
import { partId, type ConvertContext, type ConvertedPart, type MatrixContent, type MediaSource } from '@tributary/core/network/index';
import { downloadMediaMessage, type proto, type WAMessage } from 'baileys';
import type { WAClientPort } from '../client/port.js';
import { GIF_KEY, numberOf, withCaption, type WAConvertDeps } from './wa-common.js';

type DownloadLogger = Parameters<typeof downloadMediaMessage>[3] extends infer C ? C extends { logger: infer L } ? L : never : never;

/** HTTP statuses of an expired WhatsApp CDN link: the phone must re-upload the file. */
const EXPIRED = new Set([404, 410]);

function statusOf(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { output?: { statusCode?: unknown }; status?: unknown };
  const code = e.output?.statusCode ?? e.status;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Downloads and decrypts a message's media. Baileys rc14 checks `error.status` for its own re-upload
 * but its fetch error carries `output.statusCode`, so on 404/410 we ask the phone to re-upload
 * (`updateMediaMessage`) and try once more ourselves.
 */
export function makeWAMediaDownloader(socket: () => WAClientPort, logger: DownloadLogger): (msg: WAMessage) => Promise<Readable> {
  return async (msg) => {
    const sock = socket();
    const ctx = { reuploadRequest: (m: WAMessage) => sock.updateMediaMessage(m), logger };
    try {
      return await downloadMediaMessage(msg, 'stream', {}, ctx);
    } catch (err) {
      const status = statusOf(err);
      if (status === undefined || !EXPIRED.has(status)) throw err;
      const fresh = await sock.updateMediaMessage(msg);
      return downloadMediaMessage(fresh, 'stream', {}, ctx);
    }
  };
}

/** MSC1767 waveform (0..1024) from WhatsApp's (one byte per sample, 0..100). */
export function waveformOf(bytes: Uint8Array | null | undefined): number[] | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  return Array.from(bytes, (b) => Math.round((Math.min(b, 100) / 100) * 1024));
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif', 'video/mp4': 'mp4',
  'audio/ogg': 'ogg', 'audio/mpeg': 'mp3', 'audio/mp4': 'm4a', 'application/pdf': 'pdf',
};

function baseMime(mimetype: string): string {
  return mimetype.split(';')[0]?.trim() || 'application/octet-stream';
}

function defaultName(kind: string, mimetype: string): string {
  const ext = EXTENSIONS[baseMime(mimetype)];
  return ext ? `${kind}.${ext}` : kind;
}

/** WhatsApp's mimetype for Lottie stickers (a zipped Lottie animation), and Lottie's own. */
const LOTTIE_MIMES = new Set(['application/was', 'application/x-lottie', 'application/json']);
export const LOTTIE_STICKER_NOTICE = 'Animated sticker (not shown in Matrix)';

function isLottieSticker(media: Partial<proto.Message.IStickerMessage>, mimetype: string): boolean {
  return media.isLottie === true || LOTTIE_MIMES.has(baseMime(mimetype).toLowerCase());
}

/**
 * Matrix clients cannot play Lottie: its PNG thumbnail becomes the sticker when the message has
 * one, else a notice says there was a sticker (it is never dropped). The animation is not converted.
 */
async function convertLottieSticker(media: Partial<proto.Message.IStickerMessage>, ctx: ConvertContext): Promise<ConvertedPart> {
  const png = media.pngThumbnail;
  if (!png || png.length === 0) {
    return { id: partId(''), type: 'm.room.message', content: { msgtype: 'm.notice', body: LOTTIE_STICKER_NOTICE }, metadata: { lottie: true } };
  }
  const bytes = Buffer.from(png);
  const up = await ctx.uploadMedia({ open: async () => Readable.from([bytes]), mimetype: 'image/png', filename: 'sticker.png', size: bytes.length });
  const info: Record<string, unknown> = { mimetype: up.mimetype || 'image/png', size: up.size };
  if (media.width) info.w = media.width;
  if (media.height) info.h = media.height;
  return { id: partId(''), type: 'm.sticker', content: { body: 'sticker', url: up.url, info }, metadata: { lottie: true } };
}

type AnyMedia = proto.Message.IImageMessage & proto.Message.IVideoMessage & proto.Message.IAudioMessage
  & proto.Message.IDocumentMessage & proto.Message.IStickerMessage;

export type WAMediaKind = 'imageMessage' | 'videoMessage' | 'audioMessage' | 'documentMessage' | 'stickerMessage';

/** Converts the media payload `media` (of content type `kind`) of `msg`. */
export async function convertWAMedia(
  msg: WAMessage, kind: WAMediaKind, media: Partial<AnyMedia>, info: proto.IContextInfo | undefined,
  ctx: ConvertContext, deps: WAConvertDeps,
): Promise<ConvertedPart> {
  const defaultMime = { imageMessage: 'image/jpeg', videoMessage: 'video/mp4', audioMessage: 'audio/ogg', documentMessage: 'application/octet-stream', stickerMessage: 'image/webp' }[kind];
  const mimetype = media.mimetype || defaultMime;
  const short = kind.replace('Message', '');
  const isVoice = kind === 'audioMessage' && Boolean(media.ptt);
  const isGif = kind === 'videoMessage' && Boolean(media.gifPlayback);
  const filename = (kind === 'documentMessage' && (media.fileName || media.title)) || defaultName(isVoice ? 'voice' : isGif ? 'gif' : short, mimetype);
  if (kind === 'stickerMessage' && isLottieSticker(media, mimetype)) return convertLottieSticker(media, ctx);
  const size = numberOf(media.fileLength);
  const source: MediaSource = {
    open: () => deps.downloadMedia(msg), mimetype: baseMime(mimetype), filename,
    ...(size !== undefined ? { size } : {}),
  };
  const up = await ctx.uploadMedia(source);
  const fileInfo: Record<string, unknown> = { mimetype: up.mimetype || baseMime(mimetype), size: up.size };
  if (media.width) fileInfo.w = media.width;
  if (media.height) fileInfo.h = media.height;
  const durationMs = media.seconds ? media.seconds * 1000 : undefined;
  if (durationMs !== undefined) fileInfo.duration = durationMs;

  if (kind === 'stickerMessage') {
    // Animated stickers stay animated WebP: Matrix clients that render WebP animate them.
    const content: MatrixContent = { body: 'sticker', url: up.url, info: fileInfo };
    return { id: partId(''), type: 'm.sticker', content, ...(media.isAnimated ? { metadata: { animated: true } } : {}) };
  }

  const msgtype = { imageMessage: 'm.image', videoMessage: 'm.video', audioMessage: 'm.audio', documentMessage: 'm.file' }[kind];
  let content: MatrixContent = { msgtype, body: filename, filename, url: up.url, info: fileInfo };
  if (isGif) content[GIF_KEY] = true;
  if (kind === 'audioMessage') {
    const waveform = waveformOf(media.waveform);
    content['org.matrix.msc1767.audio'] = { ...(durationMs !== undefined ? { duration: durationMs } : {}), ...(waveform ? { waveform } : {}) };
    if (isVoice) content['org.matrix.msc3245.voice'] = {};
  }
  content = await withCaption(content, media.caption, info, ctx, deps);
  return { id: partId(''), type: 'm.room.message', content };
}
