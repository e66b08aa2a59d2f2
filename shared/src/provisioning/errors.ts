/**
 * Errors of the provisioning API: always JSON `{errcode, error}` (plus `retry_after_ms` for 429),
 * with Matrix errcodes. Connector failures (BridgeError) map by their reason; anything else is a
 * 500 that says nothing about internals.
 */
import { HttpError } from '../matrix/http-util.js';
import { isBridgeError, type MessageStatusReason } from '../network/index.js';
import { ChatActionError } from '../core/chat-actions.js';

export class ApiError extends HttpError {
  constructor(status: number, errcode: string, message: string, readonly extra: Record<string, unknown> = {}) {
    super(status, errcode, message);
  }

  body(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const badJson = (message: string) => new ApiError(400, 'M_BAD_JSON', message);
export const invalidParam = (message: string) => new ApiError(400, 'M_INVALID_PARAM', message);
export const notFound = (message: string) => new ApiError(404, 'M_NOT_FOUND', message);
export const badState = (message: string) => new ApiError(400, 'M_BAD_STATE', message);
export const forbidden = (message: string) => new ApiError(403, 'M_FORBIDDEN', message);
export const unsupported = (message: string) => new ApiError(501, 'M_UNRECOGNIZED', message);
/** The errcode mautrix bridges use when an action needs a login and the user has none. */
export const notLoggedIn = () => new ApiError(400, 'FI.MAU.NOT_LOGGED_IN', 'You are not logged in');
export const internal = () => new ApiError(500, 'M_UNKNOWN', 'Internal error');

const BY_REASON: Partial<Record<MessageStatusReason, [number, string]>> = {
  m_bad_format: [400, 'M_INVALID_PARAM'],
  m_not_logged_in: [403, 'M_FORBIDDEN'],
  m_no_permission: [403, 'M_FORBIDDEN'],
  m_not_found: [404, 'M_NOT_FOUND'],
  m_too_large: [413, 'M_TOO_LARGE'],
  m_rate_limited: [429, 'M_LIMIT_EXCEEDED'],
  m_unsupported: [501, 'M_UNRECOGNIZED'],
  m_network_error: [502, 'M_UNKNOWN'],
  m_timeout: [504, 'M_UNKNOWN'],
};

/**
 * The API error for anything a handler threw. A BridgeError's user message is written for people
 * and is shown; for an unclassified one it is shown only when the connector set it explicitly
 * (it differs from the log message), since the default is the internal message.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HttpError) return new ApiError(err.status, err.errcode, err.message);
  if (err instanceof ChatActionError) return unsupported(err.message);
  if (isBridgeError(err)) {
    const mapped = BY_REASON[err.reason];
    if (mapped) return new ApiError(mapped[0], mapped[1], err.userMessage);
    return new ApiError(500, 'M_UNKNOWN', err.userMessage !== err.message ? err.userMessage : 'The network request failed');
  }
  return internal();
}
