import type { Knex } from 'knex';
import { decodeRow, encodeRow, type RawRow, type TableCodec } from '../codec.js';
import type { DisappearType } from './portals.js';

/** A Matrix event that will be redacted when its disappearing-message timer runs out. */
export interface DisappearingMessageRow {
  mxid: string;
  roomId: string;
  type: DisappearType;
  timerMs: number;
  /** When to redact (ms); null for 'after_read' messages not read yet. */
  disappearAt: number | null;
}

const codec: TableCodec<DisappearingMessageRow> = {
  mxid: ['mxid', 'text'],
  roomId: ['room_id', 'text'],
  type: ['type', 'text'],
  timerMs: ['timer_ms', 'int'],
  disappearAt: ['disappear_at', 'int'],
};

export class DisappearingMessageQueries {
  constructor(private readonly knex: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.knex('disappearing_messages');
  }

  async upsert(row: DisappearingMessageRow): Promise<void> {
    await this.table().insert(encodeRow(codec, row)).onConflict('mxid').merge(['room_id', 'type', 'timer_ms', 'disappear_at']);
  }

  async get(mxid: string): Promise<DisappearingMessageRow | undefined> {
    const raw = (await this.table().where({ mxid }).first()) as RawRow | undefined;
    return raw ? decodeRow(codec, raw) : undefined;
  }

  /** Messages whose time is up, soonest first. */
  async listDue(nowMs: number, limit: number): Promise<DisappearingMessageRow[]> {
    const rows = (await this.table().whereNotNull('disappear_at').where('disappear_at', '<=', nowMs)
      .orderBy(['disappear_at', 'mxid']).limit(limit)) as RawRow[];
    return rows.map((r) => decodeRow(codec, r));
  }

  /** The room was read: starts the clocks of its unread 'after_read' messages; returns how many. */
  async startTimersForRoom(roomId: string, nowMs: number): Promise<number> {
    return this.table().where({ room_id: roomId, type: 'after_read' }).whereNull('disappear_at')
      .update({ disappear_at: this.knex.raw('? + ??', [nowMs, 'timer_ms']) });
  }

  /** The earliest pending deadline, to schedule the next wake-up. */
  async nextDeadline(): Promise<number | undefined> {
    const row = (await this.table().whereNotNull('disappear_at').min({ at: 'disappear_at' }).first()) as RawRow | undefined;
    const at = row?.at;
    return at === null || at === undefined ? undefined : Number(at);
  }

  async delete(mxid: string): Promise<boolean> {
    return (await this.table().where({ mxid }).delete()) > 0;
  }
}
