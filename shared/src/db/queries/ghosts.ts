import type { Knex } from 'knex';
import { columnsOf, decodeOptional, decodeRow, encodeRow, type Metadata, type RawRow, type TableCodec } from '../codec.js';

/** A remote user, puppeted on Matrix by a ghost account. */
export interface GhostRow {
  /** The remote user id. */
  id: string;
  name: string | null;
  avatarId: string | null;
  avatarMxc: string | null;
  nameSet: boolean;
  avatarSet: boolean;
  isBot: boolean;
  /** Other handles of the same person (phone number, username), as URIs such as `tel:+15551234`. */
  identifiers: string[];
  metadata: Metadata;
  updatedAt: number;
}

export type GhostInput = Pick<GhostRow, 'id'> & Partial<Omit<GhostRow, 'id'>>;
export type GhostUpdate = Partial<Omit<GhostRow, 'id'>>;

const codec: TableCodec<GhostRow> = {
  id: ['id', 'text'],
  name: ['name', 'text'],
  avatarId: ['avatar_id', 'text'],
  avatarMxc: ['avatar_mxc', 'text'],
  nameSet: ['name_set', 'bool'],
  avatarSet: ['avatar_set', 'bool'],
  isBot: ['is_bot', 'bool'],
  identifiers: ['identifiers', 'json'],
  metadata: ['metadata', 'json'],
  updatedAt: ['updated_at', 'int'],
};

export class GhostQueries {
  constructor(private readonly knex: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.knex('ghosts');
  }

  async get(id: string): Promise<GhostRow | undefined> {
    return decodeOptional(codec, (await this.table().where({ id }).first()) as RawRow | undefined);
  }

  async getMany(ids: readonly string[]): Promise<GhostRow[]> {
    if (ids.length === 0) return [];
    return ((await this.table().whereIn('id', ids as string[]).orderBy('id')) as RawRow[]).map((r) => decodeRow(codec, r));
  }

  /** Inserts or overwrites every column (omitted fields take their defaults; updatedAt defaults to now). */
  async upsert(input: GhostInput, nowMs = Date.now()): Promise<void> {
    const row: GhostRow = {
      name: null, avatarId: null, avatarMxc: null, nameSet: false, avatarSet: false, isBot: false,
      identifiers: [], metadata: {}, updatedAt: nowMs, ...input,
    };
    await this.table().insert(encodeRow(codec, row)).onConflict('id').merge(columnsOf(codec, ['id']));
  }

  /** Updates the given fields (and updatedAt, unless given); false when the ghost does not exist. */
  async update(id: string, changes: GhostUpdate, nowMs = Date.now()): Promise<boolean> {
    const { id: _id, ...rest } = changes as Partial<GhostRow>;
    const data = encodeRow(codec, { updatedAt: nowMs, ...rest });
    return (await this.table().where({ id }).update(data)) > 0;
  }

  async list(): Promise<GhostRow[]> {
    return ((await this.table().orderBy('id')) as RawRow[]).map((r) => decodeRow(codec, r));
  }

  async delete(id: string): Promise<boolean> {
    return (await this.table().where({ id }).delete()) > 0;
  }
}
