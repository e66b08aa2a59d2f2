import type { Knex } from 'knex';
import { decodeOptional, decodeRow, encodeRow, type RawRow, type TableCodec } from '../codec.js';

export type PendingSendState = 'pending' | 'sent' | 'failed';

/**
 * A Matrix event on its way to the network. Keyed by the Matrix event id so a redelivered
 * event is not sent twice; `txnId` is the idempotency key handed to the network.
 */
export interface PendingSendRow {
  eventId: string;
  portalId: string;
  portalReceiver: string;
  loginId: string;
  txnId: string;
  state: PendingSendState;
  remoteMessageId: string | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export type PendingSendInput = Pick<PendingSendRow, 'eventId' | 'portalId' | 'portalReceiver' | 'loginId' | 'txnId'>;

const codec: TableCodec<PendingSendRow> = {
  eventId: ['event_id', 'text'],
  portalId: ['portal_id', 'text'],
  portalReceiver: ['portal_receiver', 'text'],
  loginId: ['login_id', 'text'],
  txnId: ['txn_id', 'text'],
  state: ['state', 'text'],
  remoteMessageId: ['remote_message_id', 'text'],
  error: ['error', 'text'],
  createdAt: ['created_at', 'int'],
  updatedAt: ['updated_at', 'int'],
};

export class PendingSendQueries {
  constructor(private readonly knex: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.knex('pending_sends');
  }

  async get(eventId: string): Promise<PendingSendRow | undefined> {
    return decodeOptional(codec, (await this.table().where({ event_id: eventId }).first()) as RawRow | undefined);
  }

  async getByTxnId(txnId: string): Promise<PendingSendRow | undefined> {
    return decodeOptional(codec, (await this.table().where({ txn_id: txnId }).first()) as RawRow | undefined);
  }

  /**
   * Records a new pending send; false when the event id is already recorded (a redelivery).
   * A txn id reused for a different event is a bug and throws.
   */
  async insert(input: PendingSendInput, nowMs = Date.now()): Promise<boolean> {
    const row: PendingSendRow = {
      ...input, state: 'pending', remoteMessageId: null, error: null, createdAt: nowMs, updatedAt: nowMs,
    };
    const inserted = (await this.table().insert(encodeRow(codec, row)).onConflict('event_id').ignore()
      .returning('event_id')) as unknown[];
    return inserted.length > 0;
  }

  async markSent(eventId: string, remoteMessageId: string | null, nowMs = Date.now()): Promise<boolean> {
    return (await this.table().where({ event_id: eventId })
      .update({ state: 'sent', remote_message_id: remoteMessageId, error: null, updated_at: nowMs })) > 0;
  }

  async markFailed(eventId: string, error: string, nowMs = Date.now()): Promise<boolean> {
    return (await this.table().where({ event_id: eventId }).update({ state: 'failed', error, updated_at: nowMs })) > 0;
  }

  /** Sends still in flight (e.g. interrupted by a restart), oldest first. */
  async listPending(): Promise<PendingSendRow[]> {
    const rows = (await this.table().where({ state: 'pending' }).orderBy(['created_at', 'event_id'])) as RawRow[];
    return rows.map((r) => decodeRow(codec, r));
  }

  async delete(eventId: string): Promise<boolean> {
    return (await this.table().where({ event_id: eventId }).delete()) > 0;
  }
}
