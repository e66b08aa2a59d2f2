/**
 * Logging in and out: the flows, starting a login process, submitting its steps, cancelling it,
 * logging out, and listing the caller's logins. The same LoginProcess the bot's `login` command
 * drives, presented step by step over HTTP.
 */
import { z } from 'zod';
import type { Bridge } from '../core/bridge.js';
import { getLogger } from '../logging.js';
import { notFound } from './errors.js';
import type { ProvisioningLogins } from './login-sessions.js';
import { stepToJson } from './login-wire.js';
import type { Route } from './router.js';
import { emptyBody, flowId, loginId, loginProcessId, parseBody, parseParams, stepId, stepType } from './schemas.js';
import { loginJson } from './views.js';

const log = getLogger('provisioning');

const startParams = z.object({ flowID: flowId });
const stepParams = z.object({ loginProcessID: loginProcessId, stepID: stepId, stepType });
const cancelParams = z.object({ loginProcessID: loginProcessId });
const logoutParams = z.object({ loginID: loginId });

export function loginRoutes(bridge: Bridge, logins: ProvisioningLogins): Route[] {
  return [
    {
      method: 'GET', path: '/login/flows',
      async handler() {
        return { status: 200, body: { flows: bridge.connector.getLoginFlows() } };
      },
    },
    {
      method: 'POST', path: '/login/start/{flowID}',
      async handler({ caller, params, body }) {
        const p = parseParams(startParams, params);
        parseBody(emptyBody, (await body()) ?? {});
        const { id, step } = await logins.start(caller.userId, p.flowID);
        return { status: 200, body: stepToJson(id, step) };
      },
    },
    {
      method: 'POST', path: '/login/step/{loginProcessID}/{stepID}/{stepType}',
      async handler({ caller, params, body }) {
        const p = parseParams(stepParams, params);
        const next = await logins.submit(caller.userId, p.loginProcessID, p.stepID, p.stepType, await body());
        return { status: 200, body: stepToJson(p.loginProcessID, next) };
      },
    },
    {
      method: 'POST', path: '/login/cancel/{loginProcessID}',
      async handler({ caller, params, body }) {
        const p = parseParams(cancelParams, params);
        parseBody(emptyBody, (await body()) ?? {});
        logins.cancel(caller.userId, p.loginProcessID);
        return { status: 200, body: {} };
      },
    },
    {
      method: 'POST', path: '/logout/{loginID}',
      async handler({ caller, params, body }) {
        const p = parseParams(logoutParams, params);
        parseBody(emptyBody, (await body()) ?? {});
        const mine = bridge.loginsOf(caller.userId);
        const targets = p.loginID === 'all' ? mine : mine.filter((l) => l.id === p.loginID);
        if (p.loginID !== 'all' && !targets.length) throw notFound('Login not found');
        // A login half-way through would otherwise finish after the person asked to be logged out.
        logins.cancelAllOf(caller.userId);
        for (const login of targets) {
          await bridge.deleteLogin(login, true);
          log.info({ user: caller.userId, login: login.id }, 'logged out through the provisioning API');
        }
        return { status: 200, body: {} };
      },
    },
    {
      method: 'GET', path: '/logins',
      async handler({ caller }) {
        const mine = bridge.loginsOf(caller.userId);
        return { status: 200, body: { login_ids: mine.map((l) => l.id), logins: mine.map((l) => loginJson(bridge, l)) } };
      },
    },
  ];
}
