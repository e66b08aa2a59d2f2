/**
 * Media between the homeserver and networks, streamed both ways: uploads go from the network's
 * stream straight into the homeserver's upload endpoint, downloads use the authenticated media
 * endpoints (Matrix v1.11) and hand the caller a stream. The homeserver's `m.upload.size` is read
 * once and refreshed hourly.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform, pipeline as pipe } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ErrTooLarge, type MediaSource, type UploadedMedia } from '../network/index.js';
import { getLogger } from '../logging.js';
import { MatrixApiError, type MatrixApi, enc } from './matrix-api.js';
import { decryptAttachment, encryptAttachment, hashMismatch, type EncryptedFile } from './encrypted-media.js';

const log = getLogger('media');

/** Passes bytes through, failing once more than `max` have gone by. */
function limiter(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(ErrTooLarge(seen, max));
      else cb(null, chunk);
    },
  });
}

/** Writes `input` (through `via`, when given) to `path`; returns the byte count of `input`. */
async function spoolTo(input: Readable, path: string, max: number, via?: Transform): Promise<number> {
  let seen = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(ErrTooLarge(seen, max));
      else cb(null, chunk);
    },
  });
  if (via) await pipeline(input, count, via, createWriteStream(path));
  else await pipeline(input, count, createWriteStream(path));
  return seen;
}

export interface DownloadedMedia {
  stream: Readable;
  mimetype: string;
  size?: number;
}

/** An encrypted upload: `url` holds ciphertext, `file` is what the event carries instead of it. */
export interface EncryptedUpload {
  url: string;
  file: EncryptedFile;
  /** The plaintext's size (CTR keeps it: the ciphertext is as long). */
  size: number;
  mimetype: string;
}

export class MediaBridge {
  private maxUpload: number;
  private fetchedAt = 0;

  constructor(private readonly api: MatrixApi, private readonly botMxid: string, fallbackMax: number) {
    this.maxUpload = fallbackMax;
  }

  async maxUploadSize(): Promise<number> {
    if (Date.now() - this.fetchedAt < 3_600_000) return this.maxUpload;
    this.fetchedAt = Date.now();
    try {
      const cfg = await this.api.request<{ 'm.upload.size'?: number }>('GET', '/_matrix/client/v1/media/config', { asUser: this.botMxid, retries: 1 });
      if (typeof cfg['m.upload.size'] === 'number') this.maxUpload = cfg['m.upload.size'];
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not read the media config; using the fallback upload limit');
    }
    return this.maxUpload;
  }

  async upload(src: MediaSource, asUser: string): Promise<UploadedMedia> {
    const max = await this.maxUploadSize();
    if (src.size !== undefined && src.size > max) throw ErrTooLarge(src.size, max);
    // Synapse refuses uploads without Content-Length, so a source of unknown size is spooled to a
    // temporary file first (memory stays flat either way), counting bytes against the limit.
    let size = src.size;
    let body: Readable;
    let spool: string | undefined;
    if (size === undefined) {
      spool = join(await mkdtemp(join(tmpdir(), 'tributary-media-')), 'upload');
      size = await spoolTo(await src.open(), spool, max);
      body = createReadStream(spool);
    } else {
      const input = await src.open();
      const limited = limiter(max);
      input.on('error', (e) => limited.destroy(e));
      body = input.pipe(limited);
    }
    try {
      const r = await this.api.request<{ content_uri: string }>('POST', '/_matrix/media/v3/upload', {
        asUser, rawBody: body, contentType: src.mimetype, contentLength: size,
        query: { filename: src.filename },
      });
      return { url: r.content_uri, size, mimetype: src.mimetype };
    } finally {
      if (spool) await rm(dirname(spool), { recursive: true, force: true });
    }
  }

  /**
   * Encrypts and uploads (for encrypted rooms). The body goes up as application/octet-stream with
   * no file name, so the homeserver learns neither; a source of unknown size is encrypted into the
   * spool file, so the plaintext never touches the disk.
   */
  async uploadEncrypted(src: MediaSource, asUser: string): Promise<EncryptedUpload> {
    const max = await this.maxUploadSize();
    if (src.size !== undefined && src.size > max) throw ErrTooLarge(src.size, max);
    const encryptor = encryptAttachment();
    let size = src.size;
    let body: Readable;
    let spool: string | undefined;
    if (size === undefined) {
      spool = join(await mkdtemp(join(tmpdir(), 'tributary-media-')), 'upload');
      size = await spoolTo(await src.open(), spool, max, encryptor.stream);
      body = createReadStream(spool);
    } else {
      // Errors anywhere destroy the whole chain, which fails the upload request.
      body = pipe(await src.open(), limiter(max), encryptor.stream, () => undefined);
    }
    try {
      const r = await this.api.request<{ content_uri: string }>('POST', '/_matrix/media/v3/upload', {
        asUser, rawBody: body, contentType: 'application/octet-stream', contentLength: size,
      });
      const info = await encryptor.result;
      return { url: r.content_uri, file: { url: r.content_uri, ...info }, size, mimetype: src.mimetype };
    } finally {
      if (spool) await rm(dirname(spool), { recursive: true, force: true });
    }
  }

  /**
   * Opens an encrypted attachment (a `file` checked by parseEncryptedFile) for reading: the stream
   * yields plaintext and errors instead of ending if the ciphertext does not match its hash.
   * `verifyFirst` spools the ciphertext to a temporary file and checks its hash before returning,
   * so a bad file fails here with an EncryptedMediaError and the stream only ever yields verified
   * bytes (the file goes when the stream closes). Memory stays flat either way.
   */
  async downloadEncrypted(file: EncryptedFile, opts: { verifyFirst?: boolean } = {}): Promise<DownloadedMedia> {
    const res = await this.download(file.url);
    if (!opts.verifyFirst) {
      return { stream: pipe(res.stream, decryptAttachment(file), () => undefined), mimetype: 'application/octet-stream', size: res.size };
    }
    const dir = await mkdtemp(join(tmpdir(), 'tributary-media-'));
    const cleanup = () => void rm(dir, { recursive: true, force: true }).catch(() => undefined);
    const path = join(dir, 'download');
    let size = 0;
    try {
      const hash = createHash('sha256');
      const tap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      await pipeline(res.stream, tap, createWriteStream(path));
      const mismatch = hashMismatch(file, hash.digest());
      if (mismatch) throw mismatch;
    } catch (err) {
      cleanup();
      throw err;
    }
    return { stream: pipe(createReadStream(path), decryptAttachment(file), cleanup), mimetype: 'application/octet-stream', size };
  }

  /** Opens an `mxc://` URI for reading. */
  async download(mxc: string): Promise<DownloadedMedia> {
    const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(mxc);
    if (!m) throw new MatrixApiError(400, 'M_INVALID_PARAM', `not a valid mxc URI: ${mxc.slice(0, 100)}`);
    const res = await this.api.raw('GET', `/_matrix/client/v1/media/download/${enc(m[1]!)}/${enc(m[2]!)}`, { asUser: this.botMxid, retries: 2 });
    const len = res.headers.get('content-length');
    return {
      stream: Readable.fromWeb(res.body as WebReadableStream),
      mimetype: res.headers.get('content-type') ?? 'application/octet-stream',
      size: len ? Number(len) : undefined,
    };
  }
}
