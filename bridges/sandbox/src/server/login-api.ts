import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { NetworkError } from './errors.js';
import { readJson, sendError, sendJson } from './http-util.js';
import type { LoginCodes } from './login-codes.js';
import type { SandboxNetwork } from './network.js';

const passwordBody = z.object({ username: z.string().min(1).max(200), password: z.string().min(1).max(200) });
const tokenBody = z.object({ token: z.string().min(1).max(256) });
const MAX_WAIT_MS = 30_000;

/**
 * Login endpoints under /login/, usable before the bridge holds a token (plain HTTP, no auth):
 *   POST   /login/password          {username, password} → {account_id, token}
 *   POST   /login/token             {token}              → {account_id, token}
 *   POST   /login/qr                                     → {session, code, expires_at}
 *   GET    /login/qr/:session?after=<code>&wait_ms=<n>   long poll → pending (new code) | approved
 *   DELETE /login/qr/:session                            cancel
 */
export async function handleLogin(
  req: IncomingMessage, res: ServerResponse, segments: string[], query: URLSearchParams,
  network: SandboxNetwork, codes: LoginCodes,
): Promise<void> {
  try {
    const [what, session, extra] = segments;
    if (extra !== undefined) throw new NetworkError('not_found', 'no such login endpoint');
    if (what === 'password' && session === undefined && req.method === 'POST') {
      const b = await readJson(req, passwordBody);
      const account = network.checkPassword(b.username, b.password);
      sendJson(res, 200, { account_id: account.id, token: account.token });
    } else if (what === 'token' && session === undefined && req.method === 'POST') {
      const b = await readJson(req, tokenBody);
      const account = network.accountByToken(b.token);
      if (!account) throw new NetworkError('bad_credentials', 'token is not valid (logged out or never issued)');
      sendJson(res, 200, { account_id: account.id, token: account.token });
    } else if (what === 'qr' && session === undefined && req.method === 'POST') {
      sendJson(res, 200, codes.start());
    } else if (what === 'qr' && session !== undefined && req.method === 'GET') {
      const waitRaw = Number(query.get('wait_ms') ?? 25_000);
      const waitMs = Number.isFinite(waitRaw) ? Math.min(Math.max(0, waitRaw), MAX_WAIT_MS) : 0;
      const result = await codes.poll(session, query.get('after') ?? undefined, waitMs);
      sendJson(res, 200, result);
    } else if (what === 'qr' && session !== undefined && req.method === 'DELETE') {
      codes.cancel(session);
      sendJson(res, 200, { ok: true });
    } else {
      throw new NetworkError('not_found', 'no such login endpoint');
    }
  } catch (err) {
    sendError(res, err);
  }
}
