/**
 * DGW stream multiplexing over one websocket, as a state machine with no socket of its own: the
 * caller feeds received messages to `receive()` and gives a `send` function for outgoing ones.
 *
 * - One-off streams carry one request and its response: EstabStream + Data (ack id 0) go out in
 *   one message; the server answers EstabStream with `{"code":200}`, acks the data, sends one data
 *   frame back; we ack it and end the stream (EndOfData). Each wait is bounded by a timeout.
 *   Fire-and-forget requests (LightSpeed type 4) ask for no ack and expect no response.
 * - Persistent streams (subscriptions) live until either side ends them: see persistent-stream.ts.
 * - Keepalive: a Ping every 10 s; if neither Ping nor Pong arrives within 30 s the connection is
 *   declared dead. A server Ping is answered with a Pong.
 * - Drain and Deauth become events; what to do about them (reconnect, log out) is the caller's.
 * - Malformed bytes close the multiplexer with the `DGWFrameError`: framing is lost.
 */
import type { MetaError } from '../errors.js';
import { drainReasonName, type DGWDrainReasonName } from './close-codes.js';
import { DGWFrameError, DGWStreamError } from './errors.js';
import { DGWFrameDecoder, MAX_STREAM_ID, encodeFrames, type DGWFrame, type DGWFrameKind } from './frames.js';
import { DGWPersistentStream, type DGWDataHandler, type StreamHost } from './persistent-stream.js';
import { OneOffStream } from './oneoff-stream.js';
import { DGW_TIMINGS, realTimers, type DGWTimers, type DGWTimings } from './timers.js';

export type DGWEvent =
  | { type: 'drain'; reason: number; reasonName: DGWDrainReasonName | `reason-${number}` }
  | { type: 'deauth' }
  /** The server ended one of our persistent streams. */
  | { type: 'stream-ended'; streamId: number }
  /** A frame for a stream we do not hold (data that asked for an ack is acked anyway). */
  | { type: 'unknown-stream'; streamId: number; frame: DGWFrameKind }
  /** A persistent stream's handler threw; the frame was not acked. */
  | { type: 'handler-error'; streamId: number; error: unknown }
  /** Terminal: keepalive lost, malformed input, a failed write, or `close()`. */
  | { type: 'closed'; error: MetaError | undefined };

export interface DGWMultiplexerOptions extends Partial<DGWTimings> {
  /** Writes one binary websocket message. A throw closes the multiplexer. */
  send(message: Uint8Array): void;
  onEvent?(event: DGWEvent): void;
  timers?: DGWTimers;
  maxPayloadBytes?: number;
}

export interface DGWRequestOptions {
  /** EstabStream parameters (JSON text); `{}` for LightSpeed requests. */
  parameters?: string;
  /** Fire-and-forget: no ack asked, no response awaited (resolves once the stream is accepted). */
  fireAndForget?: boolean;
}

export interface DGWOpenStreamOptions {
  parameters: string;
  initPayload?: Uint8Array;
  onData: DGWDataHandler;
}

type Stream = OneOffStream | DGWPersistentStream;

export class DGWMultiplexer {
  readonly #send: (message: Uint8Array) => void;
  readonly #onEvent: (event: DGWEvent) => void;
  readonly #timers: DGWTimers;
  readonly #timings: DGWTimings;
  readonly #decoder: DGWFrameDecoder;
  readonly #streams = new Map<number, Stream>();
  #nextStreamId = 0;
  #pingTimer: unknown;
  #pongDeadline: unknown;
  #closed = false;
  readonly #host: StreamHost;

  constructor(opts: DGWMultiplexerOptions) {
    this.#send = opts.send;
    this.#onEvent = opts.onEvent ?? (() => undefined);
    this.#timers = opts.timers ?? realTimers;
    this.#timings = {
      ackTimeoutMs: opts.ackTimeoutMs ?? DGW_TIMINGS.ackTimeoutMs,
      responseTimeoutMs: opts.responseTimeoutMs ?? DGW_TIMINGS.responseTimeoutMs,
      pingIntervalMs: opts.pingIntervalMs ?? DGW_TIMINGS.pingIntervalMs,
      pongTimeoutMs: opts.pongTimeoutMs ?? DGW_TIMINGS.pongTimeoutMs,
    };
    this.#decoder = new DGWFrameDecoder(opts.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: opts.maxPayloadBytes });
    this.#host = {
      write: (frames) => this.#write(frames),
      timers: this.#timers,
      ackTimeoutMs: this.#timings.ackTimeoutMs,
      release: (id) => this.#streams.delete(id),
      reportHandlerError: (streamId, error) => this.#onEvent({ type: 'handler-error', streamId, error }),
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Streams currently open (one-off and persistent). */
  get openStreams(): number {
    return this.#streams.size;
  }

  /** Starts the keepalive: call once the websocket is open. */
  start(): void {
    if (this.#closed) return;
    this.#schedulePing();
    this.#resetPongDeadline();
  }

  /** Sends a request on a new one-off stream and resolves with the response payload. */
  request(payload: Uint8Array, opts: DGWRequestOptions = {}): Promise<Uint8Array | undefined> {
    if (this.#closed) return Promise.reject(new DGWStreamError('closed', 'the DGW connection is closed'));
    let id: number;
    try {
      id = this.#claimStreamId();
    } catch (err) {
      return Promise.reject(err);
    }
    const stream = new OneOffStream(id, this.#host, this.#timings, opts.fireAndForget ?? false);
    this.#streams.set(id, stream);
    return stream.start(opts.parameters ?? '{}', payload);
  }

  /** Opens a persistent stream; resolves once the server accepted it (and acked the init payload). */
  async openStream(opts: DGWOpenStreamOptions): Promise<DGWPersistentStream> {
    if (this.#closed) throw new DGWStreamError('closed', 'the DGW connection is closed');
    const id = this.#claimStreamId();
    const stream = new DGWPersistentStream(id, this.#host, opts.onData);
    const established = new Promise<void>((resolve, reject) => {
      this.#streams.set(id, stream);
      this.#establishWaiters.set(id, { resolve, reject });
    });
    const timer = this.#timers.setTimeout(() => {
      this.#failEstablish(id, new DGWStreamError('ack-timeout', `no reply to EstabStream on stream ${id} within ${this.#timings.ackTimeoutMs} ms`, id));
    }, this.#timings.ackTimeoutMs);
    const initAcked = stream.sendEstablish(opts.parameters, opts.initPayload);
    try {
      await established;
      await initAcked;
    } catch (err) {
      // Whatever failed, the stream must not linger half-open.
      initAcked?.catch(() => undefined);
      if (!stream.closed) stream.close();
      throw err;
    } finally {
      this.#timers.clearTimeout(timer);
      this.#establishWaiters.delete(id);
    }
    return stream;
  }

  readonly #establishWaiters = new Map<number, { resolve: () => void; reject: (err: DGWStreamError) => void }>();

  /** Feeds one received websocket message (or any piece of the byte stream). */
  receive(message: Uint8Array): void {
    if (this.#closed) return;
    try {
      this.#decoder.write(message);
      for (let frame = this.#decoder.next(); frame && !this.#closed; frame = this.#decoder.next()) {
        this.#handle(frame);
      }
    } catch (err) {
      this.close(err instanceof DGWFrameError ? err : new DGWFrameError('bad-length', 'malformed DGW input'));
    }
  }

  /** Closes everything: pending operations fail with `error` (or a plain "closed"). Idempotent. */
  close(error?: MetaError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.clearTimeout(this.#pingTimer);
    this.#timers.clearTimeout(this.#pongDeadline);
    const reason = error instanceof DGWStreamError ? error : new DGWStreamError('closed', error ? `DGW connection closed: ${error.message}` : 'DGW connection closed');
    for (const id of [...this.#establishWaiters.keys()]) this.#failEstablish(id, reason);
    for (const stream of [...this.#streams.values()]) stream.terminate(reason);
    this.#streams.clear();
    this.#onEvent({ type: 'closed', error });
  }

  #handle(frame: DGWFrame): void {
    switch (frame.type) {
      case 'ping':
        this.#resetPongDeadline();
        this.#write([{ type: 'pong' }]);
        return;
      case 'pong':
        this.#resetPongDeadline();
        return;
      case 'empty':
        return;
      case 'drain':
        this.#onEvent({ type: 'drain', reason: frame.reason, reasonName: drainReasonName(frame.reason) });
        return;
      case 'deauth':
        this.#onEvent({ type: 'deauth' });
        return;
      case 'establish-stream':
        this.#receiveEstablish(frame.streamId, frame.parameters);
        return;
      // SmallAck is treated as a plain Ack (our reading: a short form of the same thing).
      case 'ack':
      case 'small-ack': {
        const stream = this.#streams.get(frame.streamId);
        if (!stream || !stream.receiveAck(frame.ackId)) this.#onEvent({ type: 'unknown-stream', streamId: frame.streamId, frame: frame.type });
        return;
      }
      case 'data': {
        const stream = this.#streams.get(frame.streamId);
        if (stream) {
          stream.receiveData(frame);
          return;
        }
        if (frame.requiresAck) this.#write([{ type: 'ack', streamId: frame.streamId, ackId: frame.ackId }]);
        this.#onEvent({ type: 'unknown-stream', streamId: frame.streamId, frame: 'data' });
        return;
      }
      case 'end-of-data': {
        const stream = this.#streams.get(frame.streamId);
        if (!stream) {
          this.#onEvent({ type: 'unknown-stream', streamId: frame.streamId, frame: 'end-of-data' });
          return;
        }
        const err = new DGWStreamError('closed', `the server ended stream ${frame.streamId}`, frame.streamId);
        this.#failEstablish(frame.streamId, err);
        stream.terminate(err);
        if (stream instanceof DGWPersistentStream) this.#onEvent({ type: 'stream-ended', streamId: frame.streamId });
        return;
      }
    }
  }

  #receiveEstablish(streamId: number, parameters: string): void {
    const stream = this.#streams.get(streamId);
    if (!stream) {
      this.#onEvent({ type: 'unknown-stream', streamId, frame: 'establish-stream' });
      return;
    }
    const code = establishCode(parameters);
    const error = code === 200 ? undefined : new DGWStreamError('establish-rejected', code === undefined ? `stream ${streamId}: EstabStream reply has no code` : `stream ${streamId} refused with code ${code}`, streamId);
    if (stream instanceof OneOffStream) {
      stream.receiveEstablish(error);
      return;
    }
    if (error) this.#failEstablish(streamId, error);
    else this.#establishWaiters.get(streamId)?.resolve();
  }

  #failEstablish(streamId: number, error: DGWStreamError): void {
    const waiter = this.#establishWaiters.get(streamId);
    if (!waiter) return;
    this.#establishWaiters.delete(streamId);
    waiter.reject(error);
  }

  #claimStreamId(): number {
    for (let tries = 0; tries <= MAX_STREAM_ID; tries++) {
      const id = this.#nextStreamId;
      this.#nextStreamId = id >= MAX_STREAM_ID ? 0 : id + 1;
      if (!this.#streams.has(id)) return id;
    }
    throw new DGWStreamError('stream-ids-exhausted', 'all 65536 DGW stream ids are in use');
  }

  #write(frames: DGWFrame[]): void {
    if (this.#closed) return;
    try {
      this.#send(encodeFrames(frames));
    } catch (err) {
      this.close(err instanceof DGWFrameError ? err : new DGWStreamError('closed', 'writing to the DGW websocket failed'));
    }
  }

  #schedulePing(): void {
    this.#pingTimer = this.#timers.setTimeout(() => {
      if (this.#closed) return;
      this.#write([{ type: 'ping' }]);
      this.#schedulePing();
    }, this.#timings.pingIntervalMs);
  }

  #resetPongDeadline(): void {
    this.#timers.clearTimeout(this.#pongDeadline);
    this.#pongDeadline = this.#timers.setTimeout(() => {
      this.close(new DGWStreamError('pong-timeout', `no ping or pong from the DGW server for ${this.#timings.pongTimeoutMs} ms`));
    }, this.#timings.pongTimeoutMs);
  }
}

/** The `code` of an EstabStream reply, if it is a JSON object with a numeric code. */
function establishCode(parameters: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(parameters);
    if (parsed && typeof parsed === 'object' && 'code' in parsed && typeof parsed.code === 'number') return parsed.code;
  } catch {
    // The frame decoder already checked the JSON; nothing to do here.
  }
  return undefined;
}
