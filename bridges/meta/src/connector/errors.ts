/** Errors of the Meta client -> BridgeErrors that say what a failure means for the person. */
import { BridgeError, isBridgeError, type BridgeErrorOptions } from '@tributary/core/network/index';
import { MetaClientError, MetaTaskError } from '../client/errors.js';
import { MetaError } from '../errors.js';

const TASK_CODES: Record<string, BridgeErrorOptions> = {
  not_found: { reason: 'm_not_found', status: 'fail' },
  forbidden: { reason: 'm_no_permission', status: 'fail' },
  bad_request: { reason: 'm_bad_format', status: 'fail' },
  unsupported: { reason: 'm_unsupported', status: 'fail' },
  too_large: { reason: 'm_too_large', status: 'fail' },
  'edit-window-passed': { reason: 'm_too_old', status: 'fail', userMessage: 'Meta allows edits only within 15 minutes of sending' },
  'edit-limit-reached': { reason: 'm_unsupported', status: 'fail', userMessage: 'Meta allows at most 5 edits of a message' },
};

export function metaBridgeError(err: unknown): Error {
  if (isBridgeError(err)) return err;
  if (err instanceof MetaTaskError) {
    const first = err.failures[0];
    const opts = (first && TASK_CODES[first.code]) ?? { reason: 'm_unknown', status: 'fail' };
    return new BridgeError(err.message, { userMessage: `Meta refused it: ${first?.message || first?.code || 'unknown reason'}`, ...opts, cause: err });
  }
  if (err instanceof MetaClientError) {
    switch (err.code) {
      case 'logged-out':
        return new BridgeError(err.message, { reason: 'm_not_logged_in', status: 'fail', userMessage: 'The Meta session has ended; log in again with fresh cookies', cause: err });
      case 'not-connected':
        return new BridgeError(err.message, { reason: 'm_network_error', status: 'retriable', userMessage: 'Not connected to Meta right now', cause: err });
      case 'too-large':
        return new BridgeError(err.message, { reason: 'm_too_large', status: 'fail', cause: err });
      default:
        return new BridgeError(err.message, { reason: 'm_network_error', status: 'retriable', certain: false, cause: err });
    }
  }
  if (err instanceof MetaError && err.area === 'ls-request') {
    return new BridgeError(err.message, { reason: 'm_bad_format', status: 'fail', cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Runs `fn`, turning what it throws into a BridgeError. */
export async function asBridge<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw metaBridgeError(err);
  }
}
