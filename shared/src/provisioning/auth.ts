/**
 * Who is calling the provisioning API. Three ways, all as `Authorization: Bearer <token>`:
 *  - the shared secret (compared in constant time), acting for the user named by `?user_id=`;
 *  - a Matrix access token of the user, checked with the homeserver's `/account/whoami`;
 *  - `openid:<token>`, a Matrix OpenID token, checked with the homeserver's
 *    `/_matrix/federation/v1/openid/userinfo` (our own homeserver only; no federation lookup).
 * Successful token checks are cached briefly, keyed by a hash of the token: the token itself is
 * never stored, logged or put in an error message.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { bearerToken, safeEqual } from '../matrix/http-util.js';
import { USER_ID_RE } from '../config/fields.js';
import { getLogger } from '../logging.js';
import { ApiError, forbidden } from './errors.js';

const log = getLogger('provisioning-auth');

export type AuthKind = 'shared_secret' | 'access_token' | 'openid';

export interface Authenticated {
  userId: string;
  kind: AuthKind;
}

export interface AuthOptions {
  /** The provisioning secret; "disable" (or an unfilled "generate") turns secret auth off. */
  sharedSecret: string;
  homeserverUrl: string;
  /** Whether this Matrix user may use the API at all (permission level, not a ghost or the bot). */
  allowed(mxid: string): boolean;
  cacheTtlMs?: number;
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
  /** The secret comparison; constant-time `safeEqual` unless a test watches it. */
  equals?: (given: string, expected: string) => boolean;
}

const MAX_TOKEN_LENGTH = 4096;
const MAX_CACHE_ENTRIES = 10_000;

const whoamiBody = z.object({ user_id: z.string().regex(USER_ID_RE), is_guest: z.boolean().optional() });
const userinfoBody = z.object({ sub: z.string().regex(USER_ID_RE) });

const missingToken = () => new ApiError(401, 'M_MISSING_TOKEN', 'Missing access token: send Authorization: Bearer <token>');
const unknownToken = () => new ApiError(401, 'M_UNKNOWN_TOKEN', 'Unrecognised access token');
const homeserverFailed = () => new ApiError(502, 'M_UNKNOWN', 'The homeserver could not check the token; try again later');

/** A short, non-reversible name for a token, for cache keys and log lines. */
export function tokenHash(kind: AuthKind, token: string): string {
  return createHash('sha256').update(`${kind}\0${token}`).digest('hex');
}

export class ProvisioningAuth {
  private readonly cache = new Map<string, { userId: string; expires: number }>();
  private readonly ttl: number;
  private readonly now: () => number;
  private readonly fetchFn: typeof fetch;
  private readonly equals: (given: string, expected: string) => boolean;
  private readonly hs: string;

  constructor(private readonly opts: AuthOptions) {
    this.ttl = opts.cacheTtlMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.fetchFn = opts.fetch ?? fetch;
    this.equals = opts.equals ?? safeEqual;
    this.hs = opts.homeserverUrl.replace(/\/+$/, '');
  }

  private get secretEnabled(): boolean {
    return this.opts.sharedSecret !== 'disable' && this.opts.sharedSecret !== 'generate';
  }

  /** Cached token checks (tests). */
  get cacheSize(): number {
    return this.cache.size;
  }

  /** The caller, or an ApiError: 401 without or with an unknown token, 403 for a user refused. */
  async authenticate(req: IncomingMessage, url: URL): Promise<Authenticated> {
    const token = bearerToken(req);
    if (!token) throw missingToken();
    const named = url.searchParams.get('user_id') ?? undefined;
    if (named !== undefined && !USER_ID_RE.test(named)) throw new ApiError(400, 'M_INVALID_PARAM', 'user_id is not a Matrix user id');
    let who: Authenticated;
    // Compared before anything else, so a token that happens to start with "openid:" cannot
    // shadow the secret, and the comparison runs the same way for every request.
    if (this.secretEnabled && this.equals(token, this.opts.sharedSecret)) {
      if (named === undefined) throw new ApiError(400, 'M_MISSING_PARAM', 'user_id is required with the shared secret');
      who = { userId: named, kind: 'shared_secret' };
    } else {
      if (token.length > MAX_TOKEN_LENGTH) throw unknownToken();
      who = token.startsWith('openid:')
        ? { userId: await this.check('openid', token.slice('openid:'.length)), kind: 'openid' }
        : { userId: await this.check('access_token', token), kind: 'access_token' };
      if (named !== undefined && named !== who.userId) throw forbidden('The token belongs to a different user than user_id');
    }
    if (!this.opts.allowed(who.userId)) throw forbidden('You are not allowed to log in to this bridge');
    return who;
  }

  private async check(kind: 'access_token' | 'openid', token: string): Promise<string> {
    if (!token) throw unknownToken();
    const key = tokenHash(kind, token);
    const hit = this.cache.get(key);
    if (hit && hit.expires > this.now()) return hit.userId;
    if (hit) this.cache.delete(key);
    const userId = kind === 'openid' ? await this.userinfo(token, key) : await this.whoami(token, key);
    if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { userId, expires: this.now() + this.ttl });
    return userId;
  }

  private async whoami(token: string, key: string): Promise<string> {
    const res = await this.call(`${this.hs}/_matrix/client/v3/account/whoami`, { Authorization: `Bearer ${token}` }, key);
    const parsed = whoamiBody.safeParse(res);
    if (!parsed.success) {
      log.warn({ tokenHash: key.slice(0, 12) }, 'the homeserver answered whoami with an unexpected body');
      throw homeserverFailed();
    }
    if (parsed.data.is_guest) throw forbidden('Guest users cannot use the provisioning API');
    return parsed.data.user_id;
  }

  private async userinfo(token: string, key: string): Promise<string> {
    const res = await this.call(`${this.hs}/_matrix/federation/v1/openid/userinfo?access_token=${encodeURIComponent(token)}`, {}, key);
    const parsed = userinfoBody.safeParse(res);
    if (!parsed.success) {
      log.warn({ tokenHash: key.slice(0, 12) }, 'the homeserver answered openid userinfo with an unexpected body');
      throw homeserverFailed();
    }
    return parsed.data.sub;
  }

  /** GET with a timeout; 401/403 mean the token is unknown, anything else unexpected is a 502. */
  private async call(target: string, headers: Record<string, string>, key: string): Promise<unknown> {
    const path = new URL(target).pathname;
    let res: Response;
    try {
      res = await this.fetchFn(target, { headers, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
    } catch (err) {
      log.warn({ path, err: (err as Error).message }, 'cannot reach the homeserver to check a provisioning token');
      throw homeserverFailed();
    }
    const text = await res.text().catch(() => '');
    if (res.status === 401 || res.status === 403) {
      log.info({ path, tokenHash: key.slice(0, 12) }, 'provisioning token refused by the homeserver');
      throw unknownToken();
    }
    if (!res.ok) {
      // A 404 on userinfo usually means the listener lacks the "openid" resource.
      log.warn({ path, status: res.status }, 'the homeserver failed a provisioning token check');
      throw homeserverFailed();
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw homeserverFailed();
    }
  }
}
