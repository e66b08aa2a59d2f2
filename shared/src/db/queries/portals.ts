import type { Knex } from 'knex';
import { columnsOf, countOf, decodeOptional, decodeRow, encodeRow, type Metadata, type RawRow, type TableCodec } from '../codec.js';

/** Identifies a portal: the remote chat id, and the login that sees it ('' when shared by all). */
export interface PortalKey {
  id: string;
  receiver: string;
}

export type RoomType = 'dm' | 'group' | 'space';
export type DisappearType = 'after_read' | 'after_send';

export interface PortalRow extends PortalKey {
  /** The Matrix room id, null until the room is created. */
  mxid: string | null;
  roomType: RoomType;
  name: string | null;
  topic: string | null;
  avatarId: string | null;
  avatarMxc: string | null;
  nameSet: boolean;
  topicSet: boolean;
  avatarSet: boolean;
  encrypted: boolean;
  relayLoginId: string | null;
  /** The remote user on the other side of a DM. */
  otherUserId: string | null;
  parentId: string | null;
  disappearType: DisappearType | null;
  disappearTimerMs: number | null;
  metadata: Metadata;
  createdAt: number;
}

export type PortalInput = PortalKey & Pick<PortalRow, 'roomType'> & Partial<Omit<PortalRow, 'id' | 'receiver' | 'roomType'>>;
export type PortalUpdate = Partial<Omit<PortalRow, 'id' | 'receiver' | 'createdAt'>>;

const codec: TableCodec<PortalRow> = {
  id: ['id', 'text'],
  receiver: ['receiver', 'text'],
  mxid: ['mxid', 'text'],
  roomType: ['room_type', 'text'],
  name: ['name', 'text'],
  topic: ['topic', 'text'],
  avatarId: ['avatar_id', 'text'],
  avatarMxc: ['avatar_mxc', 'text'],
  nameSet: ['name_set', 'bool'],
  topicSet: ['topic_set', 'bool'],
  avatarSet: ['avatar_set', 'bool'],
  encrypted: ['encrypted', 'bool'],
  relayLoginId: ['relay_login_id', 'text'],
  otherUserId: ['other_user_id', 'text'],
  parentId: ['parent_id', 'text'],
  disappearType: ['disappear_type', 'text'],
  disappearTimerMs: ['disappear_timer_ms', 'int'],
  metadata: ['metadata', 'json'],
  createdAt: ['created_at', 'int'],
};

function keyWhere(key: PortalKey): Record<string, string> {
  return { id: key.id, receiver: key.receiver };
}

export class PortalQueries {
  constructor(private readonly knex: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.knex('portals');
  }

  private many(rows: unknown): PortalRow[] {
    return (rows as RawRow[]).map((r) => decodeRow(codec, r));
  }

  async get(key: PortalKey): Promise<PortalRow | undefined> {
    return decodeOptional(codec, (await this.table().where(keyWhere(key)).first()) as RawRow | undefined);
  }

  async getByMxid(roomId: string): Promise<PortalRow | undefined> {
    return decodeOptional(codec, (await this.table().where({ mxid: roomId }).first()) as RawRow | undefined);
  }

  /**
   * Inserts the portal or overwrites every column of the existing row (omitted fields take
   * their defaults; created_at keeps its first value).
   */
  async upsert(input: PortalInput, nowMs = Date.now()): Promise<void> {
    const row: PortalRow = {
      mxid: null, name: null, topic: null, avatarId: null, avatarMxc: null,
      nameSet: false, topicSet: false, avatarSet: false, encrypted: false,
      relayLoginId: null, otherUserId: null, parentId: null, disappearType: null, disappearTimerMs: null,
      metadata: {}, createdAt: nowMs, ...input,
    };
    await this.table().insert(encodeRow(codec, row)).onConflict(['id', 'receiver'])
      .merge(columnsOf(codec, ['id', 'receiver', 'createdAt']));
  }

  /** Updates only the given fields; returns false when the portal does not exist. */
  async update(key: PortalKey, changes: PortalUpdate): Promise<boolean> {
    // The key and creation time never change through update(), even if a caller passes a whole row.
    const { id: _id, receiver: _receiver, createdAt: _createdAt, ...rest } = changes as Partial<PortalRow>;
    const data = encodeRow(codec, rest);
    if (Object.keys(data).length === 0) return (await this.get(key)) !== undefined;
    return (await this.table().where(keyWhere(key)).update(data)) > 0;
  }

  async setMxid(key: PortalKey, roomId: string | null): Promise<boolean> {
    return (await this.table().where(keyWhere(key)).update({ mxid: roomId })) > 0;
  }

  /** Every portal that has a Matrix room. */
  async listWithRooms(): Promise<PortalRow[]> {
    return this.many(await this.table().whereNotNull('mxid').orderBy(['id', 'receiver']));
  }

  async listAll(): Promise<PortalRow[]> {
    return this.many(await this.table().orderBy(['id', 'receiver']));
  }

  /** Children of a space-like portal (any receiver). */
  async listByParent(parentId: string): Promise<PortalRow[]> {
    return this.many(await this.table().where({ parent_id: parentId }).orderBy(['id', 'receiver']));
  }

  /** The DM portals with one remote user, e.g. to find the chat for "start-chat". */
  async listByOtherUser(otherUserId: string): Promise<PortalRow[]> {
    return this.many(await this.table().where({ other_user_id: otherUserId }).orderBy(['id', 'receiver']));
  }

  /** Deletes the portal; its messages, reactions, pending sends and user_portals rows go with it. */
  async delete(key: PortalKey): Promise<boolean> {
    return (await this.table().where(keyWhere(key)).delete()) > 0;
  }

  async count(): Promise<number> {
    return countOf((await this.table().count({ n: '*' }).first()) as RawRow | undefined);
  }
}
