/**
 * Matrix media -> Baileys media content. The file is streamed (`{ stream }`) straight from
 * the Matrix media repository into Baileys' encryptor, through a counter that stops it at
 * the size WhatsApp accepts for its kind, so a file of unknown size never fills the disk.
 *
 * - image -> imageMessage, video -> videoMessage (with caption, mentions, dimensions);
 * - audio -> audioMessage; a voice message (MSC3245) becomes a voice note (`ptt`) with its
 *   waveform resampled to WhatsApp's 64 values of 0-100, and `seconds` from the duration;
 * - file -> documentMessage with fileName, mimetype and caption;
 * - sticker -> stickerMessage when it is WebP (WhatsApp stickers are WebP), else an image.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ErrTooLarge, type MatrixMedia } from '@tributary/core/network/index';
import type { AnyMediaMessageContent } from 'baileys';

export type WAMediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';

/** Largest file WhatsApp takes per kind, in bytes. */
export type WAMediaLimits = Readonly<Record<WAMediaKind, number>>;

const MIB = 1024 * 1024;

export const WA_MEDIA_LIMITS: WAMediaLimits = {
  image: 16 * MIB,
  video: 100 * MIB,
  audio: 16 * MIB,
  sticker: 1 * MIB,
  document: 2000 * MIB,
};

/** WhatsApp's waveform: 64 samples, each 0-100. */
export const WA_WAVEFORM_SAMPLES = 64;

/** The WhatsApp kind a Matrix media is sent as. */
export function waMediaKindOf(media: Pick<MatrixMedia, 'kind' | 'mimetype'>): WAMediaKind {
  switch (media.kind) {
    case 'image':
      return 'image';
    case 'video':
      return 'video';
    case 'audio':
      return 'audio';
    case 'sticker':
      return baseMime(media.mimetype) === 'image/webp' ? 'sticker' : 'image';
    default:
      return 'document';
  }
}

function baseMime(mimetype: string): string {
  return (mimetype.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * An MSC3245 waveform (values 0-1024, any count) as WhatsApp's 64 bytes of 0-100: each
 * output sample is the peak of its slice of the input. Undefined for an empty or bad input.
 */
export function waveformToWhatsApp(values: readonly number[] | undefined): Uint8Array | undefined {
  if (!Array.isArray(values) || values.length === 0) return undefined;
  const clean = values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? Math.min(Math.max(v, 0), 1024) : 0));
  const out = new Uint8Array(WA_WAVEFORM_SAMPLES);
  for (let i = 0; i < WA_WAVEFORM_SAMPLES; i++) {
    const from = Math.floor((i * clean.length) / WA_WAVEFORM_SAMPLES);
    const to = Math.max(from + 1, Math.floor(((i + 1) * clean.length) / WA_WAVEFORM_SAMPLES));
    let peak = 0;
    for (let k = from; k < to && k < clean.length; k++) peak = Math.max(peak, clean[k] ?? 0);
    out[i] = Math.round((peak / 1024) * 100);
  }
  return out;
}

/** Passes bytes through and fails with m_too_large once more than `max` went by. */
export function capStream(source: Readable, max: number): Readable {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      if (seen > max) {
        done(ErrTooLarge(seen, max));
        return;
      }
      done(null, chunk);
    },
  });
  source.on('error', (err) => counter.destroy(err));
  counter.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return source.pipe(counter);
}

export interface MediaCaption {
  text: string;
  mentions: string[];
  mentionAll: boolean;
}

/** The stream handed to Baileys, kept so a failed send can close it. */
export interface PreparedMedia {
  content: AnyMediaMessageContent;
  stream: Readable;
}

/**
 * Opens the media and builds the Baileys content. Throws m_too_large before opening when the
 * announced size is already over the limit.
 */
export async function mediaContentOf(
  media: MatrixMedia,
  caption: MediaCaption | undefined,
  limits: WAMediaLimits = WA_MEDIA_LIMITS,
): Promise<PreparedMedia> {
  const kind = waMediaKindOf(media);
  const max = limits[kind];
  if (typeof media.size === 'number' && media.size > max) throw ErrTooLarge(media.size, max);
  const stream = capStream(await media.open(), max);
  const upload = { stream };
  const mimetype = media.mimetype || 'application/octet-stream';
  const dims = {
    ...(positive(media.width) ? { width: Math.round(media.width) } : {}),
    ...(positive(media.height) ? { height: Math.round(media.height) } : {}),
  };
  const seconds = positive(media.durationMs) ? Math.max(1, Math.round(media.durationMs / 1000)) : undefined;
  const withCaption = caption && caption.text.length > 0 ? { caption: caption.text } : {};
  const withMentions = caption && (caption.mentions.length > 0 || caption.mentionAll)
    ? { ...(caption.mentions.length > 0 ? { mentions: caption.mentions } : {}), ...(caption.mentionAll ? { mentionAll: true } : {}) }
    : {};
  let content: AnyMediaMessageContent;
  switch (kind) {
    case 'image':
      content = { image: upload, mimetype, ...dims, ...withCaption, ...withMentions };
      break;
    case 'video':
      // `seconds` is a VideoMessage field Baileys copies through, though its type omits it.
      content = { video: upload, mimetype, ...dims, ...withCaption, ...withMentions, ...(seconds ? { seconds } : {}) } as AnyMediaMessageContent;
      break;
    case 'sticker':
      content = { sticker: upload, mimetype: 'image/webp', ...dims };
      break;
    case 'audio': {
      const voice = media.voice !== undefined;
      const waveform = voice ? waveformToWhatsApp(media.voice?.waveform) : undefined;
      // Voice notes play only as Ogg/Opus; `waveform` is an AudioMessage field Baileys copies through.
      const audioMime = voice && /^audio\/(ogg|opus)$/.test(baseMime(mimetype)) ? 'audio/ogg; codecs=opus' : mimetype;
      content = {
        audio: upload, mimetype: audioMime, ...(voice ? { ptt: true } : {}), ...(seconds ? { seconds } : {}),
        ...(waveform ? { waveform } : {}),
      } as AnyMediaMessageContent;
      break;
    }
    default:
      content = { document: upload, mimetype, fileName: media.filename || 'file', ...withCaption, ...withMentions } as AnyMediaMessageContent;
  }
  return { content, stream };
}

function positive(n: number | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0;
}
