import type { Knex } from 'knex';
import { columnsOf, decodeOptional, decodeRow, encodeRow, type Metadata, type RawRow, type TableCodec } from '../codec.js';
import type { PortalKey } from './portals.js';

/** One reaction by one remote user on one message part. */
export interface ReactionRow {
  portalId: string;
  portalReceiver: string;
  messageId: string;
  partId: string;
  senderId: string;
  /** The network's id for the emoji (some networks allow one reaction per user: then ''). */
  emojiId: string;
  emoji: string;
  /** The Matrix reaction event id. */
  mxid: string;
  timestamp: number;
  metadata: Metadata;
}

export type ReactionInput = Omit<ReactionRow, 'metadata' | 'partId'> & Partial<Pick<ReactionRow, 'metadata' | 'partId'>>;

const codec: TableCodec<ReactionRow> = {
  portalId: ['portal_id', 'text'],
  portalReceiver: ['portal_receiver', 'text'],
  messageId: ['message_id', 'text'],
  partId: ['part_id', 'text'],
  senderId: ['sender_id', 'text'],
  emojiId: ['emoji_id', 'text'],
  emoji: ['emoji', 'text'],
  mxid: ['mxid', 'text'],
  timestamp: ['timestamp', 'int'],
  metadata: ['metadata', 'json'],
};

const PK = ['portal_id', 'portal_receiver', 'message_id', 'part_id', 'sender_id', 'emoji_id'];

function portalWhere(key: PortalKey): Record<string, string> {
  return { portal_id: key.id, portal_receiver: key.receiver };
}

export class ReactionQueries {
  constructor(private readonly knex: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.knex('reactions');
  }

  private many(rows: unknown): ReactionRow[] {
    return (rows as RawRow[]).map((r) => decodeRow(codec, r));
  }

  private pkWhere(key: PortalKey, messageId: string, partId: string, senderId: string, emojiId: string): RawRow {
    return { ...portalWhere(key), message_id: messageId, part_id: partId, sender_id: senderId, emoji_id: emojiId };
  }

  async get(key: PortalKey, messageId: string, partId: string, senderId: string, emojiId: string): Promise<ReactionRow | undefined> {
    const raw = (await this.table().where(this.pkWhere(key, messageId, partId, senderId, emojiId)).first()) as RawRow | undefined;
    return decodeOptional(codec, raw);
  }

  async getByMxid(eventId: string): Promise<ReactionRow | undefined> {
    return decodeOptional(codec, (await this.table().where({ mxid: eventId }).first()) as RawRow | undefined);
  }

  /** All reactions on every part of a message, oldest first. */
  async listForMessage(key: PortalKey, messageId: string): Promise<ReactionRow[]> {
    return this.many(await this.table().where({ ...portalWhere(key), message_id: messageId })
      .orderBy(['timestamp', 'sender_id', 'emoji_id']));
  }

  async listBySender(key: PortalKey, messageId: string, senderId: string): Promise<ReactionRow[]> {
    return this.many(await this.table().where({ ...portalWhere(key), message_id: messageId, sender_id: senderId })
      .orderBy(['timestamp', 'emoji_id']));
  }

  /** Inserts or replaces (emoji, mxid, timestamp, metadata) the reaction. The message part must exist. */
  async upsert(input: ReactionInput): Promise<void> {
    const row: ReactionRow = { partId: '', metadata: {}, ...input };
    await this.table().insert(encodeRow(codec, row)).onConflict(PK)
      .merge(columnsOf(codec, ['portalId', 'portalReceiver', 'messageId', 'partId', 'senderId', 'emojiId']));
  }

  async delete(key: PortalKey, messageId: string, partId: string, senderId: string, emojiId: string): Promise<boolean> {
    return (await this.table().where(this.pkWhere(key, messageId, partId, senderId, emojiId)).delete()) > 0;
  }

  async deleteByMxid(eventId: string): Promise<boolean> {
    return (await this.table().where({ mxid: eventId }).delete()) > 0;
  }
}
