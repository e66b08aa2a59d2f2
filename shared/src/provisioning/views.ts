/** How logins, their states and contacts look in provisioning API responses. */
import type { Bridge } from '../core/bridge.js';
import type { ResolvedContact } from '../core/chat-actions.js';
import type { UserLogin } from '../core/user-login.js';
import { notFound, notLoggedIn } from './errors.js';

/** A login's bridge state as mautrix bridges send it (`timestamp` in Unix seconds). */
export function stateJson(bridge: Bridge, loginId: string): Record<string, unknown> {
  const s = bridge.states.get(loginId);
  if (!s) return { state_event: 'STARTING', timestamp: Math.floor(Date.now() / 1000) };
  return {
    state_event: s.stateEvent, timestamp: Math.floor(s.timestamp / 1000),
    ...(s.error ? { error: s.error } : {}),
    ...(s.message ? { message: s.message } : {}),
    ...(s.info ? { info: s.info } : {}),
  };
}

export function loginJson(bridge: Bridge, login: UserLogin): Record<string, unknown> {
  return {
    id: login.id, name: login.remoteName, state: stateJson(bridge, login.id), profile: { name: login.remoteName },
    ...(login.spaceRoom ? { space_room: login.spaceRoom } : {}),
  };
}

export function contactJson(c: ResolvedContact): Record<string, unknown> {
  return {
    id: c.user, mxid: c.mxid,
    ...(c.name ? { name: c.name } : {}),
    ...(c.avatarMxc ? { avatar_url: c.avatarMxc } : {}),
    ...(c.identifiers.length ? { identifiers: c.identifiers } : {}),
    ...(c.roomId ? { dm_room_mxid: c.roomId } : {}),
  };
}

/**
 * The login an action runs through: the one `login_id` names (which must be the caller's), else
 * the caller's first login.
 */
export function loginFor(bridge: Bridge, mxid: string, loginId: string | undefined): UserLogin {
  if (loginId !== undefined) {
    const login = bridge.getLogin(loginId);
    if (!login || login.userMxid !== mxid) throw notFound('Login not found');
    return login;
  }
  const first = bridge.loginsOf(mxid)[0];
  if (!first) throw notLoggedIn();
  return first;
}
