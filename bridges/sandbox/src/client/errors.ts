import type { ErrorCode } from '../wire.js';

/**
 * Every failure the client reports: a server refusal (its wire code), or a local one:
 * `timeout` (no answer in time), `not_connected` (no live connection), `disconnected` (the
 * connection dropped while waiting; the request may or may not have happened — retry a send
 * with the same client_txn_id).
 */
export class SandboxClientError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly status?: number) {
    super(message);
    this.name = 'SandboxClientError';
  }
}

export function isSandboxClientError(err: unknown, code?: ErrorCode): err is SandboxClientError {
  return err instanceof SandboxClientError && (code === undefined || err.code === code);
}
