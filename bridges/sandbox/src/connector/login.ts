/**
 * The sandbox's three login flows, as LoginProcesses: password (user input), token (user input),
 * and QR (display a rotating code, wait for it to be approved through the control API).
 */
import { BridgeError, userLoginId, type LoginFlow, type LoginProcess, type LoginStep, type UserHandle } from '@tributary/core/network/index';
import { passwordLogin, startQrLogin, tokenLogin, type QrLogin } from '../client/login.js';
import type { LoginResult } from '../wire.js';
import { SandboxClientError } from '../client/errors.js';

export const LOGIN_FLOWS: LoginFlow[] = [
  { id: 'qr', name: 'QR code', description: 'Show a code and approve it from the sandbox dashboard or control API' },
  { id: 'password', name: 'Password', description: 'Log in with a sandbox username and password' },
  { id: 'token', name: 'Token', description: 'Log in with an account token from the sandbox control API' },
];

const TIMEOUT_MS = 15_000;

async function complete(user: UserHandle, baseUrl: string, res: LoginResult): Promise<LoginStep> {
  const login = await user.newLogin({ id: userLoginId(res.account_id), remoteName: res.account_id, metadata: { token: res.token, url: baseUrl } });
  return {
    type: 'complete', stepId: 'sandbox.complete', instructions: `Logged in as ${res.account_id}.`,
    complete: { userLoginId: login.id, remoteName: login.remoteName },
  };
}

function friendly(err: unknown): Error {
  if (err instanceof SandboxClientError) {
    if (err.code === 'bad_credentials' || err.code === 'unauthorized') return new BridgeError(err.message, { reason: 'm_not_logged_in', userMessage: 'Wrong username, password or token' });
    if (err.code === 'login_expired') return new BridgeError(err.message, { userMessage: 'The login code expired; start again' });
  }
  return err as Error;
}

export function createLogin(user: UserHandle, flowId: string, baseUrl: string): LoginProcess {
  if (flowId === 'password' || flowId === 'token') {
    return {
      async start() {
        return flowId === 'password'
          ? { type: 'user_input', stepId: 'sandbox.password', instructions: 'Log in with your sandbox account.', fields: [
              { id: 'username', type: 'username', name: 'your username', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' },
              { id: 'password', type: 'password', name: 'your password' }] }
          : { type: 'user_input', stepId: 'sandbox.token', instructions: 'Log in with an account token.', fields: [{ id: 'token', type: 'token', name: 'the token' }] };
      },
      async submitUserInput(values) {
        try {
          const res = flowId === 'password'
            ? await passwordLogin(baseUrl, values.username ?? '', values.password ?? '', TIMEOUT_MS)
            : await tokenLogin(baseUrl, values.token ?? '', TIMEOUT_MS);
          return await complete(user, baseUrl, res);
        } catch (err) {
          throw friendly(err);
        }
      },
      cancel() {},
    };
  }
  if (flowId === 'qr') {
    let qr: QrLogin | undefined;
    let iterator: AsyncIterator<{ code: string }> | undefined;
    const codeStep = (code: string): LoginStep => ({
      type: 'display_and_wait', stepId: 'sandbox.qr',
      instructions: 'Approve this code in the sandbox (dashboard, or POST /control/login-codes/<code>/approve). It changes every 20 seconds.',
      display: { type: 'qr', data: code },
    });
    return {
      async start() {
        qr = startQrLogin(baseUrl, TIMEOUT_MS);
        iterator = qr[Symbol.asyncIterator]();
        const first = await iterator.next();
        if (first.done) throw new BridgeError('the login code could not be fetched');
        return codeStep(first.value.code);
      },
      async wait() {
        try {
          const next = await iterator!.next();
          if (!next.done) return codeStep(next.value.code);
          return await complete(user, baseUrl, await qr!.result);
        } catch (err) {
          throw friendly(err);
        }
      },
      cancel() {
        qr?.cancel();
      },
    };
  }
  throw new BridgeError(`unknown login flow ${flowId}`, { reason: 'm_bad_format' });
}
