/**
 * Media on the emulated gateway: the upload endpoint (mercury's shape, see client/media.ts)
 * stores bytes on the sandbox and hands out a numeric attachment fbid; `/fbcdn/<media id>` serves
 * sandbox media the way Meta's CDN does (no cookies needed: the id is the capability).
 */
import { randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MediaKind } from '@tributary/sandbox/client/index';
import type { AccountSession } from './sessions.js';

export interface MediaRecord {
  mediaId: string;
  mimetype: string;
  size: number;
  filename: string;
  kind: MediaKind;
}

export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

export function mediaKindOf(mimetype: string): MediaKind {
  if (mimetype.startsWith('image/')) return 'image';
  if (mimetype.startsWith('video/')) return 'video';
  if (mimetype.startsWith('audio/')) return 'audio';
  return 'file';
}

/** Uploaded attachments by fbid (emulator-wide, in memory). */
export class MediaRegistry {
  readonly #byFbid = new Map<string, MediaRecord>();

  register(record: MediaRecord): string {
    let fbid: string;
    do fbid = `${randomInt(1, 10)}${String(randomInt(0, 2 ** 47)).padStart(14, '0')}`;
    while (this.#byFbid.has(fbid));
    this.#byFbid.set(fbid, record);
    return fbid;
  }

  get(fbid: string): MediaRecord | undefined {
    return this.#byFbid.get(fbid);
  }
}

async function readBody(req: IncomingMessage, cap: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > cap) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function sendGuarded(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-javascript; charset=utf-8' });
  res.end(`for (;;);${JSON.stringify(body)}`);
}

const ID_KEY: Record<MediaKind, string> = { image: 'image_id', video: 'video_id', audio: 'audio_id', file: 'file_id' };

/** POST /ajax/mercury/upload.php: multipart with `farr` (the file) and `fb_dtsg`. */
export async function handleUpload(req: IncomingMessage, res: ServerResponse, session: AccountSession, registry: MediaRegistry): Promise<void> {
  const fail = (status: number, summary: string) => sendGuarded(res, status, { error: 1357004, errorSummary: summary, payload: null });
  const body = await readBody(req, MAX_UPLOAD_BYTES + 64 * 1024);
  if (!body) return fail(413, 'The file is too large');
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
  } catch {
    return fail(400, 'The upload is not a multipart form');
  }
  if (form.get('fb_dtsg') !== session.fbDtsg) return fail(403, 'The request token is missing or stale; reload the page');
  const file = form.get('farr');
  if (!(file instanceof Blob) || file.size === 0) return fail(400, 'No file was sent');
  const bytes = Buffer.from(await file.arrayBuffer());
  const mimetype = file.type || 'application/octet-stream';
  const filename = 'name' in file && typeof file.name === 'string' ? file.name : 'file';
  const up = await session.client.uploadMedia(bytes, mimetype);
  // Meta's audio attachments are voice clips; other audio is kept as a file (our choice: the
  // research says only that the browser flags voice clips with `voice_clip`).
  const byType = mediaKindOf(mimetype);
  const kind = byType === 'audio' && form.get('voice_clip') !== 'true' ? 'file' : byType;
  const fbid = registry.register({ mediaId: up.media_id, mimetype, size: up.size, filename, kind });
  // An animated GIF is Meta's own kind (see client/media.ts): its id comes back as gif_id.
  const idKey = mimetype === 'image/gif' ? 'gif_id' : ID_KEY[kind];
  sendGuarded(res, 200, { __ar: 1, payload: { uploadID: fbid, metadata: { 0: { [idKey]: fbid, filename, filetype: mimetype } } } });
}

/** GET /fbcdn/<media id>: the sandbox's media, streamed through. */
export async function proxyMedia(res: ServerResponse, sandboxUrl: string, mediaId: string): Promise<void> {
  const up = await fetch(`${sandboxUrl}/media/${encodeURIComponent(mediaId)}`);
  if (!up.ok || !up.body) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
    return;
  }
  const headers: Record<string, string> = { 'content-type': up.headers.get('content-type') ?? 'application/octet-stream' };
  const length = up.headers.get('content-length');
  if (length) headers['content-length'] = length;
  res.writeHead(200, headers);
  res.end(Buffer.from(await up.arrayBuffer()));
}
