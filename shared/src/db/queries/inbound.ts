import type { Knex } from 'knex';
import { decodeRow, type RawRow, type TableCodec } from '../codec.js';

/**
 * The durable intake queue. An appservice transaction is written here in one database
 * transaction and only then acknowledged to the homeserver, so a crash after the ack loses
 * nothing, and a crash before it leads to a redelivery that the dedup below absorbs.
 */
export type InboundKind = 'event' | 'ephemeral' | 'to_device';
export type InboundState = 'queued' | 'done' | 'failed';

export interface InboundItem {
  kind: InboundKind;
  /** Set for room events (PDUs): the event-level dedup key. */
  eventId?: string;
  roomId?: string;
  body: unknown;
}

export interface InboundEventRow {
  seq: number;
  eventId: string | null;
  txnId: string;
  kind: InboundKind;
  roomId: string | null;
  body: unknown;
  state: InboundState;
  attempts: number;
  createdAt: number;
}

export interface EnqueueResult {
  /** The transaction id was already received: nothing was inserted. */
  duplicateTransaction: boolean;
  /** Items inserted (items whose event id was already queued are skipped). */
  queued: number;
}

const codec: TableCodec<InboundEventRow> = {
  seq: ['seq', 'int'],
  eventId: ['event_id', 'text'],
  txnId: ['txn_id', 'text'],
  kind: ['kind', 'text'],
  roomId: ['room_id', 'text'],
  body: ['body', 'json'],
  state: ['state', 'text'],
  attempts: ['attempts', 'int'],
  createdAt: ['created_at', 'int'],
};

/** Rows per INSERT (8 bound values each; well under SQLite's variable limit). */
const INSERT_CHUNK = 100;
/** Sequence numbers per UPDATE ... WHERE seq IN (...). */
const MARK_CHUNK = 500;

export class InboundQueries {
  constructor(private readonly knex: Knex) {}

  /**
   * Stores one appservice transaction atomically. Transaction-level dedup by txn id, and
   * event-level dedup by event id (also across different txn ids: Synapse may resend an event
   * in a new transaction). Order within the transaction is kept by `seq`.
   */
  async enqueueTransaction(txnId: string, items: readonly InboundItem[], nowMs = Date.now()): Promise<EnqueueResult> {
    return this.knex.transaction(async (trx) => {
      const fresh = (await trx('as_transactions').insert({ txn_id: txnId, received_at: nowMs })
        .onConflict('txn_id').ignore().returning('txn_id')) as unknown[];
      if (fresh.length === 0) return { duplicateTransaction: true, queued: 0 };
      // One multi-row INSERT per chunk instead of one statement per event. Rows get their seq in
      // VALUES order; ON CONFLICT skips an event id already queued (by this or an earlier txn).
      const rows = items.map((item) => ({
        event_id: item.eventId ?? null,
        txn_id: txnId,
        kind: item.kind,
        room_id: item.roomId ?? null,
        body: JSON.stringify(item.body ?? null),
        state: 'queued',
        attempts: 0,
        created_at: nowMs,
      }));
      let queued = 0;
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const inserted = (await trx('inbound_events').insert(rows.slice(i, i + INSERT_CHUNK))
          .onConflict('event_id').ignore().returning('seq')) as unknown[];
        queued += inserted.length;
      }
      return { duplicateTransaction: false, queued };
    });
  }

  /** Queued rows in order; `afterSeq` skips rows a dispatcher already has in hand. */
  async listQueued(limit: number, afterSeq = 0): Promise<InboundEventRow[]> {
    const rows = (await this.knex('inbound_events').where({ state: 'queued' }).andWhere('seq', '>', afterSeq).orderBy('seq').limit(limit)) as RawRow[];
    return rows.map((r) => decodeRow(codec, r));
  }

  async get(seq: number): Promise<InboundEventRow | undefined> {
    const raw = (await this.knex('inbound_events').where({ seq }).first()) as RawRow | undefined;
    return raw ? decodeRow(codec, raw) : undefined;
  }

  async markDone(seq: number): Promise<boolean> {
    return (await this.knex('inbound_events').where({ seq }).update({ state: 'done' })) > 0;
  }

  /** Marks many rows done in as few statements as possible; returns how many changed. */
  async markDoneMany(seqs: readonly number[]): Promise<number> {
    let changed = 0;
    for (let i = 0; i < seqs.length; i += MARK_CHUNK) {
      changed += await this.knex('inbound_events').whereIn('seq', seqs.slice(i, i + MARK_CHUNK)).update({ state: 'done' });
    }
    return changed;
  }

  async markFailed(seq: number): Promise<boolean> {
    return (await this.knex('inbound_events').where({ seq }).update({ state: 'failed' })) > 0;
  }

  /** Adds one to the attempt counter and returns the new count (0 when the row is missing). */
  async incrementAttempts(seq: number): Promise<number> {
    await this.knex('inbound_events').where({ seq }).increment('attempts', 1);
    return (await this.get(seq))?.attempts ?? 0;
  }

  /**
   * Deletes done items created more than `olderThanMs` ago; returns how many. Pruned event ids
   * no longer dedup, so keep them longer than a homeserver keeps retrying a transaction.
   */
  async pruneDone(olderThanMs: number, nowMs = Date.now()): Promise<number> {
    return this.knex('inbound_events').where({ state: 'done' }).where('created_at', '<', nowMs - olderThanMs).delete();
  }

  /** Forgets transaction ids received more than `olderThanMs` ago; returns how many. */
  async pruneTransactions(olderThanMs: number, nowMs = Date.now()): Promise<number> {
    return this.knex('as_transactions').where('received_at', '<', nowMs - olderThanMs).delete();
  }
}
