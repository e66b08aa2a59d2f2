/**
 * Meta session cookies: which ones each platform needs, loading them from what a person pastes
 * (see cookie-input.ts), and a holder that never shows values. `JSON.stringify`, `String()`,
 * `util.inspect` (so pino and console) all print names with "[redacted]"; the values leave only
 * through `toCookieHeader()` (for requests) and `exportValues()` (for the login's stored secrets).
 */
import { inspect } from 'node:util';
import { MetaCookieError, isUnsafeCookieValue, parseCookieInput, type CookieInputFormat, type ParsedCookie } from './cookie-input.js';

export { MetaCookieError, parseCookieInput, type CookieInputFormat, type ParsedCookie } from './cookie-input.js';

export type MetaPlatform = 'messenger' | 'instagram';

/** Cookies without which a session cannot work (facts: mautrix-meta's cookie package). */
export const REQUIRED_COOKIES = {
  messenger: ['xs', 'c_user', 'datr'],
  instagram: ['sessionid', 'csrftoken', 'ds_user_id', 'mid', 'ig_did'],
} as const satisfies Record<MetaPlatform, readonly string[]>;

const PLATFORM_LABEL: Record<MetaPlatform, string> = { messenger: 'Messenger', instagram: 'Instagram' };
/** Domains whose cookies count for a platform when an export carries domains. */
const PLATFORM_DOMAINS: Record<MetaPlatform, readonly string[]> = {
  messenger: ['facebook.com', 'messenger.com'],
  instagram: ['instagram.com'],
};
/** The cookie holding the account's numeric id. */
const USER_ID_COOKIE: Record<MetaPlatform, string> = { messenger: 'c_user', instagram: 'ds_user_id' };

export const REDACTED = '[redacted]';

/**
 * The site a session's cookies come from. A Messenger session is either facebook.com's or
 * messenger.com's (facts: both log in with xs, c_user, datr; the web client then talks to that
 * site and its gateway), and the client must open the same site.
 */
export type MetaSite = 'facebook.com' | 'messenger.com' | 'instagram.com';

const isDomainOf = (domain: string, site: string) => {
  const d = domain.replace(/^\./, '').toLowerCase();
  return d === site || d.endsWith(`.${site}`);
};

/**
 * Messenger: messenger.com when the session cookie (xs) or, without domains, the cURL command's
 * host says so; facebook.com otherwise (a bare Cookie header says nothing: the default).
 */
export function siteOf(platform: MetaPlatform, cookies: readonly ParsedCookie[], host?: string): MetaSite {
  if (platform === 'instagram') return 'instagram.com';
  const xs = [...cookies].reverse().find((c) => c.name === 'xs' && c.domain !== undefined);
  if (xs) return isDomainOf(xs.domain!, 'messenger.com') ? 'messenger.com' : 'facebook.com';
  return host !== undefined && isDomainOf(host, 'messenger.com') ? 'messenger.com' : 'facebook.com';
}

function matchesPlatform(domain: string | undefined, platform: MetaPlatform): boolean {
  if (domain === undefined) return true;
  const d = domain.replace(/^\./, '').toLowerCase();
  return PLATFORM_DOMAINS[platform].some((p) => d === p || d.endsWith(`.${p}`));
}

export interface LoadCookiesOptions {
  /** Current time in Unix ms, for the expiry check. */
  now?: number;
}

export class MetaCookies {
  readonly platform: MetaPlatform;
  /** What the person pasted, for messages ("from your cURL command"). */
  readonly format: CookieInputFormat;
  /** The site the cookies belong to; the client opens that site. */
  readonly site: MetaSite;
  readonly #values: Map<string, string>;
  readonly #expiry: Map<string, number>;

  constructor(platform: MetaPlatform, format: CookieInputFormat, cookies: readonly ParsedCookie[], site: MetaSite = siteOf(platform, cookies)) {
    this.platform = platform;
    this.format = format;
    this.site = site;
    this.#values = new Map();
    this.#expiry = new Map();
    for (const c of cookies) {
      // A later duplicate wins, as a browser's jar would keep the newest.
      this.#values.set(c.name, c.value);
      if (c.expiresAt === undefined) this.#expiry.delete(c.name);
      else this.#expiry.set(c.name, c.expiresAt);
    }
  }

  /** Parses pasted cookies for `platform` and checks that every required one is there and valid. */
  static load(input: unknown, platform: MetaPlatform, opts: LoadCookiesOptions = {}): MetaCookies {
    const { format, cookies, host } = parseCookieInput(input);
    const cookiesForPlatform = cookies.filter((c) => matchesPlatform(c.domain, platform));
    const jar = new MetaCookies(platform, format, cookiesForPlatform, siteOf(platform, cookiesForPlatform, host));
    jar.validate(opts.now ?? Date.now());
    return jar;
  }

  /** Throws a `MetaCookieError` naming every missing or expired required cookie. */
  validate(now: number): void {
    const required = REQUIRED_COOKIES[this.platform];
    const missing = required.filter((name) => !this.#values.get(name));
    const expired = required.filter((name) => {
      const at = this.#expiry.get(name);
      return at !== undefined && at <= now && this.#values.has(name);
    });
    const label = PLATFORM_LABEL[this.platform];
    if (missing.length || expired.length) {
      const parts: string[] = [];
      if (missing.length) parts.push(`missing ${label} cookie${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
      if (expired.length) {
        const when = expired.map((n) => `${n} (expired ${new Date(this.#expiry.get(n)!).toISOString()})`);
        parts.push(`expired ${label} cookie${expired.length > 1 ? 's' : ''}: ${when.join(', ')}`);
      }
      const message = `${parts.join('; ')}. Log in to ${label} in a browser and copy the cookies again.`;
      throw new MetaCookieError(missing.length ? 'missing-cookies' : 'expired-cookies', message[0]!.toUpperCase() + message.slice(1), {
        missing: [...missing],
        expired: [...expired],
      });
    }
    const idCookie = USER_ID_COOKIE[this.platform];
    if (!/^\d{1,20}$/.test(this.#values.get(idCookie)!)) {
      throw new MetaCookieError('invalid-cookie', `cookie "${idCookie}" should be a numeric account id`);
    }
  }

  /** The account id the cookies belong to (`c_user` or `ds_user_id`). */
  get userId(): string {
    return this.#values.get(USER_ID_COOKIE[this.platform]) ?? '';
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }

  names(): string[] {
    return [...this.#values.keys()];
  }

  /** Unix ms expiry of a cookie, when the input said. */
  expiresAt(name: string): number | undefined {
    return this.#expiry.get(name);
  }

  /** The earliest expiry among the required cookies, to refresh the session before it. */
  earliestRequiredExpiry(): number | undefined {
    const times = REQUIRED_COOKIES[this.platform].map((n) => this.#expiry.get(n)).filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
  }

  /** Updates values from a response's Set-Cookie (name and value only; attributes are ignored). */
  update(name: string, value: string, expiresAt?: number): void {
    if (isUnsafeCookieValue(value)) throw new MetaCookieError('invalid-cookie', `cookie "${name}" has a value with control characters or ';'`);
    this.#values.set(name, value);
    if (expiresAt === undefined) this.#expiry.delete(name);
    else this.#expiry.set(name, expiresAt);
  }

  /** The value for a request header. Never log the result. */
  toCookieHeader(): string {
    return [...this.#values].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Values for the login's secret storage. Never log the result. */
  exportValues(): Record<string, string> {
    return Object.fromEntries(this.#values);
  }

  /** Names with redacted values: safe for logs and errors. */
  redact(): Record<string, string> {
    return Object.fromEntries([...this.#values.keys()].map((k) => [k, REDACTED]));
  }

  toJSON(): { platform: MetaPlatform; site: MetaSite; cookies: Record<string, string> } {
    return { platform: this.platform, site: this.site, cookies: this.redact() };
  }

  toString(): string {
    return `MetaCookies(${this.platform}: ${this.names().join(', ')})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
