/**
 * The media endpoints of a homeserver, in memory, shaped like the MatrixApi calls MediaBridge
 * makes: uploads are read to the end and kept with their headers, downloads serve them back.
 */
import { Readable } from 'node:stream';
import type { MatrixApi, RequestOptions } from '../../shared/src/matrix/matrix-api.js';

export interface StoredUpload {
  bytes: Buffer;
  contentType?: string;
  contentLength?: number;
  query?: RequestOptions['query'];
}

export interface FakeMediaApi {
  api: MatrixApi;
  /** By mxc URI. */
  uploads: Map<string, StoredUpload>;
}

export function fakeMediaApi(maxUpload = 50 * 1024 * 1024): FakeMediaApi {
  const uploads = new Map<string, StoredUpload>();
  const api = {
    async request(method: string, path: string, opts: RequestOptions = {}) {
      if (path === '/_matrix/client/v1/media/config') return { 'm.upload.size': maxUpload };
      if (method === 'POST' && path === '/_matrix/media/v3/upload') {
        const chunks: Buffer[] = [];
        const body = opts.rawBody;
        if (body instanceof Readable) for await (const c of body) chunks.push(c as Buffer);
        else if (body) chunks.push(body);
        const mxc = `mxc://example.org/m${uploads.size + 1}`;
        uploads.set(mxc, { bytes: Buffer.concat(chunks), contentType: opts.contentType, contentLength: opts.contentLength, query: opts.query });
        return { content_uri: mxc };
      }
      throw new Error(`fake media api: unexpected ${method} ${path}`);
    },
    async raw(method: string, path: string) {
      const m = /^\/_matrix\/client\/v1\/media\/download\/([^/]+)\/([^/]+)$/.exec(path);
      const stored = m ? uploads.get(`mxc://${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`) : undefined;
      if (method !== 'GET' || !stored) throw new Error(`fake media api: unexpected ${method} ${path}`);
      return new Response(stored.bytes, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(stored.bytes.length) } });
    },
  };
  return { api: api as unknown as MatrixApi, uploads };
}
