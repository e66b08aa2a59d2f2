import type { Knex } from 'knex';
import { columnsOf, decodeOptional, decodeRow, encodeRow, type Metadata, type RawRow, type TableCodec } from '../codec.js';

/** One remote account (WhatsApp number, Meta account) logged in by a Matrix user. */
export interface UserLoginRow {
  /** The remote account id. */
  id: string;
  userMxid: string;
  remoteName: string;
  spaceRoom: string | null;
  metadata: Metadata;
  createdAt: number;
}

/** Short name used by the core. */
export type LoginRow = UserLoginRow;

export type UserLoginInput = Pick<UserLoginRow, 'id' | 'userMxid'> & Partial<Omit<UserLoginRow, 'id' | 'userMxid'>>;

const codec: TableCodec<UserLoginRow> = {
  id: ['id', 'text'],
  userMxid: ['user_mxid', 'text'],
  remoteName: ['remote_name', 'text'],
  spaceRoom: ['space_room', 'text'],
  metadata: ['metadata', 'json'],
  createdAt: ['created_at', 'int'],
};

export class UserLoginQueries {
  constructor(private readonly knex: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.knex('user_logins');
  }

  async get(id: string): Promise<UserLoginRow | undefined> {
    return decodeOptional(codec, (await this.table().where({ id }).first()) as RawRow | undefined);
  }

  async listForUser(userMxid: string): Promise<UserLoginRow[]> {
    const rows = (await this.table().where({ user_mxid: userMxid }).orderBy([{ column: 'created_at' }, { column: 'id' }])) as RawRow[];
    return rows.map((r) => decodeRow(codec, r));
  }

  async listAll(): Promise<UserLoginRow[]> {
    const rows = (await this.table().orderBy([{ column: 'created_at' }, { column: 'id' }])) as RawRow[];
    return rows.map((r) => decodeRow(codec, r));
  }

  /**
   * Inserts or replaces the login (every column; omitted fields take their defaults, except
   * created_at which keeps its first value). The user row must exist (users.getOrCreate).
   */
  async upsert(input: UserLoginInput, nowMs = Date.now()): Promise<void> {
    const row: UserLoginRow = {
      remoteName: '', spaceRoom: null, metadata: {}, createdAt: nowMs, ...input,
    };
    await this.table().insert(encodeRow(codec, row)).onConflict('id').merge(columnsOf(codec, ['id', 'createdAt']));
  }

  async setSpaceRoom(id: string, roomId: string | null): Promise<void> {
    await this.table().where({ id }).update({ space_room: roomId });
  }

  /** Replaces the metadata object. */
  async updateMetadata(id: string, metadata: Metadata): Promise<void> {
    await this.table().where({ id }).update({ metadata: JSON.stringify(metadata) });
  }

  async delete(id: string): Promise<boolean> {
    return (await this.table().where({ id }).delete()) > 0;
  }
}
