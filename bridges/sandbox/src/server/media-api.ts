import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { NetworkError } from './errors.js';
import { bearerToken, sameSecret, sendError, sendJson } from './http-util.js';
import type { MediaStore } from './media-store.js';
import type { SandboxNetwork } from './network.js';

const MIMETYPE_RE = /^[\w.+-]+\/[\w.+-]+$/;

/**
 * Media under /media:
 *   POST|PUT /media      raw body, Content-Type = mimetype; needs an account (or control) token
 *   GET      /media/:id  the bytes; the random id is the capability, no token needed
 */
export async function handleMedia(
  req: IncomingMessage, res: ServerResponse, segments: string[],
  network: SandboxNetwork, media: MediaStore, controlToken: string | undefined,
): Promise<void> {
  try {
    const [id, extra] = segments;
    if (extra !== undefined) throw new NetworkError('not_found', 'no such media endpoint');
    if (id === undefined && (req.method === 'POST' || req.method === 'PUT')) {
      const token = bearerToken(req);
      const allowed = token !== undefined && (network.accountByToken(token) !== undefined || (controlToken !== undefined && sameSecret(token, controlToken)));
      if (!allowed) throw new NetworkError('unauthorized', 'uploading needs Authorization: Bearer <account token>');
      const mimetype = (req.headers['content-type'] ?? 'application/octet-stream').split(';')[0]?.trim().toLowerCase() ?? '';
      if (!MIMETYPE_RE.test(mimetype)) throw new NetworkError('bad_request', 'bad Content-Type');
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (declared > media.maxBytes) throw new NetworkError('too_large', `media is larger than ${media.maxBytes} bytes`);
      const meta = await media.putStream(req, mimetype);
      sendJson(res, 201, { media_id: meta.id, size: meta.size, mimetype: meta.mimetype });
    } else if (id !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
      const { meta, stream } = media.open(id);
      res.writeHead(200, { 'content-type': meta.mimetype, 'content-length': meta.size, 'cache-control': 'private, max-age=31536000, immutable' });
      if (req.method === 'HEAD') {
        stream.destroy();
        res.end();
        return;
      }
      await pipeline(stream, res);
    } else {
      throw new NetworkError('not_found', 'no such media endpoint');
    }
  } catch (err) {
    sendError(res, err);
  }
}
