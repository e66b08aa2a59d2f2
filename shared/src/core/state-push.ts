/**
 * Pushes bridge states to an operator's status endpoint (`homeserver.status_endpoint`), the way
 * hosting dashboards collect them from bridges: one POST per state change, authorised with the
 * appservice token, in order per login, retried a few times with backoff when the endpoint fails.
 * A push that still fails is logged and dropped: the state stays readable over HTTP
 * (/_tributary/v1/bridge_state) and the next change pushes the current state again.
 */
import { getLogger } from '../logging.js';
import type { LoginState } from './bridge-state.js';

const log = getLogger('state-push');

export interface StatePushOptions {
  url: string;
  token: string;
  network: string;
  /** Attempts per state (default 3); waits 1 s, 2 s, ... between them. */
  attempts?: number;
  retryBaseMs?: number;
  fetch?: typeof globalThis.fetch;
}

/** The body of one push (a bridge state in the shape status dashboards read). */
export function pushBody(s: LoginState, network: string): Record<string, unknown> {
  return {
    state_event: s.stateEvent,
    timestamp: Math.floor(s.timestamp / 1000),
    ttl: s.stateEvent === 'CONNECTED' ? 3600 : 240,
    source: 'bridge',
    network,
    user_id: s.userMxid,
    remote_id: s.loginId,
    remote_name: s.remoteName,
    ...(s.error ? { error: s.error } : {}),
    ...(s.message ? { message: s.message } : {}),
    ...(s.info ? { info: s.info } : {}),
  };
}

export class StatePusher {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly fetchFn: typeof globalThis.fetch;

  constructor(private readonly opts: StatePushOptions) {
    this.fetchFn = opts.fetch ?? globalThis.fetch;
  }

  /** Queues a push behind the login's earlier ones; resolves when it was delivered or given up. */
  push(state: LoginState): Promise<void> {
    const prev = this.chains.get(state.loginId) ?? Promise.resolve();
    const next = prev.then(() => this.deliver(state));
    this.chains.set(state.loginId, next);
    return next;
  }

  private async deliver(state: LoginState): Promise<void> {
    const attempts = this.opts.attempts ?? 3;
    const body = JSON.stringify(pushBody(state, this.opts.network));
    for (let attempt = 1; ; attempt++) {
      let problem: string;
      try {
        const res = await this.fetchFn(this.opts.url, {
          method: 'POST', body, signal: AbortSignal.timeout(10_000),
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.opts.token}` },
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        problem = `HTTP ${res.status}`;
      } catch (err) {
        problem = (err as Error).message;
      }
      if (attempt >= attempts) {
        log.warn({ login: state.loginId, state: state.stateEvent, problem }, 'bridge state push failed; giving up on this state');
        return;
      }
      await new Promise((r) => setTimeout(r, (this.opts.retryBaseMs ?? 1000) * 2 ** (attempt - 1)));
    }
  }
}
