import type { ErrorCode, WireError } from '../wire.js';

/** A refusal by the sandbox network: a wire error code plus a human message. Never a crash. */
export class NetworkError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'NetworkError';
  }

  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  bad_request: 400,
  unauthorized: 401,
  bad_credentials: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  login_expired: 410,
  too_large: 413,
  unsupported: 422,
};

export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUS[code] ?? 500;
}

/** Turns anything thrown into a wire error; unexpected exceptions become `internal`. */
export function toWireError(err: unknown): WireError {
  if (err instanceof NetworkError) return err.toWire();
  return { code: 'internal', message: 'internal error' };
}
