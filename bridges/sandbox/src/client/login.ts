import {
  loginResultSchema, qrPollResultSchema, qrStartResultSchema, type LoginResult,
} from '../wire.js';
import { SandboxClientError } from './errors.js';
import { jsonCall, send } from './http.js';

/**
 * The three login flows over plain HTTP (no token needed), see docs/sandbox.md:
 * password, token check, and QR (a code that rotates every 20 s until approved).
 */

export async function passwordLogin(baseUrl: string, username: string, password: string, timeoutMs: number): Promise<LoginResult> {
  return jsonCall({ method: 'POST', url: `${baseUrl}/login/password`, json: { username, password }, timeoutMs }, loginResultSchema);
}

export async function tokenLogin(baseUrl: string, token: string, timeoutMs: number): Promise<LoginResult> {
  return jsonCall({ method: 'POST', url: `${baseUrl}/login/token`, json: { token }, timeoutMs }, loginResultSchema);
}

export interface QrCode { code: string; expiresAt: number; }

/** Iterate for the codes to show; `result` settles when one is approved (or the login ends). */
export interface QrLogin extends AsyncIterable<QrCode> {
  readonly result: Promise<LoginResult>;
  cancel(): void;
}

const POLL_WAIT_MS = 25_000;

export function startQrLogin(baseUrl: string, timeoutMs: number, onCode?: (code: QrCode) => void): QrLogin {
  const queue: QrCode[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: unknown;
  const abort = new AbortController();
  let session: string | undefined;

  const push = (c: QrCode): void => {
    onCode?.(c);
    queue.push(c);
    wake?.();
  };

  const run = async (): Promise<LoginResult> => {
    const start = await jsonCall({ method: 'POST', url: `${baseUrl}/login/qr`, timeoutMs, signal: abort.signal }, qrStartResultSchema);
    session = start.session;
    let current = start.code;
    push({ code: start.code, expiresAt: start.expires_at });
    for (;;) {
      const url = `${baseUrl}/login/qr/${encodeURIComponent(start.session)}?after=${encodeURIComponent(current)}&wait_ms=${POLL_WAIT_MS}`;
      const r = await jsonCall({ method: 'GET', url, timeoutMs: POLL_WAIT_MS + timeoutMs, signal: abort.signal }, qrPollResultSchema);
      if (r.status === 'approved') return { account_id: r.account_id, token: r.token };
      if (r.code !== current) {
        current = r.code;
        push({ code: r.code, expiresAt: r.expires_at });
      }
    }
  };

  const result = run().finally(() => {
    finished = true;
    wake?.();
  });
  result.catch((err: unknown) => {
    failure = err;
  });

  return {
    result,
    cancel(): void {
      if (finished) return;
      abort.abort();
      if (session !== undefined) {
        send({ method: 'DELETE', url: `${baseUrl}/login/qr/${encodeURIComponent(session)}`, timeoutMs }).then((res) => res.resume(), () => undefined);
      }
    },
    async *[Symbol.asyncIterator](): AsyncIterator<QrCode> {
      for (;;) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (finished) {
          // Let a failure surface to the iterating caller as well.
          await result.catch(() => undefined);
          if (failure !== undefined && !(failure instanceof SandboxClientError && failure.message === 'cancelled')) throw failure;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
  };
}
