import type { Knex } from 'knex';
import { decodeOptional, decodeRow, type RawRow, type TableCodec } from '../codec.js';

/** A Matrix user who has used the bridge. */
export interface UserRow {
  mxid: string;
  managementRoom: string | null;
  createdAt: number;
}

const codec: TableCodec<UserRow> = {
  mxid: ['mxid', 'text'],
  managementRoom: ['management_room', 'text'],
  createdAt: ['created_at', 'int'],
};

export class UserQueries {
  constructor(private readonly knex: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.knex('users');
  }

  async get(mxid: string): Promise<UserRow | undefined> {
    return decodeOptional(codec, (await this.table().where({ mxid }).first()) as RawRow | undefined);
  }

  /** Returns the user, creating the row first if it does not exist (race-free). */
  async getOrCreate(mxid: string, nowMs = Date.now()): Promise<UserRow> {
    await this.table().insert({ mxid, management_room: null, created_at: nowMs }).onConflict('mxid').ignore();
    const row = await this.get(mxid);
    if (!row) throw new Error(`user ${mxid} vanished right after creation`);
    return row;
  }

  async setManagementRoom(mxid: string, roomId: string | null): Promise<void> {
    await this.table().where({ mxid }).update({ management_room: roomId });
  }

  async getByManagementRoom(roomId: string): Promise<UserRow | undefined> {
    return decodeOptional(codec, (await this.table().where({ management_room: roomId }).first()) as RawRow | undefined);
  }

  async list(): Promise<UserRow[]> {
    return ((await this.table().orderBy('mxid')) as RawRow[]).map((r) => decodeRow(codec, r));
  }

  /** Deletes the user; their logins (and those logins' user_portals rows) go with it. */
  async delete(mxid: string): Promise<boolean> {
    return (await this.table().where({ mxid }).delete()) > 0;
  }
}
