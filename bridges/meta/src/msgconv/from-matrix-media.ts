/**
 * Matrix media -> a file for Meta's upload endpoint, whose answer (an attachment fbid) goes into
 * the SendMessage task. The stream is capped at Meta's limit for its kind, so a file of unknown
 * size is stopped as soon as it is too large, before anything is sent.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ErrTooLarge, type MatrixMedia } from '@tributary/core/network/index';

const MIB = 1024 * 1024;

/** Meta's limits for unencrypted chats (facts): images 8 MB, any other file 25 MB. */
export const META_MEDIA_LIMITS = { image: 8 * MIB, file: 25 * MIB } as const;

/**
 * `gif`: an animated GIF, which Meta keeps as its own attachment kind (facts: AttachmentType 3
 * "animated image", and the upload answers `gif_id` for it). Meta's other GIF send type (7,
 * external media) takes the URL of a GIF service with its app id, which a Matrix upload does not
 * have, so a GIF from Matrix is uploaded like other media and sent by its fbid.
 */
export type MetaUploadKind = 'image' | 'gif' | 'video' | 'audio' | 'file';

export interface MetaUploadFile {
  kind: MetaUploadKind;
  stream: Readable;
  mimetype: string;
  filename: string;
  size?: number;
  /** A voice clip: Meta shows it with its player rather than as a file. */
  voice: boolean;
  durationMs?: number;
}

/** The client's media upload: returns the attachment fbid Meta gives the file. */
export type MetaUploader = (file: MetaUploadFile) => Promise<string>;

export function uploadKindOf(media: Pick<MatrixMedia, 'kind' | 'mimetype'>): MetaUploadKind {
  // GIF bytes go as Meta's GIF, whatever the Matrix event called them (m.image, a flagged m.video, a sticker).
  if (media.mimetype.split(';')[0]?.trim().toLowerCase() === 'image/gif') return 'gif';
  switch (media.kind) {
    case 'image':
    case 'sticker':
      return 'image';
    case 'video':
      return 'video';
    case 'audio':
      return 'audio';
    default:
      return 'file';
  }
}

export function limitFor(kind: MetaUploadKind): number {
  return kind === 'image' || kind === 'gif' ? META_MEDIA_LIMITS.image : META_MEDIA_LIMITS.file;
}

/** Passes bytes through and fails with m_too_large once more than `max` went by. */
export function capStream(source: Readable, max: number): Readable {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      if (seen > max) done(ErrTooLarge(seen, max));
      else done(null, chunk);
    },
  });
  source.on('error', (err) => counter.destroy(err));
  counter.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return source.pipe(counter);
}

/**
 * Uploads Matrix media to Meta and returns its fbid. Throws m_too_large before opening anything
 * when the announced size is already over the limit.
 */
export async function uploadMatrixMedia(media: MatrixMedia, upload: MetaUploader): Promise<string> {
  const kind = uploadKindOf(media);
  const max = limitFor(kind);
  if (typeof media.size === 'number' && media.size > max) throw ErrTooLarge(media.size, max);
  const stream = capStream(await media.open(), max);
  try {
    return await upload({
      kind,
      stream,
      mimetype: media.mimetype || 'application/octet-stream',
      filename: media.filename || (kind === 'gif' ? 'animation.gif' : kind),
      voice: media.voice !== undefined,
      ...(typeof media.size === 'number' ? { size: media.size } : {}),
      ...(typeof media.durationMs === 'number' && media.durationMs > 0 ? { durationMs: media.durationMs } : {}),
    });
  } finally {
    if (!stream.destroyed) stream.destroy();
  }
}
