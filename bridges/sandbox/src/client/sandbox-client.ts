import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import WebSocket from 'ws';
import { getLogger } from '@tributary/core/logging';
import {
  CLOSE, eventFrameSchema, mediaUploadResultSchema, readyFrameSchema, responseFrameSchema, resultSchemas,
  type LoginResult, type MediaUploadResult, type Op, type OpArgs, type OpResult, type ReadyInfo,
} from '../wire.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { SandboxClientError } from './errors.js';
import { checkStatus, readJsonResponse, send } from './http.js';
import { passwordLogin, startQrLogin, tokenLogin, type QrCode, type QrLogin } from './login.js';
import { SandboxOps } from './sandbox-ops.js';

export type { DisconnectInfo, SandboxClientEvents } from './sandbox-ops.js';

const log = getLogger('sandbox');

export interface SandboxClientOptions {
  /** The network's base URL, e.g. http://127.0.0.1:29400 (the socket is <url>/wire). */
  url: string;
  token?: string;
  /** Last event seq already processed (persisted by the caller); events after it are replayed. */
  since?: number;
  reconnect?: BackoffOptions;
  /** Per request (default 15 s). */
  requestTimeoutMs?: number;
  /**
   * Acknowledge each event right after the `event` listeners return (default true). Turn off
   * to call `ack(seq)` only once an event is durably handled: unacknowledged events are
   * replayed after a reconnect.
   */
  autoAck?: boolean;
}

interface Pending { op: Op; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout; }

/**
 * The client side of the sandbox wire protocol: the narrow port a sandbox connector needs.
 * One instance per logged-in account. Reconnects by itself (exponential backoff, full jitter)
 * and resumes from the last acknowledged event seq.
 */
export class SandboxClient extends SandboxOps {
  private readonly baseUrl: string;
  private tokenValue: string | undefined;
  private acked: number | undefined;
  /** Highest seq emitted on the current connection (drops duplicates defensively). */
  private received = 0;
  private ws: WebSocket | undefined;
  private ready = false;
  private closed = true;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private ackScheduled = false;
  private readonly reconnectOpts: BackoffOptions;
  private readonly timeoutMs: number;
  private readonly autoAck: boolean;
  private accountInfo: ReadyInfo['account'] | undefined;
  private firstConnect: { resolve: (r: ReadyInfo) => void; reject: (e: Error) => void } | undefined;

  constructor(opts: SandboxClientOptions) {
    super();
    this.baseUrl = opts.url.replace(/\/+$/, '');
    this.tokenValue = opts.token;
    this.acked = opts.since;
    this.reconnectOpts = opts.reconnect ?? { minMs: 250, maxMs: 30_000 };
    this.timeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.autoAck = opts.autoAck ?? true;
  }

  get token(): string | undefined { return this.tokenValue; }
  /** The seq to persist and pass as `since` next time. */
  get lastSeq(): number | undefined { return this.acked; }
  get isConnected(): boolean { return this.ready; }
  get account(): ReadyInfo['account'] | undefined { return this.accountInfo; }

  // --- login (before a token exists) ----------------------------------------------------------

  /** Username (account id or phone) + password; stores the token for `connect()`. */
  async passwordLogin(username: string, password: string): Promise<LoginResult> {
    const r = await passwordLogin(this.baseUrl, username, password, this.timeoutMs);
    this.tokenValue = r.token;
    return r;
  }

  /** Checks a token (e.g. read from the control API) and stores it. */
  async tokenLogin(token: string): Promise<LoginResult> {
    const r = await tokenLogin(this.baseUrl, token, this.timeoutMs);
    this.tokenValue = r.token;
    return r;
  }

  /** QR flow: iterate (or pass `onCode`) for the rotating codes; `result` gives the token. */
  startQrLogin(onCode?: (code: QrCode) => void): QrLogin {
    const login = startQrLogin(this.baseUrl, this.timeoutMs, onCode);
    login.result.then((r) => {
      this.tokenValue = r.token;
    }, () => undefined);
    return login;
  }

  // --- connection -----------------------------------------------------------------------------

  /**
   * Connects and resolves on the first `ready`. Transient failures are retried with backoff;
   * rejects with `unauthorized` for a bad token, or when `close()` is called first.
   */
  connect(): Promise<ReadyInfo> {
    if (this.tokenValue === undefined) return Promise.reject(new SandboxClientError('unauthorized', 'no token: log in first'));
    if (!this.closed) return Promise.reject(new SandboxClientError('bad_request', 'already connecting or connected'));
    this.closed = false;
    this.attempt = 0;
    return new Promise<ReadyInfo>((resolve, reject) => {
      this.firstConnect = { resolve, reject };
      this.open();
    });
  }

  private open(): void {
    this.retryTimer = undefined;
    const wsUrl = `${this.baseUrl.replace(/^http/, 'ws')}/wire${this.acked === undefined ? '' : `?since=${this.acked}`}`;
    const ws = new WebSocket(wsUrl, {
      headers: { authorization: `Bearer ${this.tokenValue ?? ''}` },
      handshakeTimeout: this.timeoutMs,
      maxPayload: 256 * 1024 * 1024,
    });
    this.ws = ws;
    this.received = this.acked ?? 0;
    ws.on('message', (data) => this.onMessage(ws, data));
    ws.on('error', (err) => log.debug({ err: err.message }, 'sandbox client socket error'));
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
  }

  private onMessage(ws: WebSocket, data: WebSocket.RawData): void {
    if (ws !== this.ws) return;
    let value: unknown;
    try {
      value = JSON.parse(data.toString());
    } catch {
      log.error('sandbox client: non-JSON frame');
      return;
    }
    const obj = (value ?? {}) as Record<string, unknown>;
    if ('ready' in obj) return this.onReady(readyFrameSchema.safeParse(value));
    if ('seq' in obj) return this.onEvent(eventFrameSchema.safeParse(value));
    if ('id' in obj) return this.onResponse(responseFrameSchema.safeParse(value));
    log.error('sandbox client: unknown frame');
  }

  private onReady(parsed: ReturnType<typeof readyFrameSchema.safeParse>): void {
    if (!parsed.success) {
      log.error({ issue: parsed.error.issues[0]?.message }, 'sandbox client: bad ready frame');
      return;
    }
    const info = parsed.data.ready;
    const resumed = this.acked !== undefined && !info.resync_required;
    // Without `since` (fresh client) or after a resync, continue from the server's head.
    if (!resumed) this.acked = info.head_seq;
    this.received = this.acked ?? 0;
    this.ready = true;
    this.attempt = 0;
    this.accountInfo = info.account;
    this.emit('connected', { ...info, resumed });
    if (info.resync_required) this.emit('resync_required', { headSeq: info.head_seq });
    this.firstConnect?.resolve(info);
    this.firstConnect = undefined;
  }

  private onEvent(parsed: ReturnType<typeof eventFrameSchema.safeParse>): void {
    if (!parsed.success) {
      log.error({ issue: parsed.error.issues[0]?.message }, 'sandbox client: bad event frame');
      return;
    }
    const { seq, event } = parsed.data;
    if (seq <= this.received) return;
    this.received = seq;
    try {
      this.emit('event', event, seq);
      if (event.type === 'logged_out') this.emit('logged_out', event.reason);
    } catch (err) {
      // A throwing listener must not take the socket (or the process) down with it.
      log.error({ err, seq }, 'sandbox client: event listener threw');
    }
    if (this.autoAck) this.ack(seq);
  }

  private onResponse(parsed: ReturnType<typeof responseFrameSchema.safeParse>): void {
    if (!parsed.success) {
      log.error({ issue: parsed.error.issues[0]?.message }, 'sandbox client: bad response frame');
      return;
    }
    const frame = parsed.data;
    const p = this.pending.get(String(frame.id));
    if (!p) return;
    this.pending.delete(String(frame.id));
    clearTimeout(p.timer);
    if (!frame.ok) return p.reject(new SandboxClientError(frame.error.code, frame.error.message));
    const result = resultSchemas[p.op].safeParse(frame.result);
    if (!result.success) return p.reject(new SandboxClientError('internal', `malformed ${p.op} result: ${result.error.issues[0]?.message ?? ''}`));
    p.resolve(result.data);
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    this.ready = false;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new SandboxClientError('disconnected', `connection lost during ${p.op}`));
      this.pending.delete(id);
    }
    const fatal = code === CLOSE.unauthorized || code === CLOSE.loggedOut;
    const willReconnect = !this.closed && !fatal;
    this.emit('disconnected', { code, reason, willReconnect });
    if (fatal) {
      this.closed = true;
      this.firstConnect?.reject(new SandboxClientError('unauthorized', reason || 'unauthorized'));
      this.firstConnect = undefined;
      return;
    }
    if (!willReconnect) return;
    const delay = backoffDelay(this.attempt++, this.reconnectOpts);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  /** Marks events ≤ seq as handled (automatic unless `autoAck: false`). */
  ack(seq: number): void {
    if (this.acked !== undefined && seq <= this.acked) return;
    this.acked = seq;
    // One ack frame per burst of events.
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      if (this.ready && this.ws && this.acked !== undefined) this.ws.send(JSON.stringify({ ack: this.acked }));
    });
  }

  /** Closes for good (no reconnect); pending requests reject with `disconnected`. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.firstConnect?.reject(new SandboxClientError('disconnected', 'closed'));
    this.firstConnect = undefined;
    const ws = this.ws;
    if (!ws) return;
    if (this.ready && this.acked !== undefined) ws.send(JSON.stringify({ ack: this.acked }));
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000, 'client closing');
      setTimeout(() => ws.terminate(), 1_000).unref();
    });
  }

  // --- requests -------------------------------------------------------------------------------

  override request<K extends Op>(op: K, args: OpArgs<K>, timeoutMs = this.timeoutMs): Promise<OpResult<K>> {
    const ws = this.ws;
    if (!ws || !this.ready) return Promise.reject(new SandboxClientError('not_connected', `${op}: not connected`));
    const id = String(this.nextId++);
    return new Promise<OpResult<K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SandboxClientError('timeout', `${op} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { op, resolve: resolve as (v: unknown) => void, reject, timer });
      ws.send(JSON.stringify({ ...args, id, op }));
    });
  }

  /** A fresh client_txn_id for `send`. Reuse it when retrying the same message. */
  static newTxnId(): string {
    return randomUUID();
  }

  // --- media ----------------------------------------------------------------------------------

  async uploadMedia(data: Buffer | Uint8Array | Readable, mimetype: string): Promise<MediaUploadResult> {
    const body = data instanceof Uint8Array ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : data;
    const res = await send({ method: 'POST', url: `${this.baseUrl}/media`, token: this.tokenValue, body, contentType: mimetype, timeoutMs: this.timeoutMs });
    return readJsonResponse(res, mediaUploadResultSchema);
  }

  /** The media bytes as a stream, with the size and mimetype the uploader gave. */
  async downloadMedia(id: string): Promise<{ stream: Readable; size: number; mimetype: string }> {
    const res = await send({ method: 'GET', url: `${this.baseUrl}/media/${encodeURIComponent(id)}`, token: this.tokenValue, timeoutMs: this.timeoutMs });
    await checkStatus(res);
    return { stream: res, size: Number(res.headers['content-length'] ?? -1), mimetype: res.headers['content-type'] ?? 'application/octet-stream' };
  }
}
