/**
 * The provisioning HTTP API under `<provisioning.prefix>/v3`, served on the appservice listener.
 * Per request: CORS, route match (404/405), authentication (401/403), the per-user rate limit
 * (429), then the handler; every answer is JSON, every error `{errcode, error}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bridge } from '../core/bridge.js';
import { sendJson } from '../matrix/http-util.js';
import { getLogger } from '../logging.js';
import { ProvisioningAuth, type AuthOptions, type Authenticated } from './auth.js';
import { ApiError, toApiError } from './errors.js';
import { ProvisioningLogins, type LoginSessionOptions } from './login-sessions.js';
import { RateLimiter } from './rate-limit.js';
import { Router, readJsonBody, type RequestContext } from './router.js';
import { chatRoutes } from './routes-chats.js';
import { infoRoutes } from './routes-info.js';
import { loginRoutes } from './routes-login.js';

const log = getLogger('provisioning');

export interface ProvisioningApiOptions {
  auth?: Partial<Omit<AuthOptions, 'allowed'>>;
  logins?: LoginSessionOptions;
  /** Largest request body, in bytes. */
  maxBodyBytes?: number;
  now?: () => number;
}

const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type',
};

const limited = (retryAfterMs: number) =>
  new ApiError(429, 'M_LIMIT_EXCEEDED', 'Too many requests', { retry_after_ms: retryAfterMs });

export class ProvisioningApi {
  readonly auth: ProvisioningAuth;
  readonly limiter: RateLimiter;
  readonly logins: ProvisioningLogins;
  readonly router: Router;
  /** `<prefix>/v3`. */
  readonly base: string;
  private readonly maxBodyBytes: number;

  constructor(readonly bridge: Bridge, opts: ProvisioningApiOptions = {}) {
    const cfg = bridge.config.provisioning;
    this.base = `${cfg.prefix}/v3`;
    this.maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024;
    this.auth = new ProvisioningAuth({
      sharedSecret: cfg.shared_secret,
      homeserverUrl: bridge.config.homeserver.address,
      now: opts.now,
      ...opts.auth,
      allowed: (mxid) => bridge.permissions.can(mxid, 'user') && !bridge.isGhost(mxid) && mxid !== bridge.botMxid,
    });
    this.limiter = new RateLimiter(cfg.rate_limit_per_minute, opts.now);
    this.logins = new ProvisioningLogins({
      flows: () => bridge.connector.getLoginFlows(),
      create: (mxid, flowId) => bridge.connector.createLogin(bridge.userHandle(mxid), flowId),
    }, { now: opts.now, ...opts.logins });
    this.router = new Router([...infoRoutes(bridge), ...loginRoutes(bridge, this.logins), ...chatRoutes(bridge)]);
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
    if (req.method === 'OPTIONS') {
      res.writeHead(204);
      res.end();
      return;
    }
    let caller: Authenticated | undefined;
    try {
      const path = url.pathname;
      if (!path.startsWith(`${this.base}/`)) throw new ApiError(404, 'M_UNRECOGNIZED', 'Unknown endpoint');
      const match = this.router.match(req.method ?? '', path.slice(this.base.length));
      if (!match) throw new ApiError(404, 'M_UNRECOGNIZED', 'Unknown endpoint');
      if ('methodNotAllowed' in match) throw new ApiError(405, 'M_UNRECOGNIZED', 'Method not allowed on this endpoint');
      caller = await this.authenticate(req, url);
      const allowance = this.limiter.take(`user:${caller.userId}`);
      if (!allowance.ok) throw limited(allowance.retryAfterMs);
      let body: Promise<unknown> | undefined;
      const ctx: RequestContext = {
        req, url, caller, params: match.params, body: () => (body ??= readJsonBody(req, this.maxBodyBytes)),
      };
      const reply = await match.route.handler(ctx);
      sendJson(res, reply.status, reply.body);
      log.debug({ method: req.method, route: match.route.path, user: caller.userId, status: reply.status }, 'provisioning request');
    } catch (err) {
      const apiErr = toApiError(err);
      if (apiErr.status >= 500) log.warn({ err, method: req.method, user: caller?.userId }, 'provisioning request failed');
      sendJson(res, apiErr.status, apiErr.body());
    }
  }

  /**
   * Refused credentials count against the sender's address, so guessing tokens (each one a
   * homeserver request) is limited like everything else. Public for the login page's QR endpoint.
   */
  async authenticate(req: IncomingMessage, url: URL): Promise<Authenticated> {
    const key = `addr:${req.socket.remoteAddress ?? 'unknown'}`;
    const before = this.limiter.peek(key);
    if (!before.ok) throw limited(before.retryAfterMs);
    try {
      return await this.auth.authenticate(req, url);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) this.limiter.take(key);
      throw err;
    }
  }

  stop(): void {
    this.logins.stop();
  }
}
