import type { EventFrame } from '../wire.js';

/** One account's event stream: a monotonically increasing seq and the last `limit` events. */
export interface AccountLogState {
  /** Latest seq handed out (0 before the first event). */
  head: number;
  /** Highest seq dropped from the log; a client behind this must resync. */
  droppedUpTo: number;
  /** Highest seq the account's client acknowledged. */
  acked: number;
  entries: EventFrame[];
}

export type ReplayResult = { resyncRequired: true } | { resyncRequired: false; frames: EventFrame[] };

/**
 * Per-account bounded event logs. Ephemeral events (typing) get a seq but are not kept: replaying
 * a stale "is typing" after a reconnect would be wrong, and their absence is not a gap.
 */
export class EventLogs {
  private readonly logs = new Map<string, AccountLogState>();

  constructor(private readonly limit: number) {}

  private log(account: string): AccountLogState {
    let log = this.logs.get(account);
    if (!log) {
      log = { head: 0, droppedUpTo: 0, acked: 0, entries: [] };
      this.logs.set(account, log);
    }
    return log;
  }

  append(account: string, event: EventFrame['event'], ephemeral: boolean): EventFrame {
    const log = this.log(account);
    const frame: EventFrame = { seq: ++log.head, event };
    if (!ephemeral) {
      log.entries.push(frame);
      // Trim in batches so the steady state is not one O(n) shift per event.
      if (log.entries.length > this.limit + Math.ceil(this.limit / 10)) {
        const dropped = log.entries.splice(0, log.entries.length - this.limit);
        log.droppedUpTo = dropped[dropped.length - 1]?.seq ?? log.droppedUpTo;
      }
    }
    return frame;
  }

  head(account: string): number {
    return this.logs.get(account)?.head ?? 0;
  }

  /** Events after `since`, or a resync demand when the log no longer covers that point. */
  replay(account: string, since: number): ReplayResult {
    const log = this.log(account);
    // since > head: the server lost events (restart without state): the client must resync.
    if (since > log.head || since < log.droppedUpTo) return { resyncRequired: true };
    return { resyncRequired: false, frames: log.entries.slice(indexAfter(log.entries, since)) };
  }

  /** Records an acknowledgement; returns the newly acknowledged kept frames. */
  ack(account: string, seq: number): EventFrame[] {
    const log = this.logs.get(account);
    if (!log) return [];
    const upTo = Math.min(seq, log.head);
    if (upTo <= log.acked) return [];
    const from = log.acked;
    log.acked = upTo;
    const out: EventFrame[] = [];
    for (let i = indexAfter(log.entries, from); i < log.entries.length; i++) {
      const frame = log.entries[i];
      if (!frame || frame.seq > upTo) break;
      out.push(frame);
    }
    return out;
  }

  snapshot(): Record<string, AccountLogState> {
    return Object.fromEntries(this.logs);
  }

  restore(state: Record<string, AccountLogState>): void {
    this.logs.clear();
    for (const [account, log] of Object.entries(state)) this.logs.set(account, log);
  }
}

/** Index of the first entry whose seq is greater than `seq` (entries are sorted by seq). */
function indexAfter(entries: EventFrame[], seq: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((entries[mid]?.seq ?? 0) <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
