/**
 * Login processes started through the provisioning API. Each belongs to the Matrix user who
 * started it (another user gets 404 for it), is addressed by a random id, and ends on `complete`,
 * a failure, a cancel, the user's logout, or ten minutes without a request.
 *
 * A `display_and_wait` step (a QR code, a pairing code) is watched in the background from the
 * moment it is shown: every step the connector yields (a rotated code, then `complete`) is kept,
 * and a display_and_wait request answers with a step the client has not seen yet, waiting up to
 * `waitMs` for one; if none comes it answers with the current step again, and the client asks once
 * more. So a client may poll at any pace without missing the rotation or the end.
 */
import { randomBytes } from 'node:crypto';
import type { LoginFlow, LoginProcess, LoginStep, LoginStepType } from '../network/index.js';
import { BridgeError } from '../network/index.js';
import { getLogger } from '../logging.js';
import { badState, notFound } from './errors.js';
import { checkStepValues } from './login-wire.js';
import { emptyBody, parseBody, stepValues } from './schemas.js';

const log = getLogger('provisioning-logins');

export interface LoginHost {
  flows(): LoginFlow[];
  create(mxid: string, flowId: string): LoginProcess;
}

export interface LoginSessionOptions {
  /** A process nobody asked about for this long is cancelled. */
  abandonAfterMs?: number;
  /** How long a display_and_wait request waits for a new step. */
  waitMs?: number;
  /** Open processes per user; starting one more cancels the oldest. */
  maxPerUser?: number;
  now?: () => number;
}

interface Session {
  id: string;
  owner: string;
  process: LoginProcess;
  /** The newest step; it runs ahead of `shown` while a display_and_wait step is followed in the background. */
  step: LoginStep;
  /** The step the client was last given: submissions must name it. */
  shown: LoginStep;
  /** Bumped on every new step; `delivered` is the version of `shown`. */
  version: number;
  delivered: number;
  failure?: unknown;
  ended: boolean;
  watching: boolean;
  busy: boolean;
  lastUsed: number;
  wakers: Set<() => void>;
}

export class ProvisioningLogins {
  private readonly sessions = new Map<string, Session>();
  private readonly abandonAfterMs: number;
  private readonly waitMs: number;
  private readonly maxPerUser: number;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly host: LoginHost, opts: LoginSessionOptions = {}) {
    this.abandonAfterMs = opts.abandonAfterMs ?? 10 * 60_000;
    this.waitMs = opts.waitMs ?? 25_000;
    this.maxPerUser = opts.maxPerUser ?? 3;
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => this.sweep(), Math.min(30_000, this.abandonAfterMs)).unref();
  }

  /** Open processes (tests, metrics). */
  countOf(owner?: string): number {
    return [...this.sessions.values()].filter((s) => owner === undefined || s.owner === owner).length;
  }

  async start(owner: string, flowId: string): Promise<{ id: string; step: LoginStep }> {
    if (!this.host.flows().some((f) => f.id === flowId)) throw notFound(`There is no login flow "${flowId}"`);
    const mine = [...this.sessions.values()].filter((s) => s.owner === owner);
    for (const old of mine.slice(0, Math.max(0, mine.length - this.maxPerUser + 1))) this.end(old);
    const process = this.host.create(owner, flowId);
    let step: LoginStep;
    try {
      step = await process.start();
    } catch (err) {
      cancelQuietly(process);
      throw err;
    }
    const s: Session = {
      id: randomBytes(16).toString('base64url'), owner, process, step, shown: step, version: 1, delivered: 1,
      ended: false, watching: false, busy: false, lastUsed: this.now(), wakers: new Set(),
    };
    if (step.type !== 'complete') {
      this.sessions.set(s.id, s);
      this.watch(s);
    }
    log.info({ user: owner, flow: flowId, process: s.id, step: step.stepId }, 'provisioning login started');
    return { id: s.id, step };
  }

  /** Submits the step the client was shown; answers with the next one. */
  async submit(owner: string, id: string, stepId: string, type: LoginStepType, body: unknown): Promise<LoginStep> {
    const s = this.get(owner, id);
    this.raiseFailure(s);
    // Checked against the step the client was given: a QR code may have rotated (or the login
    // completed) in the background since, which the display_and_wait answer then delivers.
    if (s.shown.type !== type) throw badState(`The current step is ${s.shown.type}, not ${type}`);
    if (s.shown.stepId !== stepId) throw badState(`The current step is ${s.shown.stepId}, not ${stepId.slice(0, 128)}`);
    if (s.busy) throw badState('A submission for this login is already in progress');
    s.lastUsed = this.now();
    if (s.shown.type === 'display_and_wait') {
      parseBody(emptyBody, body ?? {});
      return this.awaitNext(s);
    }
    const values = parseBody(stepValues, body);
    checkStepValues(s.shown, values);
    const submit = s.shown.type === 'cookies' ? s.process.submitCookies : s.process.submitUserInput;
    if (!submit) throw new BridgeError(`the login process has no handler for ${s.shown.type}`);
    s.busy = true;
    let next: LoginStep;
    try {
      next = await submit.call(s.process, values);
    } catch (err) {
      // As in the bot's login: a failed submission ends the process; the client starts again.
      this.end(s);
      throw err;
    } finally {
      s.busy = false;
    }
    if (s.ended) throw notFound('The login process was cancelled');
    this.advance(s, next);
    this.markShown(s);
    if (next.type === 'complete') this.end(s);
    else this.watch(s);
    return next;
  }

  cancel(owner: string, id: string): void {
    this.end(this.get(owner, id));
  }

  /** Ends every open process of a user (their logout). */
  cancelAllOf(owner: string): number {
    const mine = [...this.sessions.values()].filter((s) => s.owner === owner);
    for (const s of mine) this.end(s);
    return mine.length;
  }

  /** Cancels processes nobody asked about within `abandonAfterMs`. */
  sweep(): void {
    const cutoff = this.now() - this.abandonAfterMs;
    for (const s of [...this.sessions.values()]) {
      if (!s.busy && s.lastUsed < cutoff) {
        log.info({ user: s.owner, process: s.id }, 'provisioning login abandoned; cancelled');
        this.end(s);
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
    for (const s of [...this.sessions.values()]) this.end(s);
  }

  private get(owner: string, id: string): Session {
    const s = this.sessions.get(id);
    if (!s || s.owner !== owner) throw notFound('Login process not found');
    return s;
  }

  private raiseFailure(s: Session): void {
    if (s.failure === undefined) return;
    this.end(s);
    throw s.failure;
  }

  private async awaitNext(s: Session): Promise<LoginStep> {
    if (s.version === s.delivered && s.failure === undefined && !s.ended) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          s.wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, this.waitMs);
        s.wakers.add(wake);
      });
    }
    if (s.ended && s.step.type !== 'complete') throw notFound('The login process was cancelled');
    this.raiseFailure(s);
    this.markShown(s);
    s.lastUsed = this.now();
    if (s.step.type === 'complete') this.end(s);
    return s.step;
  }

  private markShown(s: Session): void {
    s.shown = s.step;
    s.delivered = s.version;
  }

  private advance(s: Session, next: LoginStep): void {
    s.step = next;
    s.version++;
    this.wake(s);
  }

  /** Follows a display_and_wait step in the background until it turns into something else. */
  private watch(s: Session): void {
    if (s.watching || s.step.type !== 'display_and_wait') return;
    s.watching = true;
    void (async () => {
      try {
        while (!s.ended && s.step.type === 'display_and_wait') {
          if (!s.process.wait) throw new BridgeError('the login process cannot wait for the next step');
          const next = await s.process.wait();
          if (s.ended) return;
          this.advance(s, next);
        }
      } catch (err) {
        if (s.ended) return;
        log.info({ user: s.owner, process: s.id, err: (err as Error).message }, 'provisioning login failed while waiting');
        s.failure = err;
        this.wake(s);
      } finally {
        s.watching = false;
      }
    })();
  }

  private wake(s: Session): void {
    for (const w of [...s.wakers]) w();
  }

  private end(s: Session): void {
    if (s.ended) return;
    s.ended = true;
    this.sessions.delete(s.id);
    if (s.step.type !== 'complete') cancelQuietly(s.process);
    this.wake(s);
  }
}

function cancelQuietly(p: LoginProcess): void {
  try {
    p.cancel();
  } catch (err) {
    log.debug({ err: (err as Error).message }, 'login process cancel failed');
  }
}
