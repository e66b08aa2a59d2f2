/**
 * The login web page every bridge serves at `/_tributary/login/` on its appservice listener: the
 * page's static files, `config.json` (where the homeserver is, which network, where the
 * provisioning API is) and `qr.svg` (a QR code drawn from a POSTed payload). The page itself
 * signs the person in with their Matrix account and then drives the provisioning API (same
 * origin) with their access token; it loads nothing from anywhere else.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bridge } from '../core/bridge.js';
import type { TributaryAppService } from '../matrix/appservice.js';
import { readJsonObject, sendError, sendJson } from '../matrix/http-util.js';
import { getLogger } from '../logging.js';
import type { ProvisioningApi } from '../provisioning/api.js';
import { ApiError, toApiError } from '../provisioning/errors.js';
import { MAX_QR_DATA, qrSvg } from './qr-svg.js';
import { assetDir, loadAssets, type StaticAsset } from './static-assets.js';

const log = getLogger('login-page');

export const LOGIN_PAGE_PATH = '/_tributary/login';

/** What `config.json` tells the page. */
export interface LoginPageConfig {
  homeserver_url: string;
  server_name: string;
  provisioning_url: string;
  network: { id: string; displayname: string; url: string };
  bridge_bot: string;
}

export interface LoginPageDeps {
  config: LoginPageConfig;
  /** Checks the caller of `qr.svg` like the provisioning API does (token, permission, rate limit). */
  authorize(req: IncomingMessage, url: URL): Promise<void>;
  /** The page files; default: the `login` directory (see assetDir). */
  assets?: Map<string, StaticAsset>;
}

/**
 * Headers on every answer under the page's path. The policy allows scripts, styles and images
 * from this origin only (plus `blob:` images: the QR code), network requests to this origin and
 * the homeserver, no plugins, no framing, no form posts (forms are sent by the script as JSON).
 */
export function securityHeaders(homeserverUrl: string): Record<string, string> {
  const hs = new URL(homeserverUrl).origin;
  return {
    'Content-Security-Policy': [
      "default-src 'self'", `connect-src 'self' ${hs}`, "img-src 'self' blob:", "object-src 'none'",
      "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ].join('; '),
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

export class LoginPage {
  private readonly assets: Map<string, StaticAsset>;
  private readonly headers: Record<string, string>;
  private readonly configJson: string;

  constructor(private readonly deps: LoginPageDeps) {
    this.assets = deps.assets ?? loadAssets(assetDir('login'));
    if (!this.assets.has('index.html')) throw new Error('the login page has no index.html');
    this.headers = securityHeaders(deps.config.homeserver_url);
    this.configJson = JSON.stringify(deps.config);
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    for (const [k, v] of Object.entries(this.headers)) res.setHeader(k, v);
    const path = url.pathname;
    if (path === LOGIN_PAGE_PATH) {
      // Relative asset URLs need the trailing slash.
      res.writeHead(308, { Location: `${LOGIN_PAGE_PATH}/`, 'Cache-Control': 'no-store', 'Content-Length': 0 });
      res.end();
      return;
    }
    if (!path.startsWith(`${LOGIN_PAGE_PATH}/`)) return notFound(res);
    const name = path.slice(LOGIN_PAGE_PATH.length + 1) || 'index.html';
    const method = req.method ?? 'GET';
    if (name === 'qr.svg') {
      if (method !== 'POST') return notAllowed(res, 'POST');
      return this.qr(req, res, url);
    }
    if (name === 'config.json') {
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, 'GET, HEAD');
      return send(res, method, 200, 'application/json', Buffer.from(this.configJson), 'no-store');
    }
    const asset = this.assets.get(name);
    if (!asset) return notFound(res);
    if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, 'GET, HEAD');
    res.setHeader('ETag', asset.etag);
    if (etagMatches(req.headers['if-none-match'], asset.etag)) {
      res.writeHead(304, { 'Cache-Control': 'no-cache' });
      res.end();
      return;
    }
    // no-cache, not a lifetime: the names carry no version, so an upgraded bridge is seen at once;
    // the ETag makes the check cheap.
    send(res, method, 200, asset.contentType, asset.body, 'no-cache');
  }

  /** `{"data": "<payload>"}` in, the QR code as SVG out; only for callers the provisioning API accepts. */
  private async qr(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    try {
      await this.deps.authorize(req, url);
      const body = await readJsonObject(req, 8 * 1024);
      const data = body.data;
      if (typeof data !== 'string' || !data) throw new ApiError(400, 'M_BAD_JSON', 'Expected {"data": "<QR payload>"}');
      if (data.length > MAX_QR_DATA) throw new ApiError(400, 'M_INVALID_PARAM', `The QR payload is longer than ${MAX_QR_DATA} characters`);
      let svg: string;
      try {
        svg = await qrSvg(data);
      } catch (err) {
        // Too much data for a QR code; the message could hold a piece of the payload, so it is dropped.
        log.info({ length: data.length, error: (err as Error).name }, 'QR payload could not be encoded');
        throw new ApiError(400, 'M_INVALID_PARAM', 'The QR payload does not fit in a QR code');
      }
      send(res, 'POST', 200, 'image/svg+xml', Buffer.from(svg), 'no-store');
    } catch (err) {
      const e = toApiError(err);
      if (e.status >= 500) log.warn({ error: (err as Error).name }, 'QR code request failed');
      sendJson(res, e.status, e.body());
    }
  }
}

function send(res: ServerResponse, method: string, status: number, contentType: string, body: Buffer, cache: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': body.length, 'Cache-Control': cache });
  res.end(method === 'HEAD' ? undefined : body);
}

function notFound(res: ServerResponse): void {
  res.setHeader('Cache-Control', 'no-store');
  sendError(res, 404, 'M_NOT_FOUND', 'Not found');
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  res.setHeader('Cache-Control', 'no-store');
  sendError(res, 405, 'M_UNRECOGNIZED', 'Method not allowed');
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*');
}

/** What the page needs to know about this bridge. */
export function loginPageConfig(bridge: Bridge): LoginPageConfig {
  const cfg = bridge.config;
  const name = bridge.connector.name;
  return {
    homeserver_url: (cfg.provisioning.login_page.homeserver_url ?? cfg.homeserver.address).replace(/\/+$/, ''),
    server_name: bridge.serverName,
    provisioning_url: `${cfg.provisioning.prefix}/v3`,
    network: { id: name.networkId, displayname: name.displayName, url: name.networkUrl },
    bridge_bot: bridge.botMxid,
  };
}

/**
 * Serves the page when the provisioning API is mounted and `provisioning.login_page.enabled`.
 * The QR endpoint shares the API's authentication and per-user rate limit.
 */
export function mountLoginPage(as: TributaryAppService, bridge: Bridge, api: ProvisioningApi | undefined): LoginPage | undefined {
  if (!api || !bridge.config.provisioning.login_page.enabled) return undefined;
  const page = new LoginPage({
    config: loginPageConfig(bridge),
    async authorize(req, url) {
      const caller = await api.authenticate(req, url);
      const allowance = api.limiter.take(`user:${caller.userId}`);
      if (!allowance.ok) throw new ApiError(429, 'M_LIMIT_EXCEEDED', 'Too many requests', { retry_after_ms: allowance.retryAfterMs });
    },
  });
  as.addRoute('*', LOGIN_PAGE_PATH, (req, res, url) => page.handle(req, res, url));
  return page;
}
