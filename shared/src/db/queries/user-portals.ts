import type { Knex } from 'knex';
import { decodeOptional, decodeRow, encodeRow, type RawRow, type TableCodec } from '../codec.js';
import type { PortalKey } from './portals.js';

/** Which logins take part in which portals, and how the portal sits in the user's space. */
export interface UserPortalRow {
  loginId: string;
  portalId: string;
  portalReceiver: string;
  userMxid: string;
  inSpace: boolean;
  /** The login the user prefers for sending in this portal when several could. */
  preferred: boolean;
}

export type UserPortalInput = Pick<UserPortalRow, 'loginId' | 'portalId' | 'portalReceiver' | 'userMxid'>
  & Partial<Pick<UserPortalRow, 'inSpace' | 'preferred'>>;

const codec: TableCodec<UserPortalRow> = {
  loginId: ['login_id', 'text'],
  portalId: ['portal_id', 'text'],
  portalReceiver: ['portal_receiver', 'text'],
  userMxid: ['user_mxid', 'text'],
  inSpace: ['in_space', 'bool'],
  preferred: ['preferred', 'bool'],
};

function pkWhere(loginId: string, key: PortalKey): RawRow {
  return { login_id: loginId, portal_id: key.id, portal_receiver: key.receiver };
}

export class UserPortalQueries {
  constructor(private readonly knex: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.knex('user_portals');
  }

  private many(rows: unknown): UserPortalRow[] {
    return (rows as RawRow[]).map((r) => decodeRow(codec, r));
  }

  /** Inserts or overwrites (omitted flags default to false). Login and portal must exist. */
  async upsert(input: UserPortalInput): Promise<void> {
    const row: UserPortalRow = { inSpace: false, preferred: false, ...input };
    await this.table().insert(encodeRow(codec, row)).onConflict(['login_id', 'portal_id', 'portal_receiver'])
      .merge(['user_mxid', 'in_space', 'preferred']);
  }

  async get(loginId: string, key: PortalKey): Promise<UserPortalRow | undefined> {
    return decodeOptional(codec, (await this.table().where(pkWhere(loginId, key)).first()) as RawRow | undefined);
  }

  async listForLogin(loginId: string): Promise<UserPortalRow[]> {
    return this.many(await this.table().where({ login_id: loginId }).orderBy(['portal_id', 'portal_receiver']));
  }

  async listForPortal(key: PortalKey): Promise<UserPortalRow[]> {
    return this.many(await this.table().where({ portal_id: key.id, portal_receiver: key.receiver }).orderBy('login_id'));
  }

  async setInSpace(loginId: string, key: PortalKey, inSpace: boolean): Promise<boolean> {
    return (await this.table().where(pkWhere(loginId, key)).update({ in_space: inSpace })) > 0;
  }

  async setPreferred(loginId: string, key: PortalKey, preferred: boolean): Promise<boolean> {
    return (await this.table().where(pkWhere(loginId, key)).update({ preferred })) > 0;
  }

  async delete(loginId: string, key: PortalKey): Promise<boolean> {
    return (await this.table().where(pkWhere(loginId, key)).delete()) > 0;
  }
}
