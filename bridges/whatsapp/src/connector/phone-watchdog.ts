/**
 * The phone-offline watchdog. WhatsApp unlinks a linked device (this bridge) when the phone has not
 * been online for 14 days, and the bridge cannot see the phone directly; it can only notice signs
 * of it: a message sent from the phone (`notify`, not an echo of the bridge's own sends, with an
 * id of the kind phones make), a message we read on another device, a history sync (the phone
 * sends it), our own presence, and the pairing itself. The newest sign is kept in the login's
 * metadata (`phone_last_seen`, ms; written at most once an hour, so a restart loses at most an
 * hour of it).
 *
 * With `phone_offline_warning_days` (0: off) passed, a connected login reports the bridge state
 * UNKNOWN_ERROR / `wa-phone-offline` ("Your phone has not been seen for N days; ..."), which the
 * core turns into a notice in the management room; the next sign of the phone returns it to
 * CONNECTED. UNKNOWN_ERROR, because the connection and the credentials are fine, so neither
 * TRANSIENT_DISCONNECT nor BAD_CREDENTIALS (which would also hide a later real rejection, as the
 * core announces a BAD_CREDENTIALS only once) says what is going on. Checked when the connection
 * opens (the CONNECTED state passes through here) and then every hour.
 *
 * A login with no sign recorded yet (made before this existed) starts the clock at its first check.
 */
import type { BridgeStateUpdate, UserLoginHandle } from '@tributary/core/network/index';

export const PHONE_SEEN_KEY = 'phone_last_seen';
export const PHONE_OFFLINE_ERROR = 'wa-phone-offline';
/** WhatsApp's limit, after which it unlinks the bridge. */
export const WA_UNLINK_DAYS = 14;
const DAY_MS = 86_400_000;
const SAVE_EVERY_MS = 3_600_000;
const CHECK_EVERY_MS = 3_600_000;

export interface PhoneWatchdogOptions {
  login: Pick<UserLoginHandle, 'metadata' | 'saveMetadata' | 'setBridgeState' | 'log'>;
  /** Days without a sign of the phone before the warning; 0 turns the warning off. */
  warningDays: number;
  now?: () => number;
  checkEveryMs?: number;
}

export function phoneOfflineState(days: number, lastSeen: number): BridgeStateUpdate {
  return {
    stateEvent: 'UNKNOWN_ERROR', error: PHONE_OFFLINE_ERROR,
    message: `Your phone has not been seen for ${days} days; open WhatsApp on it, or WhatsApp will unlink this bridge after ${WA_UNLINK_DAYS} days`,
    info: { phone_last_seen: lastSeen },
  };
}

export class PhoneWatchdog {
  private lastSeen: number | undefined;
  /** The value last written to the metadata. */
  private saved: number | undefined;
  private connected = false;
  /** Days shown by the warning in force, if one is. */
  private warnedDays: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly opts: PhoneWatchdogOptions) {
    this.now = opts.now ?? Date.now;
    const stored = opts.login.metadata[PHONE_SEEN_KEY];
    if (typeof stored === 'number' && Number.isFinite(stored) && stored > 0) this.lastSeen = this.saved = stored;
  }

  /** The newest sign of the phone (ms), if any. */
  get phoneLastSeen(): number | undefined {
    return this.lastSeen;
  }

  /** A sign of the phone at `at` (ms; never later than now). */
  seen(at = this.now()): void {
    const t = Math.min(at, this.now());
    if (this.lastSeen !== undefined && t <= this.lastSeen) return;
    this.lastSeen = t;
    if (this.saved === undefined || t - this.saved >= SAVE_EVERY_MS) this.save(t);
    if (this.warnedDays !== undefined && !this.offlineDays()) {
      this.warnedDays = undefined;
      if (this.connected) this.opts.login.setBridgeState({ stateEvent: 'CONNECTED' });
    }
  }

  /** A state the connection reports, as the login should show it: CONNECTED becomes the warning when due. */
  filter(state: BridgeStateUpdate): BridgeStateUpdate {
    this.connected = state.stateEvent === 'CONNECTED';
    this.warnedDays = undefined;
    if (!this.connected) return state;
    this.startClock();
    const days = this.offlineDays();
    if (!days || this.lastSeen === undefined) return state;
    this.warnedDays = days;
    return phoneOfflineState(days, this.lastSeen);
  }

  /** Periodic: warns (or updates the days of the warning) while connected. */
  check(): void {
    if (!this.connected) return;
    this.startClock();
    const days = this.offlineDays();
    if (!days || days === this.warnedDays || this.lastSeen === undefined) return;
    this.warnedDays = days;
    this.opts.login.setBridgeState(phoneOfflineState(days, this.lastSeen));
  }

  start(): void {
    if (this.timer || this.opts.warningDays <= 0) return;
    this.timer = setInterval(() => this.check(), this.opts.checkEveryMs ?? CHECK_EVERY_MS);
    this.timer.unref?.();
  }

  /** Stops the timer and writes a sign not yet written. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.connected = false;
    if (this.lastSeen !== undefined && this.lastSeen !== this.saved) this.save(this.lastSeen);
    await this.saving;
  }

  /** Whole days since the last sign when that is past the warning threshold, else 0. */
  private offlineDays(): number {
    if (this.opts.warningDays <= 0 || this.lastSeen === undefined) return 0;
    const days = Math.floor((this.now() - this.lastSeen) / DAY_MS);
    return days >= this.opts.warningDays ? days : 0;
  }

  private startClock(): void {
    if (this.lastSeen === undefined) this.seen();
  }

  private save(value: number): void {
    this.saved = value;
    this.saving = this.saving.then(() => this.opts.login.saveMetadata({ [PHONE_SEEN_KEY]: value }))
      .catch((err: unknown) => this.opts.login.log.warn({ err: (err as Error).message }, 'saving when the phone was last seen failed'));
  }
}
