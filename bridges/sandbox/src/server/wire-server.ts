import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { getLogger } from '@tributary/core/logging';
import {
  CLOSE, LIMITS, ackFrameSchema, argsSchemas, authFrameSchema, requestEnvelopeSchema,
  type Op, type OpArgs, type RequestId, type ServerFrame, type WireError,
} from '../wire.js';
import { NetworkError, toWireError } from './errors.js';
import { bearerToken, describeZodError, queryParams } from './http-util.js';
import type { SandboxNetwork } from './network.js';
import { wireOps } from './wire-ops.js';

const log = getLogger('sandbox');

export interface WireServerOptions {
  /** How long an unauthenticated socket may wait before its auth frame (default 10 s). */
  authTimeoutMs?: number;
  /** A client this far behind on reading is dropped; it reconnects and replays (default 32 MiB). */
  maxBufferedBytes?: number;
}

/** The `/wire` WebSocket endpoint: authentication, replay, requests, and live events. */
export class WireServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.frameBytes });
  private readonly conns = new Map<string, Set<WebSocket>>();
  private readonly refusedUntil = new Map<string, number>();
  private readonly authTimeoutMs: number;
  private readonly maxBuffered: number;

  constructor(private readonly network: SandboxNetwork, opts: WireServerOptions = {}) {
    this.authTimeoutMs = opts.authTimeoutMs ?? 10_000;
    this.maxBuffered = opts.maxBufferedBytes ?? 32 * 1024 * 1024;
    network.on('event', (account, frame) => {
      for (const ws of this.conns.get(account) ?? []) this.send(ws, frame);
    });
    network.on('logout', (account) => {
      for (const ws of this.conns.get(account) ?? []) ws.close(CLOSE.loggedOut, 'logged out');
    });
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  }

  private send(ws: WebSocket, frame: ServerFrame): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.maxBuffered) {
      log.warn('sandbox wire client too slow; dropping the connection');
      ws.terminate();
      return;
    }
    ws.send(JSON.stringify(frame));
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    ws.on('error', (err) => log.debug({ err }, 'sandbox wire socket error'));
    const headerToken = bearerToken(req);
    if (headerToken !== undefined) {
      const sinceRaw = queryParams(req.url ?? '').get('since');
      const since = sinceRaw === null ? undefined : Number(sinceRaw);
      if (since !== undefined && (!Number.isSafeInteger(since) || since < 0)) {
        ws.close(CLOSE.protocolError, 'bad since');
        return;
      }
      this.authenticate(ws, headerToken, since, undefined);
      return;
    }
    const timer = setTimeout(() => ws.close(CLOSE.unauthorized, 'authentication timeout'), this.authTimeoutMs);
    ws.once('message', (data) => {
      clearTimeout(timer);
      const parsed = authFrameSchema.safeParse(parseJson(data));
      if (!parsed.success) {
        ws.close(CLOSE.unauthorized, 'expected {op:"auth", token}');
        return;
      }
      this.authenticate(ws, parsed.data.token, parsed.data.since, parsed.data.id);
    });
    ws.once('close', () => clearTimeout(timer));
  }

  private authenticate(ws: WebSocket, token: string, since: number | undefined, authId: RequestId | undefined): void {
    const account = this.network.accountByToken(token);
    if (!account) {
      ws.close(CLOSE.unauthorized, 'invalid token');
      return;
    }
    const refused = this.refusedUntil.get(account.id) ?? 0;
    if (refused > Date.now()) {
      ws.close(CLOSE.tryAgainLater, `reconnects refused for ${refused - Date.now()} ms`);
      return;
    }
    // Ready, replay and registration happen in one synchronous step, so no live event can
    // slip between the replayed ones or be delivered twice.
    let resync = false;
    let frames: ServerFrame[] = [];
    if (since !== undefined) {
      const r = this.network.replay(account.id, since);
      if (r.resyncRequired) resync = true;
      else frames = r.frames;
    }
    const ready = { account: this.network.publicAccount(account), head_seq: this.network.headSeq(account.id), resync_required: resync, replayed: frames.length };
    if (authId !== undefined) this.send(ws, { id: authId, ok: true, result: ready });
    this.send(ws, { ready });
    for (const f of frames) this.send(ws, f);
    let set = this.conns.get(account.id);
    if (!set) this.conns.set(account.id, (set = new Set()));
    set.add(ws);
    ws.on('close', () => {
      set.delete(ws);
      if (set.size === 0 && this.conns.get(account.id) === set) this.conns.delete(account.id);
    });
    ws.on('message', (data) => this.onFrame(ws, account.id, data));
    log.debug({ account: account.id, since, resync, replayed: frames.length }, 'sandbox wire client connected');
  }

  private onFrame(ws: WebSocket, me: string, data: RawData): void {
    const value = parseJson(data);
    const ack = ackFrameSchema.safeParse(value);
    if (ack.success) {
      this.network.ack(me, ack.data.ack);
      return;
    }
    const id = (value as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string' && typeof id !== 'number') {
      ws.close(CLOSE.protocolError, 'not a frame');
      return;
    }
    const fail = (error: WireError): void => this.send(ws, { id, ok: false, error });
    if ((value as { op?: unknown }).op === 'auth') {
      fail({ code: 'bad_request', message: 'already authenticated' });
      return;
    }
    const env = requestEnvelopeSchema.safeParse(value);
    if (!env.success) {
      fail({ code: 'bad_request', message: describeZodError(env.error) });
      return;
    }
    const { id: _id, op, ...rest } = env.data;
    const args = argsSchemas[op].safeParse(rest);
    if (!args.success) {
      fail({ code: 'bad_request', message: describeZodError(args.error) });
      return;
    }
    try {
      if (op === 'logout') {
        // Answer first: the logout closes this very connection.
        this.send(ws, { id, ok: true, result: {} });
        this.network.logout(me, 'logged out by the client');
        return;
      }
      const handler = wireOps[op] as (n: SandboxNetwork, me: string, a: OpArgs<Op>) => unknown;
      this.send(ws, { id, ok: true, result: handler(this.network, me, args.data) });
    } catch (err) {
      if (!(err instanceof NetworkError)) log.error({ err, op }, 'sandbox wire op failed');
      fail(toWireError(err));
    }
  }

  connectionCount(account?: string): number {
    if (account !== undefined) return this.conns.get(account)?.size ?? 0;
    let n = 0;
    for (const set of this.conns.values()) n += set.size;
    return n;
  }

  /** Drops the account's connections like a network failure; optionally refuses reconnects. */
  disconnect(account: string, refuseMs = 0): number {
    if (refuseMs > 0) this.refusedUntil.set(account, Date.now() + refuseMs);
    const set = this.conns.get(account);
    const n = set?.size ?? 0;
    for (const ws of set ?? []) ws.terminate();
    return n;
  }

  async close(): Promise<void> {
    for (const set of this.conns.values()) for (const ws of set) ws.terminate();
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function parseJson(data: RawData): unknown {
  try {
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
