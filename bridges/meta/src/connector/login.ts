/**
 * The cookie login: one input step for the cookies of a logged-in browser (a Cookie header, a
 * JSON export, or "Copy as cURL"), checked by MetaCookies (each missing or expired cookie named),
 * then the page config is loaded and the socket connected once to prove the session works. The
 * login stores the cookies (with their expiry) in its metadata, which is never logged.
 */
import {
  BridgeError, userLoginId, type LoginFlow, type LoginProcess, type LoginStep, type UserHandle,
} from '@tributary/core/network/index';
import type { Logger } from '@tributary/core/logging';
import type { MetaClient } from '../client/meta-client.js';
import { MetaCookieError } from '../cookie-input.js';
import { MetaCookies, type MetaPlatform } from '../cookies.js';
import { MetaPageError } from '../page-config.js';
import { platformName } from '../msgconv/meta-ids.js';
import { metaBridgeError } from './errors.js';

export const COOKIE_FLOW_ID = 'cookies';

const SITES: Record<MetaPlatform, string> = { messenger: 'messenger.com or facebook.com', instagram: 'instagram.com' };

export function cookieLoginFlows(platform: MetaPlatform): LoginFlow[] {
  return [{
    id: COOKIE_FLOW_ID, name: 'Cookies',
    description: `Log in with the cookies of ${SITES[platform]} from a browser where you are logged in`,
  }];
}

/** A cookie as the login metadata keeps it (the JSON export shape MetaCookies reads back). */
export interface StoredCookie {
  name: string;
  value: string;
  /** Unix seconds, as browser exports write it. */
  expirationDate?: number;
  /** Kept for messenger.com sessions, so a restart opens the same site (see MetaCookies.site). */
  domain?: string;
}

export function storeCookies(jar: MetaCookies): StoredCookie[] {
  const values = jar.exportValues();
  const domain = jar.site === 'messenger.com' ? { domain: '.messenger.com' } : {};
  return jar.names().map((name) => {
    const at = jar.expiresAt(name);
    return { name, value: values[name]!, ...(at !== undefined ? { expirationDate: at / 1000 } : {}), ...domain };
  });
}

/** The person-facing error for cookies that cannot be used: names every missing or expired one. */
export function cookieError(err: unknown): BridgeError | undefined {
  if (err instanceof MetaCookieError) return new BridgeError(err.message, { reason: 'm_bad_format', userMessage: err.message });
  return undefined;
}

export interface CookieLoginDeps {
  platform: MetaPlatform;
  user: UserHandle;
  log: Logger;
  makeClient(cookies: MetaCookies): MetaClient;
  now?: () => number;
}

export class MetaCookieLogin implements LoginProcess {
  #client: MetaClient | undefined;
  #done = false;

  constructor(private readonly deps: CookieLoginDeps) {}

  async start(): Promise<LoginStep> {
    const app = platformName(this.deps.platform);
    return {
      type: 'user_input', stepId: `${this.deps.platform}.cookies`,
      instructions: `Open ${SITES[this.deps.platform]} in a browser where you are logged in to ${app}, open the developer tools (Network tab), `
        + 'reload, right-click the first request and choose "Copy as cURL (bash)", then send it here. '
        + 'A Cookie header or a JSON cookie export (Cookie-Editor) works too. The message is removed from the room once read.',
      fields: [{ id: 'cookies', type: 'token', name: `your ${app} cookies`, description: 'a "Copy as cURL" command, a Cookie header or a JSON export' }],
    };
  }

  async submitUserInput(values: Record<string, string>): Promise<LoginStep> {
    if (this.#done) throw new BridgeError('the login has already finished', { reason: 'm_bad_format' });
    const { platform, user, log } = this.deps;
    const app = platformName(platform);
    let cookies: MetaCookies;
    try {
      cookies = MetaCookies.load(values.cookies ?? '', platform, { now: (this.deps.now ?? Date.now)() });
    } catch (err) {
      throw cookieError(err) ?? err;
    }
    const client = this.deps.makeClient(cookies);
    this.#client = client;
    try {
      await client.connect();
    } catch (err) {
      await client.disconnect();
      if (err instanceof MetaPageError) {
        const msg = err.code === 'login-required'
          ? `${app} did not accept these cookies (it shows its login page): log in again in the browser and copy fresh cookies`
          : `${app} did not open the inbox (${err.code}): ${err.message}`;
        throw new BridgeError(msg, { reason: 'm_not_logged_in', userMessage: msg, cause: err });
      }
      throw metaBridgeError(err);
    } finally {
      this.#client = undefined;
    }
    const page = client.pageConfig!;
    const stored = storeCookies(client.cookies);
    await client.disconnect();
    this.#done = true;
    const id = userLoginId(page.accountId);
    const remoteName = page.userName ?? page.accountId;
    log.info({ loginId: id }, `${app} login accepted`);
    const login = await user.newLogin({ id, remoteName, metadata: { cookies: stored } });
    return {
      type: 'complete', stepId: `${platform}.complete`, instructions: `Logged in to ${app} as ${remoteName}.`,
      complete: { userLoginId: login.id, remoteName: login.remoteName },
    };
  }

  cancel(): void {
    this.#done = true;
    void this.#client?.disconnect();
  }
}
