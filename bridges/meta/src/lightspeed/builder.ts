/**
 * The inverse of the step interpreter: typed rows to a LightSpeed step program and a response
 * envelope. The emulator answers and pushes with it; tests build fixtures with it. Each row
 * becomes one `CALL_STORED_PROCEDURE` with the columns at their argument positions (tables.ts),
 * int64 columns as `I64_FROM_STRING` (exact beyond 2^53), gaps as null.
 */
import { OP } from './steps.js';
import { TABLES, type LSRow, type LSTableName } from './tables.js';

export class LSProgramBuilder {
  readonly #steps: unknown[] = [];
  readonly #procedures = new Set<string>();

  /** Appends a call of `table`'s stored procedure with `row`'s values. */
  call<T extends LSTableName>(table: T, row: LSRow<T>): this {
    const columns = TABLES[table].columns as Record<string, { index: number; kind: string }>;
    const values = row as Record<string, string | number | boolean | undefined>;
    const width = Math.max(...Object.values(columns).map((c) => c.index)) + 1;
    const args: unknown[] = new Array<unknown>(width).fill(null);
    for (const [name, column] of Object.entries(columns)) {
      const v = values[name];
      if (v === undefined) continue;
      args[column.index] = column.kind === 'i64' ? [OP.I64_FROM_STRING, String(v)] : v;
    }
    const sp = TABLES[table].sp;
    this.#procedures.add(sp);
    this.#steps.push([OP.CALL_STORED_PROCEDURE, sp, ...args]);
    return this;
  }

  /** Calls of rows of one table, in order. */
  callAll<T extends LSTableName>(table: T, rows: ReadonlyArray<LSRow<T>>): this {
    for (const row of rows) this.call(table, row);
    return this;
  }

  get size(): number {
    return this.#steps.length;
  }

  /** The stored procedures used, for the response's `sp` list. */
  procedures(): string[] {
    return [...this.#procedures];
  }

  /** The program: one BLOCK of every call. */
  build(): unknown[] {
    return [OP.BLOCK, ...this.#steps];
  }
}

export interface LSResponseInput {
  /** The request answered; 0 (or absent) for a push. */
  requestId?: number;
  name?: string | null;
  program: LSProgramBuilder;
  target?: number;
}

/** A response envelope `{request_id, payload, sp, target}` as JSON text. */
export function buildLSResponse(input: LSResponseInput): string {
  const payload = JSON.stringify({ ...(input.name ? { name: input.name } : {}), step: input.program.build() });
  return JSON.stringify({ request_id: input.requestId ?? 0, payload, sp: input.program.procedures(), target: input.target ?? 1 });
}
