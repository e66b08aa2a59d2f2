/** Connection state of one login, shown in the management room and served over HTTP. */
export type BridgeStateEvent =
  | 'STARTING'
  | 'CONNECTING'
  | 'BACKFILLING'
  | 'CONNECTED'
  | 'TRANSIENT_DISCONNECT'
  | 'BAD_CREDENTIALS'
  | 'LOGGED_OUT'
  | 'UNKNOWN_ERROR';

export interface BridgeStateUpdate {
  stateEvent: BridgeStateEvent;
  /** Network-prefixed machine code, e.g. `sandbox-connection-lost`, `wa-logged-out`. */
  error?: string;
  /** What the person reads. */
  message?: string;
  info?: Record<string, unknown>;
}

/** States that need the person to act (log in again). */
export const NEEDS_USER_ACTION: ReadonlySet<BridgeStateEvent> = new Set(['BAD_CREDENTIALS', 'LOGGED_OUT']);
