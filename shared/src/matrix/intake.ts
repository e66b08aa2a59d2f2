/**
 * Durable intake of appservice transactions. A transaction is written to `inbound_events` (one DB
 * transaction, deduplicated by transaction id and by event id) and handed to the crypto hook before
 * the 200 goes out; only then may the homeserver forget it. A single dispatcher then feeds the rows
 * to their portals in order and marks each done once handled, so a crash at any point replays
 * exactly what was not finished.
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
  private lastDispatched = 0;
  private pumping: Promise<void> | undefined;
  private again = false;
  crypto: CryptoHook | undefined;
  stopped = false;
  private started = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly db: Database, private readonly dispatcher: IntakeDispatcher) {}

  async onTransaction(txnId: string, txn: ParsedTransaction): Promise<void> {
    const items = [
      ...txn.events.map((e) => ({ kind: 'event' as const, eventId: e.event_id, roomId: e.room_id, body: e })),
      ...txn.ephemeral.map((e) => ({ kind: 'ephemeral' as const, roomId: e.room_id, body: e })),
    ];
    const res = await this.db.inbound.enqueueTransaction(transactionKey(txnId, txn), items);
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

  async drained(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  private async pump(): Promise<void> {
    for (;;) {
      const rows = await this.db.inbound.listQueued(200, this.lastDispatched);
      if (rows.length === 0 || this.stopped) return;
      for (const row of rows) {
        this.lastDispatched = Math.max(this.lastDispatched, row.seq);
        const item = { seq: row.seq, kind: row.kind, event: row.body } as InboundItem;
        if (row.kind === 'to_device') {
          await this.db.inbound.markDone(row.seq);
          continue;
        }
        try {
          await this.dispatcher.dispatch(item, async () => void (await this.db.inbound.markDone(row.seq)));
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
