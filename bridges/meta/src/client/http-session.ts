/**
 * The HTTP side of a Meta session: the inbox page load, form posts (uploads) and media downloads.
 * Cookies go only to the platform's web origin, are updated from every Set-Cookie, and never
 * reach a log line: requests are logged by method, path (no query) and status only.
 */
import type { Logger } from '@tributary/core/logging';
import type { MetaCookies, MetaPlatform, MetaSite } from '../cookies.js';
import { parsePageConfig, type MetaPageConfig } from '../page-config.js';
import type { Agent } from 'node:http';
import { MetaClientError } from './errors.js';
import type { MetaProxy } from './proxy.js';

export interface MetaEndpoints {
  /** Origin of the web pages and HTTP APIs. */
  web: string;
  inboxPath: string;
  /** The DGW LightSpeed websocket URL, without the query. */
  gateway: string;
  /** Media uploads. Messenger: the mercury endpoint (fact). Instagram: ours, see uploadMedia. */
  uploadPath: string;
}

export const META_ENDPOINTS: Record<MetaPlatform, MetaEndpoints> = {
  messenger: { web: 'https://www.facebook.com', inboxPath: '/messages', gateway: 'wss://gateway.facebook.com/ws/lightspeed', uploadPath: '/ajax/mercury/upload.php' },
  instagram: { web: 'https://www.instagram.com', inboxPath: '/direct/inbox/', gateway: 'wss://gateway.instagram.com/ws/lightspeed', uploadPath: '/ajax/mercury/upload.php' },
};

/**
 * messenger.com's session (facts: its inbox is the site root, and its web client's gateway is
 * gateway.messenger.com); uploads use the same mercury path on that site.
 */
export const MESSENGER_COM_ENDPOINTS: MetaEndpoints = {
  web: 'https://www.messenger.com', inboxPath: '/', gateway: 'wss://gateway.messenger.com/ws/lightspeed', uploadPath: '/ajax/mercury/upload.php',
};

/** Where a session of this site lives. */
export function defaultEndpoints(platform: MetaPlatform, site?: MetaSite): MetaEndpoints {
  return platform === 'messenger' && site === 'messenger.com' ? MESSENGER_COM_ENDPOINTS : META_ENDPOINTS[platform];
}

/** A current desktop browser's user agent: Meta serves its web client to browsers. */
export const DEFAULT_USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36';

const MAX_REDIRECTS = 5;
const MAX_PAGE_BYTES = 16 * 1024 * 1024;

export type FetchFn = typeof fetch;

export interface MetaHttpSessionOptions {
  platform: MetaPlatform;
  cookies: MetaCookies;
  endpoints: MetaEndpoints;
  userAgent: string;
  log: Logger;
  fetch?: FetchFn;
  /** Every request, and the websocket (socketAgent), through this proxy. */
  proxy?: MetaProxy;
  /** Per request, until the whole body is read. */
  timeoutMs?: number;
}

/** Parses one Set-Cookie header into name, value and expiry (other attributes are ignored). */
export function parseSetCookie(header: string, now: number): { name: string; value: string; expiresAt?: number } | undefined {
  const [pair, ...attrs] = header.split(';');
  const eq = pair?.indexOf('=') ?? -1;
  if (!pair || eq <= 0) return undefined;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  let expiresAt: number | undefined;
  for (const attr of attrs) {
    const [k, v = ''] = attr.split('=', 2).map((s) => s.trim());
    if (k?.toLowerCase() === 'max-age' && /^-?\d+$/.test(v)) expiresAt = now + Number(v) * 1000;
    else if (k?.toLowerCase() === 'expires' && expiresAt === undefined) {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) expiresAt = t;
    }
  }
  return expiresAt === undefined ? { name, value } : { name, value, expiresAt };
}

export class MetaHttpSession {
  readonly platform: MetaPlatform;
  readonly cookies: MetaCookies;
  readonly endpoints: MetaEndpoints;
  readonly userAgent: string;
  readonly proxy: MetaProxy | undefined;
  readonly #log: Logger;
  readonly #fetch: FetchFn;
  readonly #timeoutMs: number;

  constructor(opts: MetaHttpSessionOptions) {
    this.platform = opts.platform;
    this.cookies = opts.cookies;
    this.endpoints = opts.endpoints;
    this.userAgent = opts.userAgent;
    this.#log = opts.log;
    this.proxy = opts.proxy;
    this.#fetch = opts.fetch ?? opts.proxy?.fetch ?? fetch;
    if (opts.proxy) this.#log.info({ via: opts.proxy.description }, 'meta session goes through a proxy');
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** The agent a websocket to `url` needs (the proxy's tunnels), if any. */
  socketAgent(url: string): Agent | undefined {
    if (!this.proxy) return undefined;
    return /^wss:/i.test(url) ? this.proxy.httpsAgent : this.proxy.httpAgent;
  }

  /** Loads the inbox page and reads its configuration (see parsePageConfig for the errors). */
  async loadPage(): Promise<MetaPageConfig> {
    let url = new URL(this.endpoints.inboxPath, this.endpoints.web);
    for (let hop = 0; ; hop++) {
      const res = await this.request(url, { method: 'GET', headers: this.#pageHeaders() });
      const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
      if (location !== null) {
        await res.body?.cancel();
        const next = new URL(location, url);
        // Another origin gets no cookies: classify the page by where it sent us.
        if (next.origin !== url.origin || hop >= MAX_REDIRECTS) return parsePageConfig({ platform: this.platform, html: '', url: next.href });
        url = next;
        continue;
      }
      const html = new TextDecoder().decode(await readCapped(res, MAX_PAGE_BYTES));
      if (res.status >= 400 && res.status !== 401 && res.status !== 403) throw new MetaClientError('http', `the inbox page answered HTTP ${res.status}`, { status: res.status });
      return parsePageConfig({ platform: this.platform, html, url: url.href });
    }
  }

  /**
   * One request. Cookies are sent only to the web origin, and Set-Cookie from it updates the jar.
   * Redirects are not followed (callers decide).
   */
  async request(url: URL, init: { method: string; headers?: Record<string, string>; body?: RequestInit['body'] }): Promise<Response> {
    const sameOrigin = url.origin === new URL(this.endpoints.web).origin;
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...init.headers };
    if (sameOrigin) headers.cookie = this.cookies.toCookieHeader();
    let res: Response;
    try {
      res = await this.#fetch(url, { method: init.method, headers, redirect: 'manual', signal: AbortSignal.timeout(this.#timeoutMs), ...(init.body !== undefined ? { body: init.body } : {}) });
    } catch (err) {
      this.#log.debug({ method: init.method, path: url.pathname, err: (err as Error).name }, 'meta http request failed');
      throw new MetaClientError('http', `${init.method} ${url.pathname} failed: ${(err as Error).message}`, { cause: err });
    }
    this.#log.debug({ method: init.method, path: url.pathname, status: res.status }, 'meta http');
    if (sameOrigin) this.#absorbCookies(res);
    return res;
  }

  /** Headers of a browser's top-level navigation. */
  #pageHeaders(): Record<string, string> {
    return {
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'accept-language': 'en-US,en;q=0.9',
      'sec-fetch-dest': 'document',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-site': 'none',
      'upgrade-insecure-requests': '1',
    };
  }

  #absorbCookies(res: Response): void {
    const now = Date.now();
    for (const header of res.headers.getSetCookie()) {
      const c = parseSetCookie(header, now);
      if (!c) continue;
      try {
        this.cookies.update(c.name, c.value, c.expiresAt);
      } catch {
        this.#log.warn({ cookie: c.name }, 'ignored a Set-Cookie with an unusable value');
      }
    }
  }
}

/** Reads a body up to `cap` bytes; more is a `too-large` error. */
export async function readCapped(res: Response, cap: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > cap) {
    await res.body?.cancel();
    throw new MetaClientError('too-large', `the response is ${declared} bytes; the limit is ${cap}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  for (let r = await reader?.read(); reader && r && !r.done; r = await reader.read()) {
    size += r.value.length;
    if (size > cap) {
      await reader.cancel().catch(() => undefined);
      throw new MetaClientError('too-large', `the response is larger than ${cap} bytes`);
    }
    chunks.push(r.value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
