/**
 * Media between the homeserver and networks, streamed both ways: uploads go from the network's
 * stream straight into the homeserver's upload endpoint, downloads use the authenticated media
 * endpoints (Matrix v1.11) and hand the caller a stream. The homeserver's `m.upload.size` is read
 * once and refreshed hourly.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ErrTooLarge, type MediaSource, type UploadedMedia } from '../network/index.js';
import { getLogger } from '../logging.js';
import { MatrixApiError, type MatrixApi, enc } from './matrix-api.js';

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

async function spoolTo(input: Readable, path: string, max: number): Promise<number> {
  let seen = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(ErrTooLarge(seen, max));
      else cb(null, chunk);
    },
  });
  await pipeline(input, count, createWriteStream(path));
  return seen;
}

export interface DownloadedMedia {
  stream: Readable;
  mimetype: string;
  size?: number;
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
