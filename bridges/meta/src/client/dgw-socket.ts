/**
 * One DGW websocket connection: the URL and headers per platform (facts: research 3.2), the
 * `DGWMultiplexer` wired to `ws`, and the LightSpeed push stream. What to do when it closes
 * (reconnect, log out) is MetaClient's; this reports how it closed.
 */
import { randomUUID } from 'node:crypto';
import type { Agent } from 'node:http';
import WebSocket from 'ws';
import type { Logger } from '@tributary/core/logging';
import type { MetaPlatform } from '../cookies.js';
import type { MetaError } from '../errors.js';
import { describeDGWClose } from '../dgw/close-codes.js';
import type { DGWPersistentStream } from '../dgw/persistent-stream.js';
import { DGWMultiplexer } from '../dgw/streams.js';
import type { DGWTimings } from '../dgw/timers.js';
import { MetaClientError } from './errors.js';

/** x-dgw-authtype per platform (fact). */
const AUTH_TYPE: Record<MetaPlatform, string> = { messenger: '1:0', instagram: '6:0' };

/**
 * EstabStream parameters of the LightSpeed push subscription. Ours: the research says pushes
 * travel on a persistent stream but not how it is opened; only our emulator verifies this.
 */
export const LS_PUSH_STREAM_PARAMETERS = JSON.stringify({ 'x-dgw-app-stream-group': 'lightspeed-push' });

/**
 * LightSpeed data frames start with one 0x80 byte before the JSON (fact); responses are read
 * from the first `{` to the last `}`.
 */
export const LS_FRAME_PREFIX = 0x80;

export interface DGWUrlInput {
  platform: MetaPlatform;
  gateway: string;
  dgwAppId: string;
  accountId: string;
  deviceId: string;
}

export function dgwUrl(input: DGWUrlInput): string {
  const q = new URLSearchParams({
    'x-dgw-appid': input.dgwAppId,
    'x-dgw-appversion': '0',
    'x-dgw-authtype': AUTH_TYPE[input.platform],
    'x-dgw-version': '5',
    'x-dgw-uuid': input.accountId,
    'x-dgw-tier': 'prod',
    'x-dgw-deviceid': input.deviceId,
    'x-dgw-loggingid': randomUUID(),
  });
  return `${input.gateway}?${q.toString()}`;
}

export function withPrefix(json: Uint8Array): Uint8Array {
  const out = new Uint8Array(json.length + 1);
  out[0] = LS_FRAME_PREFIX;
  out.set(json, 1);
  return out;
}

/** The JSON text of a LightSpeed data frame (prefix bytes dropped). */
export function frameJSON(payload: Uint8Array): string {
  const start = payload.indexOf(0x7b);
  const end = payload.lastIndexOf(0x7d);
  if (start < 0 || end < start) throw new MetaClientError('bad-response', 'a LightSpeed frame holds no JSON object');
  return new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(start, end + 1));
}

export interface DGWCloseInfo {
  code: number;
  /** A Deauth frame came before the close. */
  deauth: boolean;
  /** Whether the close code allows a reconnect (4003/4004 and Deauth do not). */
  reconnect: boolean;
  /** The multiplexer's reason, when it closed first (keepalive lost, bad frames). */
  error: MetaError | undefined;
}

export interface DGWSocketOptions {
  url: string;
  headers: Record<string, string>;
  log: Logger;
  timings?: Partial<DGWTimings>;
  onPush(json: string): void;
  onClose(info: DGWCloseInfo): void;
  /**
   * Opens this persistent stream instead of the LightSpeed push stream (Instagram's database 223
   * sync, mqttbypass, streamcontroller); its frames go to `onData`, in order, not to `onPush`.
   */
  mainStream?: { parameters: string; initPayload?: Uint8Array; onData(payload: Uint8Array): void | Promise<void> };
  /** Until the websocket is open and the push stream accepted. */
  openTimeoutMs?: number;
  /** The agent that opens the connection (a proxy's tunnels), when not a direct one. */
  agent?: Agent | undefined;
}

export class DGWSocket {
  readonly #ws: WebSocket;
  readonly #mux: DGWMultiplexer;
  readonly #opts: DGWSocketOptions;
  #deauth = false;
  #main: DGWPersistentStream | undefined;
  #muxError: MetaError | undefined;
  #closed = false;

  private constructor(ws: WebSocket, opts: DGWSocketOptions) {
    this.#ws = ws;
    this.#opts = opts;
    this.#mux = new DGWMultiplexer({
      ...opts.timings,
      send: (bytes) => ws.send(bytes),
      onEvent: (event) => {
        switch (event.type) {
          case 'deauth':
            this.#deauth = true;
            opts.log.warn('DGW gateway sent Deauth');
            ws.close(1000);
            return;
          case 'drain':
            opts.log.info({ reason: event.reasonName }, 'DGW gateway asks to drain: reconnecting');
            ws.close(1000);
            return;
          case 'closed':
            this.#muxError = event.error;
            if (event.error) opts.log.warn({ code: event.error.code }, 'DGW connection failed');
            if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
            return;
          case 'handler-error':
            opts.log.warn({ err: (event.error as Error)?.message }, 'LightSpeed push handler failed');
            return;
          default:
            opts.log.debug({ event: event.type }, 'DGW event');
        }
      },
    });
  }

  /** Opens the websocket and the push stream; rejects with `MetaClientError('http')` (status) or a stream error. */
  static open(opts: DGWSocketOptions): Promise<DGWSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(opts.url, {
        headers: opts.headers, handshakeTimeout: opts.openTimeoutMs ?? 15_000, maxPayload: 64 * 1024 * 1024, ...(opts.agent ? { agent: opts.agent } : {}),
      });
      const socket = new DGWSocket(ws, opts);
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        ws.removeAllListeners('open');
        socket.#closed = true;
        ws.terminate();
        reject(err);
      };
      ws.on('unexpected-response', (_req, res) => {
        res.resume();
        fail(new MetaClientError('http', `the DGW gateway refused the websocket with HTTP ${res.statusCode ?? 0}`, { status: res.statusCode ?? 0 }));
      });
      ws.on('error', (err) => fail(new MetaClientError('http', `DGW websocket: ${err.message}`, { cause: err })));
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) socket.#mux.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      });
      ws.on('close', (code) => {
        if (!settled) {
          const what = describeDGWClose(code);
          fail(new MetaClientError(what.reconnect ? 'http' : 'logged-out', `the DGW gateway closed the connection (${code} ${what.name}) while opening`, { status: code }));
          return;
        }
        socket.#handleClose(code);
      });
      ws.on('open', () => {
        socket.#mux.start();
        const main = opts.mainStream ?? { parameters: LS_PUSH_STREAM_PARAMETERS, onData: (payload: Uint8Array) => opts.onPush(frameJSON(payload)) };
        socket.#mux
          .openStream(main)
          .then((stream) => {
            if (settled) return;
            settled = true;
            socket.#main = stream;
            resolve(socket);
          }, (err: Error) => fail(err));
      });
    });
  }

  /** One LightSpeed request on a one-off stream; resolves with the response JSON (undefined when fire-and-forget). */
  async request(json: string, fireAndForget = false): Promise<string | undefined> {
    if (this.#closed) throw new MetaClientError('not-connected', 'the DGW connection is closed');
    const reply = await this.#mux.request(withPrefix(new TextEncoder().encode(json)), { fireAndForget });
    return reply === undefined ? undefined : frameJSON(reply);
  }

  /** Sends on the main persistent stream: acked (resolves on the server's ack) or not. */
  async sendOnMainStream(payload: Uint8Array, ack: boolean): Promise<void> {
    if (this.#closed || !this.#main) throw new MetaClientError('not-connected', 'the DGW connection is closed');
    if (ack) await this.#main.send(payload);
    else this.#main.sendNoAck(payload);
  }

  close(code = 1000): void {
    if (this.#closed) return;
    this.#ws.close(code);
  }

  #handleClose(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#mux.close();
    const what = describeDGWClose(code);
    this.#opts.onClose({ code, deauth: this.#deauth, reconnect: what.reconnect && !this.#deauth, error: this.#muxError });
  }
}
