import type { Knex } from 'knex';
import { countOf, decodeOptional, decodeRow, encodeRow, toNumber, type Metadata, type RawRow, type TableCodec } from '../codec.js';
import type { PortalKey } from './portals.js';

/**
 * One bridged message part: a remote message may become several Matrix events (a caption and
 * an image, say), one row each, told apart by partId ('' for the first or only part).
 */
export interface MessageRow {
  rowid: number;
  /** The remote message id. */
  id: string;
  partId: string;
  portalId: string;
  portalReceiver: string;
  /** The Matrix event id. */
  mxid: string;
  roomId: string;
  /** The remote sender id. */
  senderId: string;
  senderMxid: string;
  /** ms since the epoch. */
  timestamp: number;
  editCount: number;
  replyToId: string | null;
  threadRootId: string | null;
  metadata: Metadata;
}

export type MessageInput = Omit<MessageRow, 'rowid' | 'partId' | 'senderMxid' | 'editCount' | 'replyToId' | 'threadRootId' | 'metadata'>
  & Partial<Pick<MessageRow, 'partId' | 'senderMxid' | 'editCount' | 'replyToId' | 'threadRootId' | 'metadata'>>;

export interface ListBetweenOptions {
  /** Only messages strictly newer than this (ms). */
  afterTs?: number;
  /** Only messages strictly older than this (ms). */
  beforeTs?: number;
  limit: number;
}

const codec: TableCodec<MessageRow> = {
  rowid: ['rowid', 'int'],
  id: ['id', 'text'],
  partId: ['part_id', 'text'],
  portalId: ['portal_id', 'text'],
  portalReceiver: ['portal_receiver', 'text'],
  mxid: ['mxid', 'text'],
  roomId: ['room_id', 'text'],
  senderId: ['sender_id', 'text'],
  senderMxid: ['sender_mxid', 'text'],
  timestamp: ['timestamp', 'int'],
  editCount: ['edit_count', 'int'],
  replyToId: ['reply_to_id', 'text'],
  threadRootId: ['thread_root_id', 'text'],
  metadata: ['metadata', 'json'],
};

function portalWhere(key: PortalKey): Record<string, string> {
  return { portal_id: key.id, portal_receiver: key.receiver };
}

function encodeInput(input: MessageInput): RawRow {
  return encodeRow(codec, {
    partId: '', senderMxid: '', editCount: 0, replyToId: null, threadRootId: null, metadata: {}, ...input,
  });
}

export class MessageQueries {
  constructor(private readonly knex: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.knex('messages');
  }

  private many(rows: unknown): MessageRow[] {
    return (rows as RawRow[]).map((r) => decodeRow(codec, r));
  }

  async getPart(key: PortalKey, id: string, partId: string): Promise<MessageRow | undefined> {
    const raw = (await this.table().where({ ...portalWhere(key), id, part_id: partId }).first()) as RawRow | undefined;
    return decodeOptional(codec, raw);
  }

  /** Every part of a remote message, in insertion order. */
  async getAllParts(key: PortalKey, id: string): Promise<MessageRow[]> {
    return this.many(await this.table().where({ ...portalWhere(key), id }).orderBy('rowid'));
  }

  async getByMxid(eventId: string): Promise<MessageRow | undefined> {
    return decodeOptional(codec, (await this.table().where({ mxid: eventId }).first()) as RawRow | undefined);
  }

  /**
   * The newest message of the portal (by timestamp, then insertion order). `fromNetwork` leaves
   * out messages sent from Matrix (those with a `pending_sends` row): the network places them when
   * they arrive, possibly after network messages the bridge has not handled yet, so only a message
   * that came from the network marks how far the network's messages have been bridged.
   */
  async getLast(key: PortalKey, opts: { fromNetwork?: boolean } = {}): Promise<MessageRow | undefined> {
    let q = this.table().where(portalWhere(key));
    if (opts.fromNetwork) {
      q = q.whereNotExists(this.knex('pending_sends').select('event_id').whereRaw('pending_sends.event_id = messages.mxid'));
    }
    const raw = (await q.orderBy([{ column: 'timestamp', order: 'desc' }, { column: 'rowid', order: 'desc' }]).first()) as RawRow | undefined;
    return decodeOptional(codec, raw);
  }

  /** Inserts and returns the new rowid; throws on a duplicate (portal, id, part) or mxid. */
  async insert(input: MessageInput): Promise<number> {
    const rows = (await this.table().insert(encodeInput(input)).returning('rowid')) as Array<{ rowid: unknown }>;
    const first = rows[0];
    if (!first) throw new Error('insert returned no rowid');
    return toNumber(first.rowid);
  }

  /**
   * Inserts unless a row with the same (portal, id, part) or the same mxid exists; true when
   * inserted. ON CONFLICT DO NOTHING without a target covers both unique constraints.
   */
  async insertIfAbsent(input: MessageInput): Promise<boolean> {
    const rows = (await this.table().insert(encodeInput(input)).onConflict().ignore().returning('rowid')) as unknown[];
    return rows.length > 0;
  }

  /** Records an edit of the message whose (first part's) Matrix event is `mxid`. */
  async updateEdit(mxid: string, editCount: number, metadata?: Metadata): Promise<boolean> {
    const data: RawRow = { edit_count: editCount };
    if (metadata !== undefined) data.metadata = JSON.stringify(metadata);
    return (await this.table().where({ mxid }).update(data)) > 0;
  }

  async updateMetadata(mxid: string, metadata: Metadata): Promise<boolean> {
    return (await this.table().where({ mxid }).update({ metadata: JSON.stringify(metadata) })) > 0;
  }

  /** Deletes every part of a remote message (their reactions cascade); returns the count. */
  async deleteAllParts(key: PortalKey, id: string): Promise<number> {
    return this.table().where({ ...portalWhere(key), id }).delete();
  }

  async deleteByMxid(eventId: string): Promise<boolean> {
    return (await this.table().where({ mxid: eventId }).delete()) > 0;
  }

  /**
   * Messages in a time window, returned oldest first. With `afterTs` the window starts just
   * after it and runs forward up to `limit` rows; with only `beforeTs` it takes the `limit`
   * newest rows before it (what backfill paging needs), still returned oldest first.
   */
  async listBetween(key: PortalKey, opts: ListBetweenOptions): Promise<MessageRow[]> {
    const q = this.table().where(portalWhere(key));
    if (opts.afterTs !== undefined) q.where('timestamp', '>', opts.afterTs);
    if (opts.beforeTs !== undefined) q.where('timestamp', '<', opts.beforeTs);
    const newestFirst = opts.afterTs === undefined && opts.beforeTs !== undefined;
    const order = newestFirst ? 'desc' : 'asc';
    q.orderBy([{ column: 'timestamp', order }, { column: 'rowid', order }]).limit(opts.limit);
    const rows = this.many(await q);
    return newestFirst ? rows.reverse() : rows;
  }

  async countInPortal(key: PortalKey): Promise<number> {
    return countOf((await this.table().where(portalWhere(key)).count({ n: '*' }).first()) as RawRow | undefined);
  }
}
