export interface BackoffOptions { minMs: number; maxMs: number; }

/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(maxMs, minMs * 2^attempt)),
 * so many clients dropped at once do not reconnect in lockstep.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.min(opts.maxMs, opts.minMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}
