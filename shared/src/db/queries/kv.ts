import type { Knex } from 'knex';

/** Small named bits of bridge state (e.g. the last seen sync token). */
export class KvQueries {
  constructor(private readonly knex: Knex) {}

  async get(key: string): Promise<string | undefined> {
    const row = (await this.knex('kv').where({ key }).first('value')) as { value: string } | undefined;
    return row?.value;
  }

  async set(key: string, value: string): Promise<void> {
    await this.knex('kv').insert({ key, value }).onConflict('key').merge(['value']);
  }

  /** Values of every key starting with `prefix`, in key order. */
  async listPrefix(prefix: string): Promise<string[]> {
    const rows = (await this.knex('kv').where('key', '>=', prefix).andWhere('key', '<', `${prefix}\uffff`).orderBy('key').select('value')) as Array<{ value: string }>;
    return rows.map((r) => r.value);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.knex('kv').where({ key }).delete()) > 0;
  }
}
