/** Turning a stored procedure's evaluated arguments into a typed row (see tables.ts). */
import { LSStepError, type LSValue } from './values.js';
import { TABLES, type ColumnKind, type LSRow, type LSTableName } from './tables.js';

/** Converts one argument to a column's kind, or returns undefined when it cannot be. */
function convert(value: LSValue, kind: ColumnKind): string | number | boolean | undefined {
  switch (kind) {
    case 'i64':
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
      if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) return value;
      return undefined;
    case 'int':
      if (typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      return undefined;
    case 'str':
      return typeof value === 'string' ? value : undefined;
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 0n || value === 1n || value === 0 || value === 1) return value === 1n || value === 1;
      return undefined;
  }
}

/**
 * Builds the row of `table` from positional arguments. A required column that is missing or of
 * the wrong kind throws `LSStepError('bad-row')`; an optional one of the wrong kind is dropped
 * and reported through `warn`.
 */
export function buildRow<T extends LSTableName>(table: T, args: readonly LSValue[], warn: (message: string) => void): LSRow<T> {
  const row: Record<string, string | number | boolean> = {};
  for (const [name, column] of Object.entries(TABLES[table].columns)) {
    const raw = args[column.index];
    if (raw === undefined || raw === null) {
      if (column.required) throw new LSStepError('bad-row', `${table}: required column ${name} (argument ${column.index}) is missing`);
      continue;
    }
    const value = convert(raw, column.kind);
    if (value === undefined) {
      const message = `${table}: column ${name} (argument ${column.index}) is not ${column.kind === 'i64' ? 'an int64' : `a ${column.kind}`}`;
      if (column.required) throw new LSStepError('bad-row', message);
      warn(message);
      continue;
    }
    row[name] = value;
  }
  return row as LSRow<T>;
}
