/** Reconnect delays and the send/fetch pacing that keeps an account looking like a browser. */

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
}

/**
 * Exponential backoff with jitter: uniform in [cap/2, cap) where cap = min(maxMs, minMs * 2^attempt).
 * Half the cap is kept so a flapping gateway is never hammered at near-zero delays.
 */
export function reconnectDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.min(opts.maxMs, opts.minMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(cap / 2 + random() * (cap / 2));
}

export interface TokenBucketOptions {
  /** Most operations that may go out back to back. */
  capacity: number;
  /** Tokens regained per second. */
  refillPerSecond: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * A token bucket: each send or fetch takes a token; an empty bucket makes the caller wait (in
 * arrival order) instead of failing, so a burst from Matrix goes out at a person's pace.
 */
export class TokenBucket {
  readonly #capacity: number;
  readonly #rate: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #tokens: number;
  #last: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(opts: TokenBucketOptions) {
    if (!(opts.capacity >= 1) || !(opts.refillPerSecond > 0)) throw new RangeError('a token bucket needs capacity >= 1 and a positive refill rate');
    this.#capacity = opts.capacity;
    this.#rate = opts.refillPerSecond;
    this.#now = opts.now ?? Date.now;
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#tokens = opts.capacity;
    this.#last = this.#now();
  }

  /** Tokens available now (fractional). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Resolves once a token is taken; callers are served first come, first served. */
  take(): Promise<void> {
    const turn = this.#queue.then(() => this.#takeNow());
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #takeNow(): Promise<void> {
    for (;;) {
      this.#refill();
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await this.#sleep(Math.ceil(((1 - this.#tokens) / this.#rate) * 1000));
    }
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
  }
}
