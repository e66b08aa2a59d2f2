import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { getLogger } from '@tributary/core/logging';
import { NetworkError, httpStatusOf } from './errors.js';

const log = getLogger('sandbox');

/** Default cap for JSON bodies; control message bodies with base64 images get more. */
export const JSON_BODY_CAP = 1024 * 1024;

export async function readBody(req: IncomingMessage, cap: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > cap) throw new NetworkError('too_large', `body larger than ${cap} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > cap) throw new NetworkError('too_large', `body larger than ${cap} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** One line per problem: `path: message`. */
export function describeZodError(err: z.ZodError): string {
  return err.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

export function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new NetworkError('bad_request', describeZodError(parsed.error));
  return parsed.data;
}

/** Reads, size-caps, parses and schema-checks a JSON body. An empty body counts as `{}`. */
export async function readJson<T>(req: IncomingMessage, schema: z.ZodType<T>, cap = JSON_BODY_CAP): Promise<T> {
  const raw = await readBody(req, cap);
  let value: unknown = {};
  if (raw.length > 0) {
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new NetworkError('bad_request', 'body is not valid JSON');
    }
  }
  return parseWith(schema, value);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** `{error: {code, message}}` with the matching status; unexpected errors are logged, not leaked. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof NetworkError) {
    // A refused upload may still be streaming in; close rather than read the rest.
    if (err.code === 'too_large') res.setHeader('connection', 'close');
    sendJson(res, httpStatusOf(err.code), { error: err.toWire() });
    return;
  }
  log.error({ err }, 'sandbox request failed');
  sendJson(res, 500, { error: { code: 'internal', message: 'internal error' } });
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const m = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1];
}

export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Path segments, each URL-decoded (ids such as `dm:a:b/3` arrive encoded). */
export function pathSegments(url: string): string[] | undefined {
  const path = url.split('?')[0] ?? '';
  try {
    return path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

export function queryParams(url: string): URLSearchParams {
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}
