/** GET /whoami, /capabilities and /bridge_state: what the bridge is and how the caller's logins are. */
import type { Bridge } from '../core/bridge.js';
import type { UserLogin } from '../core/user-login.js';
import { isContactListing, isGroupCreating, isIdentifierResolving } from '../network/index.js';
import type { Route } from './router.js';
import { loginIdQuery, parseParams } from './schemas.js';
import { loginFor, loginJson, stateJson } from './views.js';

/**
 * What the caller can do through a login, in mautrix's capability shape. The capability guards
 * live on a login's NetworkAPI, so they are read from the login `login_id` names or the caller's
 * first; without any login everything is false.
 */
function capabilitiesOf(login: UserLogin | undefined): Record<string, unknown> {
  const api = login?.client;
  const resolves = !!api && isIdentifierResolving(api);
  const groups = !!api && isGroupCreating(api);
  return {
    resolve_identifier: {
      create_dm: resolves, lookup_phone: resolves, lookup_email: false, lookup_username: resolves,
      any_phone: false, contact_list: !!api && isContactListing(api), search: false,
    },
    group_creation: groups
      ? {
          group: {
            type_description: 'A group chat', name: { allowed: true }, topic: { allowed: true },
            participants: { allowed: true, required: true, min_length: 1 },
          },
        }
      : {},
  };
}

export function infoRoutes(bridge: Bridge): Route[] {
  return [
    {
      method: 'GET', path: '/whoami',
      async handler({ caller }) {
        const name = bridge.connector.name;
        const user = await bridge.db.users.get(caller.userId);
        return {
          status: 200,
          body: {
            user_id: caller.userId,
            network: {
              displayname: name.displayName, network_url: name.networkUrl, network_id: name.networkId,
              beeper_bridge_type: `tributary-${name.networkId}`,
              ...(name.networkIcon ? { network_icon: name.networkIcon } : {}),
            },
            login_flows: bridge.connector.getLoginFlows(),
            homeserver: bridge.serverName,
            bridge_bot: bridge.botMxid,
            command_prefix: bridge.config.bridge.command_prefix,
            ...(user?.managementRoom ? { management_room: user.managementRoom } : {}),
            logins: bridge.loginsOf(caller.userId).map((l) => loginJson(bridge, l)),
          },
        };
      },
    },
    {
      method: 'GET', path: '/capabilities',
      async handler({ caller, url }) {
        const { login_id } = parseParams(loginIdQuery, { login_id: url.searchParams.get('login_id') ?? undefined });
        const login = login_id !== undefined || bridge.loginsOf(caller.userId).length ? loginFor(bridge, caller.userId, login_id) : undefined;
        return { status: 200, body: capabilitiesOf(login) };
      },
    },
    {
      method: 'GET', path: '/bridge_state',
      async handler({ caller }) {
        const logins = Object.fromEntries(bridge.loginsOf(caller.userId).map((l) => [l.id, {
          ...stateJson(bridge, l.id), remote_name: l.remoteName, user_id: l.userMxid,
        }]));
        return { status: 200, body: { bridge: bridge.connector.name.networkId, logins } };
      },
    },
  ];
}
