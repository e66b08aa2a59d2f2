/**
 * HTTP endpoints beside the appservice API: liveness and readiness, and the bridge state of every
 * login (authorised with the hs_token or the provisioning secret).
 */
import type { TributaryAppService } from '../matrix/appservice.js';
import { bearerToken, safeEqual, sendError, sendJson } from '../matrix/http-util.js';
import type { Bridge } from './bridge.js';

export function addStatusRoutes(as: TributaryAppService, bridge: Bridge, isReady: () => boolean): void {
  as.addRoute('GET', '/_matrix/mau/live', (_req, res) => sendJson(res, 200, { ok: true }));
  as.addRoute('GET', '/_matrix/mau/ready', (_req, res) => {
    const ready = isReady();
    sendJson(res, ready ? 200 : 503, { ready });
  });
  as.addRoute('GET', '/_tributary/v1/bridge_state', (req, res) => {
    const token = bearerToken(req) ?? '';
    const secret = bridge.config.provisioning.shared_secret;
    // An unfilled "generate" is no secret at all: it opens nothing, like "disable".
    const ok = safeEqual(token, bridge.config.appservice.hs_token) || (secret !== 'disable' && secret !== 'generate' && safeEqual(token, secret));
    if (!ok) return sendError(res, token ? 403 : 401, token ? 'M_FORBIDDEN' : 'M_UNAUTHORIZED', 'a valid bearer token is required');
    sendJson(res, 200, {
      bridge: bridge.connector.name.networkId,
      logins: Object.fromEntries(bridge.states.all().map((s) => [s.loginId, {
        state_event: s.stateEvent, error: s.error, message: s.message, user_id: s.userMxid, remote_name: s.remoteName, timestamp: s.timestamp,
      }])),
    });
  });
}
