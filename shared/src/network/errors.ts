/**
 * Errors a connector throws to tell the core what a failure means for the person. The core turns
 * them into `com.beeper.message_send_status` events and, when `sendNotice` is set, a notice in the
 * room. A connector never talks to Matrix about its failures itself.
 */
export type MessageStatus = 'success' | 'pending' | 'retriable' | 'fail';

export type MessageStatusReason =
  | 'm_unknown'
  | 'm_unsupported'
  | 'm_no_permission'
  | 'm_bad_format'
  | 'm_too_large'
  | 'm_network_error'
  | 'm_timeout'
  | 'm_not_logged_in'
  | 'm_not_found'
  | 'm_too_old'
  | 'm_rate_limited';

export interface BridgeErrorOptions {
  status?: MessageStatus;
  reason?: MessageStatusReason;
  /** Whether the core is sure the message did not reach the network (false: it may have). */
  certain?: boolean;
  /** Send a notice to the room in addition to the status event. */
  sendNotice?: boolean;
  /** Text the person sees; the Error message stays in logs. */
  userMessage?: string;
  cause?: unknown;
}

export class BridgeError extends Error {
  readonly status: MessageStatus;
  readonly reason: MessageStatusReason;
  readonly certain: boolean;
  readonly sendNotice: boolean;
  readonly userMessage: string;

  constructor(message: string, opts: BridgeErrorOptions = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'BridgeError';
    this.status = opts.status ?? 'fail';
    this.reason = opts.reason ?? 'm_unknown';
    this.certain = opts.certain ?? true;
    this.sendNotice = opts.sendNotice ?? true;
    this.userMessage = opts.userMessage ?? message;
  }

  with(opts: BridgeErrorOptions): BridgeError {
    return new BridgeError(this.message, {
      status: this.status, reason: this.reason, certain: this.certain, sendNotice: this.sendNotice,
      userMessage: this.userMessage, ...opts,
    });
  }
}

export function isBridgeError(e: unknown): e is BridgeError {
  return e instanceof BridgeError;
}

/** Anything that is not a BridgeError is an unknown, retriable failure whose outcome is uncertain. */
export function asBridgeError(e: unknown): BridgeError {
  if (isBridgeError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new BridgeError(message, { status: 'retriable', reason: 'm_unknown', certain: false, cause: e });
}

// The failures the core itself reports; connectors reuse them where they fit.
export const ErrUnsupported = (what: string) =>
  new BridgeError(`${what} is not supported`, { reason: 'm_unsupported', userMessage: `${what} is not supported by this network` });
export const ErrUnsupportedInRoom = (what: string) =>
  new BridgeError(`${what} is not supported in this chat`, { reason: 'm_unsupported' });
export const ErrNotLoggedIn = () =>
  new BridgeError('not logged in', { reason: 'm_not_logged_in', userMessage: 'You are not logged in to this network (or no relay is set up in this room)' });
export const ErrTargetNotFound = (what: string) =>
  new BridgeError(`${what} not found`, { reason: 'm_not_found', sendNotice: false });
export const ErrTooLarge = (size: number, max: number) =>
  new BridgeError(`file too large: ${size} > ${max} bytes`, { reason: 'm_too_large', userMessage: `The file is too large (the limit is ${Math.floor(max / 1048576)} MiB)` });
export const ErrTooOld = (what: string) =>
  new BridgeError(`${what}: the message is too old`, { reason: 'm_too_old' });
