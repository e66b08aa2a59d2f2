import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { z } from 'zod';
import { httpErrorBodySchema } from '../wire.js';
import { SandboxClientError } from './errors.js';

const JSON_RESPONSE_CAP = 8 * 1024 * 1024;

export interface HttpCall {
  method: string;
  url: string;
  token?: string;
  body?: Buffer | Readable;
  contentType?: string;
  /** Until the response headers arrive. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** One HTTP request with node:http (streams both ways); rejects with SandboxClientError. */
export function send(call: HttpCall): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const url = new URL(call.url);
    const headers: Record<string, string | number> = {};
    if (call.token !== undefined) headers.authorization = `Bearer ${call.token}`;
    if (call.contentType !== undefined) headers['content-type'] = call.contentType;
    if (Buffer.isBuffer(call.body)) headers['content-length'] = call.body.length;
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: call.method, headers });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new SandboxClientError('timeout', `${call.method} ${url.pathname} timed out after ${call.timeoutMs} ms`));
    }, call.timeoutMs);
    const onAbort = (): void => {
      clearTimeout(timer);
      req.destroy();
      reject(new SandboxClientError('login_expired', 'cancelled'));
    };
    if (call.signal?.aborted) return onAbort();
    call.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('response', (res) => {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onAbort);
      resolve(res);
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(new SandboxClientError('not_connected', `${call.method} ${url.pathname}: ${err.message}`));
    });
    if (call.body instanceof Readable) {
      call.body.on('error', (err) => req.destroy(err));
      call.body.pipe(req);
    } else {
      req.end(call.body);
    }
  });
}

async function readCapped(res: IncomingMessage, cap: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > cap) {
      res.destroy();
      throw new SandboxClientError('too_large', 'response too large');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Throws the server's `{error}` as a SandboxClientError when the status is not 2xx. */
export async function checkStatus(res: IncomingMessage): Promise<void> {
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) return;
  let parsed: ReturnType<typeof httpErrorBodySchema.safeParse> | undefined;
  try {
    parsed = httpErrorBodySchema.safeParse(JSON.parse((await readCapped(res, 65_536)).toString('utf8')));
  } catch {
    parsed = undefined;
  }
  if (parsed?.success) throw new SandboxClientError(parsed.data.error.code, parsed.data.error.message, status);
  throw new SandboxClientError('internal', `HTTP ${status}`, status);
}

/** JSON request → schema-checked JSON response. */
export async function jsonCall<T>(call: Omit<HttpCall, 'body' | 'contentType'> & { json?: unknown }, schema: z.ZodType<T>): Promise<T> {
  const body = call.json === undefined ? undefined : Buffer.from(JSON.stringify(call.json));
  const res = await send({ ...call, body, contentType: body ? 'application/json' : undefined });
  return readJsonResponse(res, schema);
}

/** Status check, capped read, JSON parse and schema check of a response. */
export async function readJsonResponse<T>(res: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  await checkStatus(res);
  let value: unknown;
  try {
    value = JSON.parse((await readCapped(res, JSON_RESPONSE_CAP)).toString('utf8'));
  } catch (err) {
    if (err instanceof SandboxClientError) throw err;
    throw new SandboxClientError('internal', 'response is not JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new SandboxClientError('internal', `unexpected response: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}
