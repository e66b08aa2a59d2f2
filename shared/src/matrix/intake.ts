/**
 * Durable intake of appservice transactions. A transaction is written to `inbound_events` (one DB
 * transaction, deduplicated by transaction id and by event id) and handed to the crypto hook before
 * the 200 goes out; only then may the homeserver forget it. A single dispatcher then feeds the rows
 * to their portals in order and marks each done once handled, so a crash at any point replays
 * what was not finished.
 *
 * Done marks are written together (DoneMarks) and the portal does not wait for its mark: the mark
 * of a handled event rides along in the next commit (or is written within DoneMarks.FLUSH_MS),
 * while the portal goes on. A crash can therefore replay an event whose handling finished in the last commit
 * interval (as it could before, between handling and its own mark's commit), and possibly the
 * events after it in the same room. Replays are deduplicated where the effect is a record: a
 * message or sticker (messages / pending_sends by event id), a reaction (reactions by event id),
 * a redaction (its target is gone), a name/topic/avatar (compared with the portal row).
 */
import { createHash } from 'node:crypto';
import { getLogger } from '../logging.js';
import type { Database } from '../db/database.js';
import type { CryptoTransactionData, EphemeralEvent, MatrixRoomEvent, ParsedTransaction } from './transaction.js';

const log = getLogger('intake');

export interface CryptoHook {
  /** Runs before the transaction is acknowledged; must persist what it needs. */
  onTransactionData(data: CryptoTransactionData): Promise<void>;
}

export type InboundItem =
  | { seq: number; kind: 'event'; event: MatrixRoomEvent }
  | { seq: number; kind: 'ephemeral'; event: EphemeralEvent };

export interface IntakeDispatcher {
  /**
   * Route one item; call `done` once it is fully handled (possibly later, from a portal queue).
   * Must preserve the order of items of the same room.
   */
  dispatch(item: InboundItem, done: () => Promise<void>): Promise<void>;
}

export class TransactionIntake {
  private readonly marks: DoneMarks;
  private lastDispatched = 0;
  private pumping: Promise<void> | undefined;
  private again = false;
  crypto: CryptoHook | undefined;
  stopped = false;
  private started = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly db: Database, private readonly dispatcher: IntakeDispatcher) {
    this.marks = new DoneMarks(db);
  }

  async onTransaction(txnId: string, txn: ParsedTransaction): Promise<void> {
    const items = [
      ...txn.events.map((e) => ({ kind: 'event' as const, eventId: e.event_id, roomId: e.room_id, body: e })),
      ...txn.ephemeral.map((e) => ({ kind: 'ephemeral' as const, roomId: e.room_id, body: e })),
    ];
    // Through db.write, so on SQLite the enqueue shares a commit with the portals' writes; it is
    // atomic on its own (its own transaction, or a savepoint inside the shared one).
    const res = await this.db.write((tx) => tx.inbound.enqueueTransaction(transactionKey(txnId, txn), items));
    if (this.crypto && (txn.crypto.toDevice.length || txn.crypto.oneTimeKeyCounts || txn.crypto.deviceLists || txn.crypto.unusedFallbackKeyTypes)) {
      await this.crypto.onTransactionData(txn.crypto);
    }
    if (res.duplicateTransaction) log.debug({ txnId }, 'duplicate transaction acknowledged');
    this.kick();
  }

  /**
   * Begins dispatching, including whatever an earlier run left queued. Until then transactions are
   * only stored (and acknowledged), so nothing is routed before logins and portals are loaded.
   */
  start(): void {
    this.started = true;
    this.kick();
  }

  /** Starts (or continues) feeding queued rows to the dispatcher. */
  kick(): void {
    if (this.stopped || !this.started) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Resolves when nothing is being dispatched and every done mark given so far is committed. */
  async drained(): Promise<void> {
    while (this.pumping) await this.pumping;
    await this.marks.flushed();
  }

  private async pump(): Promise<void> {
    for (;;) {
      const rows = await this.db.inbound.listQueued(200, this.lastDispatched);
      if (rows.length === 0 || this.stopped) return;
      for (const row of rows) {
        this.lastDispatched = Math.max(this.lastDispatched, row.seq);
        const item = { seq: row.seq, kind: row.kind, event: row.body } as InboundItem;
        if (row.kind === 'to_device') {
          this.marks.add(row.seq);
          continue;
        }
        try {
          await this.dispatcher.dispatch(item, async () => this.marks.add(row.seq));
        } catch (err) {
          // Nothing after it may overtake it: stop here and try this row again shortly (it also
          // stays queued in the database for the next start).
          log.error({ err, seq: row.seq }, 'dispatch failed; retrying');
          this.lastDispatched = row.seq - 1;
          this.retryTimer = setTimeout(() => this.kick(), 1000);
          this.retryTimer.unref();
          return;
        }
      }
    }
  }
}

/**
 * Done marks of handled rows, written in batches: the marks given since the last write ride along
 * in the next commit any other writer makes (on SQLite, see GroupCommit.onBatch), or are written
 * on their own after FLUSH_MS when nothing else commits. `add` returns at once. A batch that fails
 * is retried; its rows stay queued in the database meanwhile, so at worst a restart replays them.
 */
export class DoneMarks {
  static readonly FLUSH_MS = 10;
  private pending: number[] = [];
  private readonly writing = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(private readonly db: Database) {
    db.groupCommit?.onBatch(() => this.flush());
  }

  add(seq: number): void {
    this.pending.push(seq);
    this.timer ??= setTimeout(() => this.flush(), DoneMarks.FLUSH_MS).unref();
  }

  /** Writes what is pending and resolves once every mark given so far is committed (or given up). */
  async flushed(): Promise<void> {
    this.flush();
    while (this.writing.size) {
      await Promise.all(this.writing);
      this.flush();
    }
  }

  /** Starts the write of every pending mark (synchronously queued, so it can join a batch being formed). */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.length) return;
    const seqs = this.pending;
    this.pending = [];
    // A plain write: marks are idempotent, so a partly applied batch does no harm.
    const w: Promise<void> = this.db.write((tx) => tx.inbound.markDoneMany(seqs)).then(() => {
      this.failures = 0;
    }, (err: unknown) => {
      // Bounded, so a database that is closed or gone does not keep a caller of flushed() forever.
      if (++this.failures > 5) {
        log.error({ err, count: seqs.length }, 'could not mark events done; they replay at the next start');
        return;
      }
      log.warn({ err, count: seqs.length }, 'could not mark events done; retrying');
      this.pending.unshift(...seqs);
      this.timer ??= setTimeout(() => this.flush(), 200 * this.failures).unref();
    }).finally(() => this.writing.delete(w));
    this.writing.add(w);
  }
}

/**
 * The dedup key of a transaction: its id plus a digest of what it carries. Synapse on SQLite
 * numbers transactions again from 1 after a restart once none are pending, so an id alone would
 * make the bridge acknowledge and drop new transactions; a true retry carries the same events.
 */
function transactionKey(txnId: string, txn: ParsedTransaction): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([txn.events.map((e) => e.event_id), txn.ephemeral, txn.crypto.toDevice]))
    .digest('base64url')
    .slice(0, 22);
  return `${txnId}#${digest}`;
}
