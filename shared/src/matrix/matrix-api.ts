/**
 * The Client-Server API calls the bridge makes, as the appservice (as_token) masquerading as the
 * bot, a ghost or a double-puppeted user (`user_id=`). Sends take a caller-chosen transaction id,
 * so a retried send after a crash is deduplicated by the homeserver, and an optional `ts` for
 * history (timestamp massaging).
 */
import { Readable } from 'node:stream';
import { getLogger } from '../logging.js';

const log = getLogger('matrix-api');

export class MatrixApiError extends Error {
  constructor(readonly status: number, readonly errcode: string, message: string, readonly body?: unknown) {
    super(message);
    this.name = 'MatrixApiError';
  }
}

export interface RequestOptions {
  asUser?: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Streamed upload body; `contentType` should be set. */
  rawBody?: Readable | Buffer;
  contentType?: string;
  contentLength?: number;
  /** Overrides the appservice token (double puppeting with a user's own token). */
  accessToken?: string;
  retries?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class MatrixApi {
  private readonly base: string;
  /**
   * Double puppeting: requests made as a user the main appservice does not own are made with the
   * double-puppet appservice's token instead.
   */
  private puppet: { token: string; owns: (mxid: string) => boolean } | undefined;

  /**
   * End-to-bridge encryption: turns an event into what must be sent into the room (an
   * `m.room.encrypted` event in encrypted rooms). Set once at start-up when encryption is allowed.
   */
  encryptor: ((roomId: string, type: string, content: unknown, asUser: string) => Promise<{ type: string; content: unknown }>) | undefined;

  setPuppetToken(token: string, owns: (mxid: string) => boolean): void {
    this.puppet = { token, owns };
  }

  constructor(homeserverUrl: string, private readonly asToken: string, readonly serverName: string) {
    this.base = homeserverUrl.replace(/\/+$/, '');
  }

  url(path: string, query?: Record<string, string | number | undefined>): string {
    const u = new URL(this.base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  async request<T = Record<string, unknown>>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    const text = await res.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Performs a request, retrying rate limits, 5xx and connection failures a few times. */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const retries = opts.rawBody instanceof Readable ? 0 : (opts.retries ?? 4);
    const query = { ...opts.query, ...(opts.asUser && !opts.accessToken ? { user_id: opts.asUser } : {}) };
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        const viaPuppet = !opts.accessToken && opts.asUser && this.puppet && !this.puppet.owns(opts.asUser);
        const token = opts.accessToken ?? (viaPuppet ? this.puppet!.token : this.asToken);
        const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
        let body: RequestInit['body'];
        if (opts.rawBody !== undefined) {
          headers['Content-Type'] = opts.contentType ?? 'application/octet-stream';
          if (opts.contentLength !== undefined) headers['Content-Length'] = String(opts.contentLength);
          body = (opts.rawBody instanceof Readable ? Readable.toWeb(opts.rawBody) : opts.rawBody) as RequestInit['body'];
        } else if (opts.body !== undefined) {
          headers['Content-Type'] = 'application/json';
          body = JSON.stringify(opts.body);
        }
        res = await fetch(this.url(path, query), {
          method, headers, body,
          ...(opts.rawBody instanceof Readable ? { duplex: 'half' } : {}),
        } as RequestInit);
      } catch (err) {
        if (attempt >= retries) throw new MatrixApiError(0, 'M_CONNECTION_FAILED', `cannot reach the homeserver: ${(err as Error).message}`);
        await sleep(backoff(attempt));
        continue;
      }
      if (res.ok) return res;
      const text = await res.text();
      let body: Record<string, unknown> = {};
      try { body = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON */ }
      const retriable = res.status === 429 || res.status >= 500;
      if (retriable && attempt < retries) {
        const wait = typeof body.retry_after_ms === 'number' ? body.retry_after_ms : backoff(attempt);
        log.debug({ status: res.status, path, attempt }, 'retrying homeserver request');
        await sleep(Math.min(wait, 30_000));
        continue;
      }
      throw new MatrixApiError(res.status, String(body.errcode ?? 'M_UNKNOWN'), `${method} ${path}: ${res.status} ${String(body.error ?? text).slice(0, 300)}`, body);
    }
  }

  async sendEvent(roomId: string, type: string, content: unknown, opts: { asUser: string; txnId: string; ts?: number }): Promise<string> {
    if (this.encryptor) ({ type, content } = await this.encryptor(roomId, type, content, opts.asUser));
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(type)}/${enc(opts.txnId)}`;
    const r = await this.request<{ event_id: string }>('PUT', path, { asUser: opts.asUser, body: content, query: { ts: opts.ts } });
    return r.event_id;
  }

  async sendState(roomId: string, type: string, stateKey: string, content: unknown, asUser: string): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`;
    return (await this.request<{ event_id: string }>('PUT', path, { asUser, body: content })).event_id;
  }

  async getState<T = Record<string, unknown>>(roomId: string, type: string, stateKey: string, asUser: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, { asUser, retries: 1 });
    } catch (err) {
      if (err instanceof MatrixApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async redact(roomId: string, eventId: string, opts: { asUser: string; txnId: string; reason?: string }): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/${enc(opts.txnId)}`;
    const body = opts.reason ? { reason: opts.reason } : {};
    return (await this.request<{ event_id: string }>('PUT', path, { asUser: opts.asUser, body })).event_id;
  }

  async createRoom(body: Record<string, unknown>, asUser: string): Promise<string> {
    return (await this.request<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', { asUser, body })).room_id;
  }

  async invite(roomId: string, userId: string, asUser: string): Promise<void> {
    try {
      await this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { asUser, body: { user_id: userId } });
    } catch (err) {
      // Already joined or invited is fine: the goal is that they can join.
      if (err instanceof MatrixApiError && err.status === 403 && /already (in|joined)|is already/i.test(err.message)) return;
      throw err;
    }
  }

  async join(roomId: string, asUser: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { asUser, body: {} });
  }

  async leave(roomId: string, asUser: string, reason?: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { asUser, body: reason ? { reason } : {} });
  }

  async kick(roomId: string, userId: string, asUser: string, reason?: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { asUser, body: { user_id: userId, ...(reason ? { reason } : {}) } });
  }

  async joinedMembers(roomId: string, asUser: string): Promise<string[]> {
    const r = await this.request<{ joined: Record<string, unknown> }>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`, { asUser });
    return Object.keys(r.joined ?? {});
  }

  async setTyping(roomId: string, asUser: string, typing: boolean, timeoutMs = 30_000): Promise<void> {
    await this.request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(asUser)}`, {
      asUser, body: typing ? { typing: true, timeout: timeoutMs } : { typing: false }, retries: 0,
    });
  }

  async sendReceipt(roomId: string, eventId: string, asUser: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, { asUser, body: {} });
  }

  async setPresence(asUser: string, presence: string): Promise<void> {
    await this.request('PUT', `/_matrix/client/v3/presence/${enc(asUser)}/status`, { asUser, body: { presence }, retries: 0 });
  }

  async setDisplayName(asUser: string, name: string): Promise<void> {
    await this.request('PUT', `/_matrix/client/v3/profile/${enc(asUser)}/displayname`, { asUser, body: { displayname: name } });
  }

  async setAvatarUrl(asUser: string, url: string): Promise<void> {
    await this.request('PUT', `/_matrix/client/v3/profile/${enc(asUser)}/avatar_url`, { asUser, body: { avatar_url: url } });
  }

  async getProfile(userId: string): Promise<{ displayname?: string; avatar_url?: string }> {
    try {
      return await this.request('GET', `/_matrix/client/v3/profile/${enc(userId)}`, { retries: 1 });
    } catch {
      return {};
    }
  }

  /** Registers an appservice user without logging in (works with MSC4190 servers). */
  async register(localpart: string): Promise<void> {
    try {
      await this.request('POST', '/_matrix/client/v3/register', {
        body: { type: 'm.login.application_service', username: localpart, inhibit_login: true },
      });
    } catch (err) {
      if (err instanceof MatrixApiError && err.errcode === 'M_USER_IN_USE') return;
      throw err;
    }
  }

  async whoami(accessToken: string): Promise<{ user_id: string; device_id?: string }> {
    return this.request('GET', '/_matrix/client/v3/account/whoami', { accessToken, retries: 1 });
  }
}

export function enc(s: string): string {
  return encodeURIComponent(s);
}

function backoff(attempt: number): number {
  const base = Math.min(8000, 250 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}
