/** Timers the DGW state machine uses, injectable so tests drive time by hand. */
export interface DGWTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: DGWTimers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A pending protocol timer must not keep a stopping process alive.
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Protocol timings (facts: ack 5 s, ping every 10 s, pong timeout 30 s). */
export interface DGWTimings {
  ackTimeoutMs: number;
  /** How long a one-off request waits for its response after the ack (we use the ack timeout). */
  responseTimeoutMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
}

export const DGW_TIMINGS: DGWTimings = {
  ackTimeoutMs: 5_000,
  responseTimeoutMs: 5_000,
  pingIntervalMs: 10_000,
  pongTimeoutMs: 30_000,
};
