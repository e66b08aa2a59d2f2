/**
 * A persistent DGW stream (a subscription): opened with EstabStream, carries data both ways, each
 * data frame we send is acked by the server within the ack timeout, and each data frame the
 * server marks "ack required" is acked by us once our handler has taken it.
 */
import { DGWStreamError } from './errors.js';
import { MAX_DATA_ACK_ID, type DGWFrame } from './frames.js';
import type { DGWTimers } from './timers.js';

/** What the multiplexer lends a stream: writing frames and its timers. */
export interface StreamHost {
  write(frames: DGWFrame[]): void;
  timers: DGWTimers;
  ackTimeoutMs: number;
  /** Called once when the stream closes, so the host frees the id. */
  release(streamId: number): void;
  /** A handler failed; the frame stays un-acked. */
  reportHandlerError(streamId: number, error: unknown): void;
}

interface PendingAck {
  resolve: () => void;
  reject: (err: DGWStreamError) => void;
  timer: unknown;
}

export type DGWDataHandler = (payload: Uint8Array) => void | Promise<void>;

export class DGWPersistentStream {
  readonly id: number;
  readonly #host: StreamHost;
  readonly #onData: DGWDataHandler;
  #nextAckId = 0;
  readonly #pending = new Map<number, PendingAck>();
  /** Incoming frames are handled one after another, in arrival order. */
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(id: number, host: StreamHost, onData: DGWDataHandler) {
    this.id = id;
    this.#host = host;
    this.#onData = onData;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Acks awaited from the server. */
  get pendingAcks(): number {
    return this.#pending.size;
  }

  /** Sends `payload` and resolves when the server acks it (rejects after the ack timeout). */
  send(payload: Uint8Array): Promise<void> {
    return this.#sendAcked(payload, []);
  }

  /** Sends without asking for an ack. */
  sendNoAck(payload: Uint8Array): void {
    if (this.#closed) throw new DGWStreamError('closed', `stream ${this.id} is closed`, this.id);
    this.#host.write([{ type: 'data', streamId: this.id, ackId: 0, requiresAck: false, payload }]);
  }

  /** Ends the stream from our side (EndOfData) and fails whatever still waits for an ack. */
  close(): void {
    if (this.#closed) return;
    this.#host.write([{ type: 'end-of-data', streamId: this.id }]);
    this.terminate(new DGWStreamError('closed', `stream ${this.id} was closed`, this.id));
  }

  /** @internal Opening: EstabStream, then the optional init payload, in one message. */
  sendEstablish(parameters: string, initPayload: Uint8Array | undefined): Promise<void> | undefined {
    const establish: DGWFrame = { type: 'establish-stream', streamId: this.id, parameters };
    if (!initPayload) {
      this.#host.write([establish]);
      return undefined;
    }
    return this.#sendAcked(initPayload, [establish]);
  }

  /** @internal An Ack (or SmallAck) from the server. Returns false when nothing waited for it. */
  receiveAck(ackId: number): boolean {
    const pending = this.#pending.get(ackId);
    if (!pending) return false;
    this.#pending.delete(ackId);
    this.#host.timers.clearTimeout(pending.timer);
    pending.resolve();
    return true;
  }

  /** @internal A data frame for this stream. */
  receiveData(frame: Extract<DGWFrame, { type: 'data' }>): void {
    if (this.#closed) return;
    this.#chain = this.#chain.then(async () => {
      try {
        await this.#onData(frame.payload);
      } catch (err) {
        this.#host.reportHandlerError(this.id, err);
        return;
      }
      if (frame.requiresAck && !this.#closed) {
        this.#host.write([{ type: 'ack', streamId: this.id, ackId: frame.ackId }]);
      }
    });
  }

  /** @internal Closed by the server, the multiplexer, or `close()`: no frames are written. */
  terminate(error: DGWStreamError): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, pending] of this.#pending) {
      this.#host.timers.clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(error);
    }
    this.#host.release(this.id);
  }

  #sendAcked(payload: Uint8Array, before: DGWFrame[]): Promise<void> {
    if (this.#closed) return Promise.reject(new DGWStreamError('closed', `stream ${this.id} is closed`, this.id));
    const ackId = this.#nextAckId;
    // Ack ids are 15 bits and wrap; an id still pending after a full cycle would be ambiguous.
    this.#nextAckId = ackId >= MAX_DATA_ACK_ID ? 0 : ackId + 1;
    if (this.#pending.has(ackId)) {
      return Promise.reject(new DGWStreamError('ack-timeout', `stream ${this.id} has ${this.#pending.size} unacked frames`, this.id));
    }
    const done = new Promise<void>((resolve, reject) => {
      const timer = this.#host.timers.setTimeout(() => {
        this.#pending.delete(ackId);
        reject(new DGWStreamError('ack-timeout', `no ack for frame ${ackId} on stream ${this.id} within ${this.#host.ackTimeoutMs} ms`, this.id));
      }, this.#host.ackTimeoutMs);
      this.#pending.set(ackId, { resolve, reject, timer });
    });
    this.#host.write([...before, { type: 'data', streamId: this.id, ackId, requiresAck: true, payload }]);
    return done;
  }
}
