/**
 * Cookies to sandbox accounts (ours, documented in docs/meta-emulator.md): the session cookie
 * (`xs` on Messenger, `sessionid` on Instagram) holds the sandbox account's token, and the id
 * cookie (`c_user` / `ds_user_id`) its numeric user id (the phone number's digits); the other
 * required cookies must be present and non-empty. One `AccountSession` per token holds a sandbox
 * wire client for the account's ops; when the sandbox logs the account out, every gateway
 * connection of the session gets a Deauth and close code 4003.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { Logger } from '@tributary/core/logging';
import { SandboxClient, type WireAccount } from '@tributary/sandbox/client/index';
import { REQUIRED_COOKIES, type MetaPlatform } from '../cookies.js';
import { EmulatorDirectory } from './directory.js';
import { userIdOfPhone } from './ids.js';

export interface SessionConnection {
  /** Ends the gateway connection (with a Deauth frame first when `deauth`). */
  kill(code: number, deauth: boolean): void;
  /** Pushes that a chat of this account moved to end-to-end encryption (moveThreadToE2EECutoverFolder). */
  cutover(chatId: string): void;
}

export interface AccountSession {
  token: string;
  account: WireAccount;
  userId: string;
  client: SandboxClient;
  dir: EmulatorDirectory;
  fbDtsg: string;
  lsd: string;
  deviceId: string;
  connections: Set<SessionConnection>;
  dead: boolean;
}

const SESSION_COOKIE: Record<MetaPlatform, string> = { messenger: 'xs', instagram: 'sessionid' };
const ID_COOKIE: Record<MetaPlatform, string> = { messenger: 'c_user', instagram: 'ds_user_id' };
const CONNECT_TIMEOUT_MS = 5_000;

export function parseCookieHeader(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/** Connects a sandbox client, failing (and closing it) on the first disconnect or after a timeout. */
export async function connectOnce(client: SandboxClient, timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
  let onDrop: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        onDrop = () => reject(new Error('the sandbox refused the connection'));
        client.once('disconnected', onDrop);
        timer = setTimeout(() => reject(new Error('the sandbox did not answer in time')), timeoutMs);
      }),
    ]);
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
    if (onDrop) client.off('disconnected', onDrop);
  }
}

export class SessionRegistry {
  readonly #sessions = new Map<string, AccountSession>();
  readonly #pending = new Map<string, Promise<AccountSession | undefined>>();
  readonly #secret = randomUUID();

  constructor(private readonly sandboxUrl: string, private readonly platform: MetaPlatform, private readonly log: Logger) {}

  /** The session the cookies name, or undefined when they are not a logged-in session. */
  async fromCookies(header: string | undefined): Promise<AccountSession | undefined> {
    const cookies = parseCookieHeader(header);
    if (REQUIRED_COOKIES[this.platform].some((name) => !cookies.get(name))) return undefined;
    const token = cookies.get(SESSION_COOKIE[this.platform])!;
    const userId = cookies.get(ID_COOKIE[this.platform])!;
    let session = this.#sessions.get(token);
    if (!session || session.dead) {
      let pending = this.#pending.get(token);
      if (!pending) {
        pending = this.#open(token).finally(() => this.#pending.delete(token));
        this.#pending.set(token, pending);
      }
      session = await pending;
    }
    return session && !session.dead && session.userId === userId ? session : undefined;
  }

  async #open(token: string): Promise<AccountSession | undefined> {
    const client = new SandboxClient({ url: this.sandboxUrl, token, reconnect: { minMs: 100, maxMs: 2_000 } });
    try {
      await connectOnce(client);
    } catch {
      return undefined;
    }
    const account = client.account!;
    const mac = (label: string) => createHmac('sha256', this.#secret).update(`${label}:${token}`).digest('base64url').slice(0, 24);
    const session: AccountSession = {
      token, account, userId: userIdOfPhone(account.phone), client, dir: new EmulatorDirectory(client, account),
      fbDtsg: mac('dtsg'), lsd: mac('lsd'), deviceId: randomUUID(), connections: new Set(), dead: false,
    };
    client.on('logged_out', () => this.kill(session, 'logged out on the sandbox'));
    this.#sessions.set(token, session);
    this.log.debug({ account: account.id }, 'emulator session opened');
    return session;
  }

  /** Ends a session: its gateway connections get Deauth + 4003. */
  kill(session: AccountSession, why: string): void {
    if (session.dead) return;
    session.dead = true;
    this.#sessions.delete(session.token);
    this.log.info({ account: session.account.id, why }, 'emulator session ended');
    for (const conn of [...session.connections]) conn.kill(4003, true);
    void session.client.close().catch(() => undefined);
  }

  all(): AccountSession[] {
    return [...this.#sessions.values()];
  }

  async close(): Promise<void> {
    for (const session of [...this.#sessions.values()]) {
      session.dead = true;
      await session.client.close().catch(() => undefined);
    }
    this.#sessions.clear();
  }
}
