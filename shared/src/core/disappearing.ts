/**
 * The disappearing-message loop: every few seconds, redact the bridged events whose timer ran out
 * and forget them. Timers of `after_read` messages start when the person reads the room.
 */
import { getLogger } from '../logging.js';
import type { Bridge } from './bridge.js';

const log = getLogger('disappearing');

export class DisappearingLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly bridge: Bridge) {}

  start(): void {
    const every = this.bridge.config.bridge.disappearing_check_interval_seconds * 1000;
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async tick(now = Date.now()): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let done = 0;
    try {
      for (const row of await this.bridge.db.disappearing.listDue(now, 100)) {
        try {
          await this.bridge.api.redact(row.roomId, row.mxid, { asUser: this.bridge.botMxid, txnId: `disappear.${row.mxid}`, reason: 'Disappearing message' });
        } catch (err) {
          log.debug({ err: (err as Error).message, event: row.mxid }, 'redaction of a disappearing message failed');
        }
        await this.bridge.db.disappearing.delete(row.mxid);
        done++;
      }
    } finally {
      this.running = false;
    }
    return done;
  }
}
