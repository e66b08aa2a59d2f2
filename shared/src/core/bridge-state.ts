/**
 * Connection state per login. Each change is kept (served over HTTP), and a change the person
 * should know about becomes a notice in their management room. Repeats of the same state are
 * not re-announced.
 */
import { NEEDS_USER_ACTION, type BridgeStateEvent, type BridgeStateUpdate } from '../network/index.js';
import { getLogger } from '../logging.js';
import type { Bridge } from './bridge.js';
import type { UserLogin } from './user-login.js';

const log = getLogger('bridge-state');

export interface LoginState extends BridgeStateUpdate {
  loginId: string;
  userMxid: string;
  remoteName: string;
  timestamp: number;
}

const NOTICE_TEXT: Partial<Record<BridgeStateEvent, string>> = {
  CONNECTED: 'Connected',
  TRANSIENT_DISCONNECT: 'Disconnected from the network; reconnecting',
  BAD_CREDENTIALS: 'Your login was rejected by the network; log in again',
  LOGGED_OUT: 'You were logged out; log in again to keep bridging',
  UNKNOWN_ERROR: 'The connection failed with an unexpected error',
};

export class BridgeStates {
  private readonly states = new Map<string, LoginState>();
  private readonly listeners = new Set<(s: LoginState) => void>();
  /** Per login: which connection notice is being edited (bumped around states that need the person). */
  private readonly noticeEpoch = new Map<string, number>();

  constructor(private readonly bridge: Bridge) {}

  get(loginId: string): LoginState | undefined {
    return this.states.get(loginId);
  }

  all(): LoginState[] {
    return [...this.states.values()];
  }

  forget(loginId: string): void {
    this.states.delete(loginId);
  }

  onChange(fn: (s: LoginState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  set(login: UserLogin, update: BridgeStateUpdate): void {
    const prev = this.states.get(login.id);
    const next: LoginState = { ...update, loginId: login.id, userMxid: login.userMxid, remoteName: login.remoteName, timestamp: Date.now() };
    this.states.set(login.id, next);
    // A logout is one event even when the network reports it twice (an event and a closed socket).
    const same = prev && prev.stateEvent === next.stateEvent && (prev.error === next.error || NEEDS_USER_ACTION.has(next.stateEvent));
    if (same) return;
    log.info({ login: login.id, state: next.stateEvent, error: next.error }, 'bridge state changed');
    // Coming (back) online: fill the gap from the last bridged message of each portal.
    if (next.stateEvent === 'CONNECTED') void this.bridge.catchUpLogin(login).catch((err) => log.warn({ err }, 'catch-up failed'));
    for (const fn of this.listeners) fn(next);
    // Reconnect chatter (CONNECTING) is not worth a notice; the first CONNECTED after start is
    // announced only if something else was announced before it.
    const text = NOTICE_TEXT[next.stateEvent];
    if (!text || !this.bridge.config.bridge.management_room_notices) return;
    if (next.stateEvent === 'CONNECTED' && (!prev || prev.stateEvent === 'CONNECTING' || prev.stateEvent === 'STARTING')) return;
    const detail = next.message ? `: ${next.message}` : '';
    // Connection chatter (disconnected, reconnecting, connected again) edits one notice in place
    // instead of flooding the room. A state that needs the person (logged out, bad credentials)
    // gets a notice of its own, so it is seen, and what follows it starts a new one.
    const needsPerson = NEEDS_USER_ACTION.has(next.stateEvent);
    if (needsPerson) this.noticeEpoch.set(login.id, (this.noticeEpoch.get(login.id) ?? 0) + 1);
    const key = `connection:${this.noticeEpoch.get(login.id) ?? 0}`;
    if (needsPerson) this.noticeEpoch.set(login.id, (this.noticeEpoch.get(login.id) ?? 0) + 1);
    // Progress notices of one login go out in order, so "disconnected" never lands after "connected".
    // A connector's own explanation replaces the generic "unexpected error" line (it is not one).
    const line = next.stateEvent === 'UNKNOWN_ERROR' && next.message ? next.message : `${text}${detail}`;
    void login.sendProgressNotice(key, `${login.remoteName}: ${line}`);
  }
}
