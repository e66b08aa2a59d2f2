import { randomBytes, randomInt } from 'node:crypto';
import type { QrPollResult } from '../wire.js';
import { NetworkError } from './errors.js';

export interface LoginCodeOptions {
  /** A code is valid this long before the next one replaces it (default 20 s). */
  rotateMs?: number;
  /** Codes shown per session before the session expires (default 6, two minutes at 20 s). */
  maxCodes?: number;
}

interface Session {
  id: string;
  code: string;
  expiresAt: number;
  codesShown: number;
  approved?: { accountId: string; token: string };
  timer: NodeJS.Timeout | undefined;
  waiters: Set<() => void>;
}

// No 0/O/1/I: codes are meant to be read off a screen and typed.
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
function newCode(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}

/**
 * The QR login flow: a waiting bridge holds a session whose code rotates every `rotateMs`;
 * approving the current code as an account (the "scan") hands that account's token to the
 * session's waiter once.
 */
export class LoginCodes {
  private readonly sessions = new Map<string, Session>();
  private readonly byCode = new Map<string, Session>();
  private readonly rotateMs: number;
  private readonly maxCodes: number;

  constructor(opts: LoginCodeOptions = {}) {
    this.rotateMs = opts.rotateMs ?? 20_000;
    this.maxCodes = opts.maxCodes ?? 6;
  }

  start(): { session: string; code: string; expires_at: number } {
    const s: Session = { id: randomBytes(16).toString('base64url'), code: '', expiresAt: 0, codesShown: 0, timer: undefined, waiters: new Set() };
    this.sessions.set(s.id, s);
    this.rotate(s);
    return { session: s.id, code: s.code, expires_at: s.expiresAt };
  }

  private rotate(s: Session): void {
    this.byCode.delete(s.code);
    if (s.codesShown >= this.maxCodes) {
      this.end(s);
      return;
    }
    s.code = newCode();
    s.codesShown++;
    s.expiresAt = Date.now() + this.rotateMs;
    this.byCode.set(s.code, s);
    s.timer = setTimeout(() => this.rotate(s), this.rotateMs);
    s.timer.unref();
    this.wake(s);
  }

  private wake(s: Session): void {
    for (const w of s.waiters) w();
    s.waiters.clear();
  }

  private end(s: Session): void {
    clearTimeout(s.timer);
    this.byCode.delete(s.code);
    this.sessions.delete(s.id);
    this.wake(s);
  }

  /** Codes currently waiting for a scan (control API, for the demo page). */
  pending(): Array<{ code: string; expires_at: number }> {
    return [...this.sessions.values()].filter((s) => !s.approved).map((s) => ({ code: s.code, expires_at: s.expiresAt }));
  }

  /** The "scan": only the session's current code works. */
  approve(code: string, accountId: string, token: string): void {
    const s = this.byCode.get(code.toUpperCase());
    if (!s || s.approved) throw new NetworkError('not_found', 'no login waiting for that code (it may have rotated)');
    clearTimeout(s.timer);
    this.byCode.delete(s.code);
    s.approved = { accountId, token };
    // An approval nobody collects is dropped after a minute.
    s.timer = setTimeout(() => this.end(s), 60_000);
    s.timer.unref();
    this.wake(s);
  }

  /**
   * Long poll: resolves at once when the session's code differs from `after` (or it was
   * approved), otherwise when that happens or after `waitMs` with the unchanged state.
   */
  async poll(sessionId: string, after: string | undefined, waitMs: number): Promise<QrPollResult> {
    const s = this.sessions.get(sessionId);
    if (!s) throw new NetworkError('login_expired', 'login session expired or unknown; start again');
    if (!s.approved && s.code === after && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(t);
          s.waiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, waitMs);
        s.waiters.add(done);
      });
    }
    if (s.approved) {
      this.end(s);
      return { status: 'approved', account_id: s.approved.accountId, token: s.approved.token };
    }
    if (!this.sessions.has(s.id)) throw new NetworkError('login_expired', 'login session expired; start again');
    return { status: 'pending', code: s.code, expires_at: s.expiresAt };
  }

  cancel(sessionId: string): void {
    const s = this.sessions.get(sessionId);
    if (s) this.end(s);
  }

  close(): void {
    for (const s of [...this.sessions.values()]) this.end(s);
  }
}
