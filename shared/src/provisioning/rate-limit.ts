/**
 * A token bucket per key (a user, or an address sending bad credentials): `perMinute` requests in
 * a burst, refilled evenly over a minute. 0 turns the limit off. Full buckets are forgotten, so
 * the map only holds keys that were active within the last minute.
 */
export interface TakeResult {
  ok: boolean;
  /** When refused: how long until one request is allowed again. */
  retryAfterMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(private readonly perMinute: number, private readonly now: () => number = Date.now) {}

  get enabled(): boolean {
    return this.perMinute > 0;
  }

  /** Spends one request of `key`'s allowance. */
  take(key: string): TakeResult {
    if (!this.enabled) return { ok: true, retryAfterMs: 0 };
    const b = this.refill(key);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, retryAfterMs: 0 };
    }
    return { ok: false, retryAfterMs: this.wait(b) };
  }

  /** Whether `key` has an allowance left, without spending it. */
  peek(key: string): TakeResult {
    if (!this.enabled) return { ok: true, retryAfterMs: 0 };
    const b = this.refill(key);
    return b.tokens >= 1 ? { ok: true, retryAfterMs: 0 } : { ok: false, retryAfterMs: this.wait(b) };
  }

  /** Keys currently tracked (tests). */
  get size(): number {
    return this.buckets.size;
  }

  private wait(b: Bucket): number {
    return Math.max(1, Math.ceil(((1 - b.tokens) * 60_000) / this.perMinute));
  }

  private refill(key: string): Bucket {
    const now = this.now();
    this.sweep(now);
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.perMinute, at: now };
      this.buckets.set(key, b);
      return b;
    }
    b.tokens = Math.min(this.perMinute, b.tokens + ((now - b.at) * this.perMinute) / 60_000);
    b.at = now;
    return b;
  }

  /** At most once a minute: drops buckets that have refilled completely. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * this.perMinute) / 60_000 >= this.perMinute) this.buckets.delete(key);
    }
  }
}
