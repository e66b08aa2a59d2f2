/**
 * A one-off DGW stream: one request, one response. The stream waits, in turn, for the EstabStream
 * reply and the ack of our data frame (each within the ack timeout), then for the response data
 * (within the response timeout). Replies that arrive early (an ack before the EstabStream reply)
 * are remembered, not dropped. On failure we end the stream so the server can free it.
 */
import { DGWStreamError } from './errors.js';
import type { DGWFrame } from './frames.js';
import type { StreamHost } from './persistent-stream.js';
import type { DGWTimings } from './timers.js';

/** The ack id our single data frame on a one-off stream carries. */
const ONE_OFF_ACK_ID = 0;

export class OneOffStream {
  readonly id: number;
  readonly #host: StreamHost;
  readonly #timings: DGWTimings;
  readonly #fireAndForget: boolean;
  #established = false;
  #acked = false;
  #response: Uint8Array | undefined;
  #timer: unknown;
  #closed = false;
  #resolve: (value: Uint8Array | undefined) => void = () => undefined;
  #reject: (err: DGWStreamError) => void = () => undefined;

  constructor(id: number, host: StreamHost, timings: DGWTimings, fireAndForget: boolean) {
    this.id = id;
    this.#host = host;
    this.#timings = timings;
    this.#fireAndForget = fireAndForget;
  }

  get closed(): boolean {
    return this.#closed;
  }

  start(parameters: string, payload: Uint8Array): Promise<Uint8Array | undefined> {
    const result = new Promise<Uint8Array | undefined>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#arm('ack-timeout', this.#timings.ackTimeoutMs, 'reply to EstabStream');
    this.#host.write([
      { type: 'establish-stream', streamId: this.id, parameters },
      { type: 'data', streamId: this.id, ackId: ONE_OFF_ACK_ID, requiresAck: !this.#fireAndForget, payload },
    ]);
    return result;
  }

  receiveEstablish(error: DGWStreamError | undefined): void {
    if (this.#closed) return;
    if (error) {
      this.#fail(error);
      return;
    }
    this.#established = true;
    this.#advance();
  }

  receiveAck(ackId: number): boolean {
    if (this.#closed || ackId !== ONE_OFF_ACK_ID || this.#acked) return false;
    this.#acked = true;
    this.#advance();
    return true;
  }

  receiveData(frame: Extract<DGWFrame, { type: 'data' }>): void {
    if (this.#closed) return;
    const frames: DGWFrame[] = [];
    if (frame.requiresAck) frames.push({ type: 'ack', streamId: this.id, ackId: frame.ackId });
    if (this.#response !== undefined) {
      // A second response on a one-off stream: acked, ignored.
      this.#host.write(frames);
      return;
    }
    this.#response = frame.payload;
    // A response implies the server took our request, whether or not its ack came first.
    this.#acked = true;
    if (frames.length) this.#host.write(frames);
    this.#advance();
  }

  /** Closed by the server (EndOfData) or the multiplexer: fail if still waiting. */
  terminate(error: DGWStreamError): void {
    if (this.#closed) return;
    this.#finish();
    this.#reject(error);
  }

  #advance(): void {
    if (!this.#established) return;
    if (this.#fireAndForget) {
      this.#complete(undefined);
      return;
    }
    if (!this.#acked) {
      this.#arm('ack-timeout', this.#timings.ackTimeoutMs, 'ack of the request');
      return;
    }
    if (this.#response === undefined) {
      this.#arm('response-timeout', this.#timings.responseTimeoutMs, 'response');
      return;
    }
    this.#complete(this.#response);
  }

  #arm(code: 'ack-timeout' | 'response-timeout', ms: number, what: string): void {
    this.#host.timers.clearTimeout(this.#timer);
    this.#timer = this.#host.timers.setTimeout(() => {
      this.#fail(new DGWStreamError(code, `no ${what} on stream ${this.id} within ${ms} ms`, this.id));
    }, ms);
  }

  #complete(value: Uint8Array | undefined): void {
    this.#finish();
    this.#host.write([{ type: 'end-of-data', streamId: this.id }]);
    this.#resolve(value);
  }

  #fail(error: DGWStreamError): void {
    if (this.#closed) return;
    this.#finish();
    this.#host.write([{ type: 'end-of-data', streamId: this.id }]);
    this.#reject(error);
  }

  #finish(): void {
    this.#closed = true;
    this.#host.timers.clearTimeout(this.#timer);
    this.#host.release(this.id);
  }
}
