/**
 * MetaClient states -> bridge states, with the messages the person reads in the management room.
 * A session Meta ended (close code 4003/4004, a Deauth, the login page or a checkpoint instead of
 * the inbox) needs new cookies: BAD_CREDENTIALS, never a reconnect.
 */
import type { BridgeStateUpdate } from '@tributary/core/network/index';
import type { MetaClientState, MetaLoggedOutReason } from '../client/types.js';
import { platformName, type MetaPlatform } from '../msgconv/meta-ids.js';

const WHY: Partial<Record<MetaLoggedOutReason, string>> = {
  unauthorized: 'refused the session (its cookies are no longer valid)',
  rejected: 'rejected the session',
  deauth: 'ended the session (logged out from another device, or the password changed)',
  'login-required': 'asks to log in again (the cookies have expired or were logged out)',
  checkpoint: 'put the account behind a security checkpoint; open it in a browser and clear the check',
  challenge: 'asks for a security challenge; open it in a browser and clear it',
  consent: 'asks you to accept new terms; open it in a browser and accept them',
};

export function loggedOutState(platform: MetaPlatform, reason: MetaLoggedOutReason): BridgeStateUpdate {
  const app = platformName(platform);
  const why = WHY[reason] ?? 'ended the session';
  return {
    stateEvent: 'BAD_CREDENTIALS', error: `meta-${reason}`,
    message: `${app} ${why}. Log in again with fresh cookies (send "login").`,
  };
}

/** Cookies already past their expiry when the bridge loads them. */
export function expiredCookiesState(message: string): BridgeStateUpdate {
  return { stateEvent: 'BAD_CREDENTIALS', error: 'meta-cookies-expired', message: `${message.replace(/\.$/, '')}. Then log in again (send "login").` };
}

/** The bridge state for a client state, or undefined when the person need not hear of it. */
export function bridgeStateOf(platform: MetaPlatform, state: MetaClientState): BridgeStateUpdate | undefined {
  const app = platformName(platform);
  switch (state.state) {
    case 'connecting':
      return { stateEvent: 'CONNECTING', message: `Connecting to ${app}` };
    case 'connected':
      return { stateEvent: 'CONNECTED' };
    case 'reconnecting':
      return {
        stateEvent: 'TRANSIENT_DISCONNECT', error: 'meta-connection-lost',
        message: `Connection to ${app} lost; reconnecting`, info: { attempt: state.attempt, retry_in_ms: state.delayMs },
      };
    case 'logged-out':
      return loggedOutState(platform, state.reason);
    case 'disconnected':
      return undefined;
  }
}
