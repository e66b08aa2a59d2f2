/**
 * Maps between database rows (snake_case columns, engine-specific value shapes) and the
 * camelCase row objects the rest of the core sees.
 *
 * The two engines disagree on value shapes: SQLite returns booleans as 0/1, PostgreSQL returns
 * `bigint` columns (our millisecond timestamps, bigIncrements ids, count(*)) as strings. JSON
 * columns are stored as text on both so one migration set serves both engines. Each table
 * declares its columns once with a kind, and `decodeRow` / `encodeRow` do the conversions.
 */

/** Free-form, network-specific JSON stored on a core row. */
export type Metadata = Record<string, unknown>;

export type ColumnKind = 'text' | 'int' | 'bool' | 'json';

/** For every field of R: the column name and how its value is converted. */
export type TableCodec<R> = { readonly [K in keyof R]-?: readonly [column: string, kind: ColumnKind] };

/** A raw row as a driver hands it back. */
export type RawRow = Record<string, unknown>;

/** Converts a driver value (number, bigint-as-string, null) to a number; null stays null. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' || typeof value === 'bigint') {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new TypeError(`not a number: ${String(value)}`);
    return n;
  }
  throw new TypeError(`expected a numeric column value, got ${typeof value}`);
}

function decodeValue(kind: ColumnKind, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'text':
      return String(value);
    case 'int':
      return toNumber(value);
    case 'bool':
      return value === true || value === 1 || value === '1' || value === 't' || value === 'true';
    case 'json':
      return typeof value === 'string' ? JSON.parse(value) : value;
  }
}

function encodeValue(kind: ColumnKind, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  switch (kind) {
    case 'json':
      return JSON.stringify(value);
    case 'bool':
      return value ? true : false;
    default:
      return value;
  }
}

export function decodeRow<R>(codec: TableCodec<R>, raw: RawRow): R {
  const out: Record<string, unknown> = {};
  for (const [field, [column, kind]] of Object.entries(codec) as Array<[string, readonly [string, ColumnKind]]>) {
    out[field] = decodeValue(kind, raw[column]);
  }
  return out as R;
}

export function decodeOptional<R>(codec: TableCodec<R>, raw: RawRow | undefined): R | undefined {
  return raw === undefined ? undefined : decodeRow(codec, raw);
}

/**
 * Encodes the fields present in `row` (undefined fields are left out, so partial updates only
 * touch what they name). Keys not in the codec are rejected rather than silently dropped.
 */
export function encodeRow<R>(codec: TableCodec<R>, row: Partial<R>): RawRow {
  const out: RawRow = {};
  for (const [field, value] of Object.entries(row)) {
    if (value === undefined) continue;
    const spec = (codec as Record<string, readonly [string, ColumnKind] | undefined>)[field];
    if (!spec) throw new Error(`unknown field ${field}`);
    out[spec[0]] = encodeValue(spec[1], value);
  }
  return out;
}

/** The column names of a codec, optionally without some fields (for ON CONFLICT ... MERGE lists). */
export function columnsOf<R>(codec: TableCodec<R>, except: ReadonlyArray<keyof R> = []): string[] {
  return (Object.entries(codec) as Array<[string, readonly [string, ColumnKind]]>)
    .filter(([field]) => !except.includes(field as keyof R))
    .map(([, [column]]) => column);
}

/** Reads a count(*) result, which PostgreSQL returns as a bigint string. */
export function countOf(raw: RawRow | undefined): number {
  if (!raw) return 0;
  const value = Object.values(raw)[0];
  return value === undefined || value === null ? 0 : toNumber(value);
}
