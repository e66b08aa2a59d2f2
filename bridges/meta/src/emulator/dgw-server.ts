/**
 * The gateway's side of the DGW frame protocol for one websocket: it accepts streams
 * (EstabStream -> `{"code":200}`), acks data that asks for it, answers each one-off stream's
 * request with one data frame, pushes on the client's LightSpeed push stream, answers Ping with
 * Pong, and closes with 4005 (bad request) on bytes it cannot frame. Built from the same codec
 * as the client (dgw/frames.ts).
 */
import type WebSocket from 'ws';
import type { Logger } from '@tributary/core/logging';
import { DGWFrameDecoder, encodeFrames, type DGWFrame } from '../dgw/frames.js';
import { LS_PUSH_STREAM_PARAMETERS, frameJSON } from '../client/dgw-socket.js';

export interface DGWServerHooks {
  /** A request's JSON; resolves with the response JSON, or undefined for none (fire-and-forget). */
  onRequest(json: string): Promise<string | undefined>;
  /**
   * A stream opened with other parameters than the LightSpeed push stream's (Instagram's sync,
   * mqttbypass, streamcontroller): return a handler to keep it persistent and get its data frames
   * in order (each acked first), or undefined to treat it as a one-off request.
   */
  onStream?(parameters: string, streamId: number): ((payload: Uint8Array) => void) | undefined;
}

interface StreamState {
  push: boolean;
  nextAck: number;
  answered: boolean;
  onData?: (payload: Uint8Array) => void;
}

export class DGWServerConnection {
  readonly #ws: WebSocket;
  readonly #hooks: DGWServerHooks;
  readonly #log: Logger;
  readonly #decoder = new DGWFrameDecoder();
  readonly #streams = new Map<number, StreamState>();
  #pushStream: number | undefined;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(ws: WebSocket, hooks: DGWServerHooks, log: Logger) {
    this.#ws = ws;
    this.#hooks = hooks;
    this.#log = log;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return this.close(4005, 'text frames are not DGW');
      this.#receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    ws.on('close', () => {
      this.#closed = true;
    });
  }

  get hasPushStream(): boolean {
    return this.#pushStream !== undefined;
  }

  /** Sends a push (LightSpeed response JSON with request_id 0) on the push stream. */
  push(json: string): boolean {
    const id = this.#pushStream;
    const stream = id === undefined ? undefined : this.#streams.get(id);
    if (id === undefined || !stream) return false;
    this.#write([{ type: 'data', streamId: id, ackId: stream.nextAck, requiresAck: true, payload: new TextEncoder().encode(json) }]);
    stream.nextAck = (stream.nextAck + 1) & 0x7fff;
    return true;
  }

  /** Sends a data frame on a stream (one a hook took); false when it is gone. */
  sendOnStream(streamId: number, payload: Uint8Array): boolean {
    const stream = this.#streams.get(streamId);
    if (!stream || this.#closed) return false;
    this.#write([{ type: 'data', streamId, ackId: stream.nextAck, requiresAck: true, payload }]);
    stream.nextAck = (stream.nextAck + 1) & 0x7fff;
    return true;
  }

  deauth(): void {
    this.#write([{ type: 'deauth' }]);
  }

  close(code: number, reason = ''): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ws.close(code, reason);
  }

  #receive(bytes: Uint8Array): void {
    let frames: DGWFrame[];
    try {
      frames = this.#decoder.push(bytes);
    } catch (err) {
      this.#log.warn({ code: (err as { code?: string }).code }, 'emulator: malformed DGW bytes');
      this.close(4005, 'malformed frames');
      return;
    }
    for (const frame of frames) this.#handle(frame);
  }

  #handle(frame: DGWFrame): void {
    switch (frame.type) {
      case 'ping':
        this.#write([{ type: 'pong' }]);
        return;
      case 'establish-stream': {
        const push = frame.parameters === LS_PUSH_STREAM_PARAMETERS;
        const onData = push ? undefined : this.#hooks.onStream?.(frame.parameters, frame.streamId);
        this.#streams.set(frame.streamId, { push, nextAck: 0, answered: false, ...(onData ? { onData } : {}) });
        if (push) this.#pushStream = frame.streamId;
        this.#write([{ type: 'establish-stream', streamId: frame.streamId, parameters: '{"code":200}' }]);
        return;
      }
      case 'data': {
        if (frame.requiresAck) this.#write([{ type: 'ack', streamId: frame.streamId, ackId: frame.ackId }]);
        const stream = this.#streams.get(frame.streamId);
        if (stream?.onData) {
          stream.onData(frame.payload);
          return;
        }
        if (!stream || stream.push || stream.answered) return;
        stream.answered = true;
        let json: string;
        try {
          json = frameJSON(frame.payload);
        } catch {
          this.close(4005, 'a request without JSON');
          return;
        }
        // Requests run one after another, as Meta runs a queue's tasks in order.
        this.#queue = this.#queue.then(async () => {
          const reply = await this.#hooks.onRequest(json).catch((err: unknown) => {
            this.#log.warn({ err: (err as Error).message }, 'emulator: request failed');
            return undefined;
          });
          const s = this.#streams.get(frame.streamId);
          if (reply === undefined || !s) return;
          this.#write([{ type: 'data', streamId: frame.streamId, ackId: s.nextAck, requiresAck: true, payload: new TextEncoder().encode(reply) }]);
          s.nextAck = (s.nextAck + 1) & 0x7fff;
        });
        return;
      }
      case 'end-of-data':
        this.#streams.delete(frame.streamId);
        if (this.#pushStream === frame.streamId) this.#pushStream = undefined;
        return;
      default:
        return; // pongs, acks, empty frames: nothing to do
    }
  }

  #write(frames: DGWFrame[]): void {
    if (this.#closed) return;
    this.#ws.send(encodeFrames(frames));
  }
}
