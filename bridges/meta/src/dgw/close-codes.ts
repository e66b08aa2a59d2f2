/**
 * WebSocket close codes the DGW gateway uses (4000-4005), with what Tributary does about each.
 * The names are the protocol's meanings; `reconnect` is our policy: an unauthorized or rejected
 * session needs new cookies, so reconnecting would only repeat the failure (and look like a bot).
 */
export const DGW_CLOSE_CODES = {
  4000: { name: 'graceful-close', reconnect: true },
  4001: { name: 'keepalive-timeout', reconnect: true },
  4002: { name: 'server-error', reconnect: true },
  4003: { name: 'unauthorized', reconnect: false },
  4004: { name: 'rejected', reconnect: false },
  4005: { name: 'bad-request', reconnect: true },
} as const;

export type DGWCloseCode = keyof typeof DGW_CLOSE_CODES;
export type DGWCloseName = (typeof DGW_CLOSE_CODES)[DGWCloseCode]['name'];

export function isDGWCloseCode(code: number): code is DGWCloseCode {
  return Object.prototype.hasOwnProperty.call(DGW_CLOSE_CODES, code);
}

/** What a close code means; codes outside 4000-4005 (1000, 1006, ...) are plain WebSocket closes. */
export function describeDGWClose(code: number): { name: DGWCloseName | 'websocket'; reconnect: boolean } {
  if (isDGWCloseCode(code)) return DGW_CLOSE_CODES[code];
  return { name: 'websocket', reconnect: true };
}

/** Reasons a Drain frame carries (the server asks us to move to another connection). */
export const DGW_DRAIN_REASONS = ['elb', 'slb', 'app-server-push', 'grace-period-expired', 'unknown'] as const;
export type DGWDrainReasonName = (typeof DGW_DRAIN_REASONS)[number];

export function drainReasonName(reason: number): DGWDrainReasonName | `reason-${number}` {
  return DGW_DRAIN_REASONS[reason] ?? `reason-${reason}`;
}
