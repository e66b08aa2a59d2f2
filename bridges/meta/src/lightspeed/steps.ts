/**
 * The LightSpeed step interpreter. A response's payload is `{name, step}` where `step` is a
 * program: nested arrays `[opcode, ...operands]` (opcode numbers are protocol facts), with JSON
 * literals as constants. Running it calls stored procedures, which we collect as typed table rows
 * (tables.ts) instead of writing to a local database; procedures we do not model are counted by
 * name, not fatal.
 *
 * Safety: every step counts against `maxSteps`, nesting against `maxDepth`, arrays and maps
 * against `maxItems`, the input text against `maxChars`; no opcode we run loops. Whatever the
 * input, the interpreter returns or throws an `LSStepError`, and ends in bounded time.
 *
 * Semantics where the facts leave room (ours): truthiness is JS-like over booleans, int64s and
 * numbers (0 and null/undefined are false); an unset variable loads as undefined;
 * STORE_ARRAY is `[4, slot, ...values]` storing the evaluated values as an array; logging steps
 * are skipped without evaluating their operands (they would only reach our logs).
 */
import { buildRow } from './rows.js';
import { tableForProcedure, type LSTables } from './tables.js';
import { LSStepError, type LSValue } from './values.js';

export { LSStepError, type LSStepErrorCode, type LSValue } from './values.js';

export const OP = {
  BLOCK: 1, LOAD: 2, STORE: 3, STORE_ARRAY: 4, CALL_STORED_PROCEDURE: 5, CALL_NATIVE_OPERATION: 7,
  UNDEFINED: 9, INFINITY: 10, NAN: 11, TO_BLOB: 16, I64_OF_FLOAT: 17, I64_TO_FLOAT: 18,
  I64_FROM_STRING: 19, I64_TO_STRING: 20, IF: 23, OR: 24, AND: 25, NOT: 26, IS_NULL: 27,
  GENERIC_EQUAL: 29, I64_EQUAL: 30, GENERIC_NOT_EQUAL: 32, I64_NOT_EQUAL: 33, I64_GREATER_THAN: 36,
  I64_GREATER_THAN_OR_EQUAL: 39, I64_LESS_THAN: 42, I64_LESS_THAN_OR_EQUAL: 45, LOG_CONSOLE: 48,
  LOGGER_LOG: 49, ARRAY_CREATE: 50, ARRAY_APPEND: 51, ARRAY_GET_SIZE: 52, MAP_CREATE: 53,
  MAP_GET: 54, MAP_SET: 55, MAP_HAS: 58, CURRENT_TIME: 60, I64_ADD: 69,
} as const;

/** The protocol's opcode numbers run from 1 to 126, with no 67 (fact). */
const isProtocolOpcode = (n: number) => n >= 1 && n <= 126 && n !== 67;

export interface StepLimits {
  maxDepth: number;
  maxSteps: number;
  maxItems: number;
  maxChars: number;
}

export const DEFAULT_STEP_LIMITS: StepLimits = { maxDepth: 64, maxSteps: 500_000, maxItems: 100_000, maxChars: 32 * 1024 * 1024 };

export interface StepOptions {
  limits?: Partial<StepLimits>;
  /** For NATIVE_OP_CURRENT_TIME. */
  now?: () => number;
}

export interface LSStepResult {
  tables: LSTables;
  /** Stored procedures the program called that we do not model, with call counts. */
  unknownProcedures: Record<string, number>;
  /** Optional columns dropped for their type, named (never their values). */
  warnings: string[];
  steps: number;
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const MAX_SLOTS = 100_000;
const MAX_WARNINGS = 100;

class Interpreter {
  readonly #limits: StepLimits;
  readonly #now: () => number;
  readonly #slots = new Map<number, LSValue>();
  readonly result: LSStepResult = { tables: {}, unknownProcedures: Object.create(null) as Record<string, number>, warnings: [], steps: 0 };

  constructor(opts: StepOptions) {
    this.#limits = { ...DEFAULT_STEP_LIMITS, ...opts.limits };
    this.#now = opts.now ?? Date.now;
  }

  eval(node: unknown, depth: number): LSValue {
    if (++this.result.steps > this.#limits.maxSteps) throw new LSStepError('too-large', `program exceeds ${this.#limits.maxSteps} steps`);
    if (depth > this.#limits.maxDepth) throw new LSStepError('too-deep', `program nests deeper than ${this.#limits.maxDepth}`);
    if (node === null || typeof node === 'boolean' || typeof node === 'number' || typeof node === 'string') return node;
    if (!Array.isArray(node)) throw new LSStepError('malformed', `a step is ${node === undefined ? 'missing' : 'an object'}, not [opcode, ...]`);
    const op: unknown = node[0];
    if (typeof op !== 'number' || !Number.isInteger(op)) throw new LSStepError('malformed', 'a step does not start with an integer opcode');
    const d = depth + 1;
    const arg = (i: number): LSValue => this.eval(this.#operand(node, i, op), d);
    switch (op) {
      case OP.BLOCK:
        for (let i = 1; i < node.length; i++) this.eval(node[i], d);
        return undefined;
      case OP.LOAD:
        return this.#slots.get(this.#slot(node, op));
      case OP.STORE: {
        const slot = this.#slot(node, op);
        this.#slots.set(slot, arg(2));
        return undefined;
      }
      case OP.STORE_ARRAY: {
        const slot = this.#slot(node, op);
        this.#checkItems(node.length - 2);
        this.#slots.set(slot, node.slice(2).map((n) => this.eval(n, d)));
        return undefined;
      }
      case OP.CALL_STORED_PROCEDURE:
        this.#callProcedure(node, d);
        return undefined;
      case OP.CALL_NATIVE_OPERATION:
      case OP.LOG_CONSOLE:
      case OP.LOGGER_LOG:
        return undefined;
      case OP.UNDEFINED:
        return undefined;
      case OP.INFINITY:
        return Infinity;
      case OP.NAN:
        return NaN;
      case OP.TO_BLOB: {
        const b64 = this.#literal(node, 1, 'string', op);
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) throw new LSStepError('bad-type', 'TO_BLOB operand is not base64');
        return new Uint8Array(Buffer.from(b64, 'base64'));
      }
      case OP.I64_OF_FLOAT: {
        const v = arg(1);
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new LSStepError('bad-type', 'I64_OF_FLOAT needs a finite number');
        return BigInt.asIntN(64, BigInt(Math.trunc(v)));
      }
      case OP.I64_TO_FLOAT:
        return Number(this.#i64(arg(1), op));
      case OP.I64_FROM_STRING: {
        const s = this.#literal(node, 1, 'string', op);
        if (!/^-?\d{1,19}$/.test(s) || BigInt(s) < I64_MIN || BigInt(s) > I64_MAX) throw new LSStepError('bad-type', 'I64_FROM_STRING operand is not a 64-bit integer');
        return BigInt(s);
      }
      case OP.I64_TO_STRING:
        return this.#i64(arg(1), op).toString();
      case OP.IF: {
        if (node.length < 3 || node.length > 4) throw new LSStepError('malformed', 'IF takes a condition, a branch and an optional else branch');
        if (truthy(arg(1))) this.eval(node[2], d);
        else if (node.length === 4 && node[3] !== null) this.eval(node[3], d);
        return undefined;
      }
      case OP.OR:
      case OP.AND: {
        if (node.length < 2) throw new LSStepError('malformed', `${op === OP.OR ? 'OR' : 'AND'} needs operands`);
        for (let i = 1; i < node.length; i++) {
          const t = truthy(this.eval(node[i], d));
          if (op === OP.OR ? t : !t) return op === OP.OR;
        }
        return op !== OP.OR;
      }
      case OP.NOT:
        return !truthy(arg(1));
      case OP.IS_NULL: {
        const v = arg(1);
        return v === null || v === undefined;
      }
      case OP.GENERIC_EQUAL:
        return genericEqual(arg(1), arg(2));
      case OP.GENERIC_NOT_EQUAL:
        return !genericEqual(arg(1), arg(2));
      case OP.I64_EQUAL:
      case OP.I64_NOT_EQUAL:
      case OP.I64_GREATER_THAN:
      case OP.I64_GREATER_THAN_OR_EQUAL:
      case OP.I64_LESS_THAN:
      case OP.I64_LESS_THAN_OR_EQUAL: {
        const a = this.#i64(arg(1), op);
        const b = this.#i64(arg(2), op);
        if (op === OP.I64_EQUAL) return a === b;
        if (op === OP.I64_NOT_EQUAL) return a !== b;
        if (op === OP.I64_GREATER_THAN) return a > b;
        if (op === OP.I64_GREATER_THAN_OR_EQUAL) return a >= b;
        if (op === OP.I64_LESS_THAN) return a < b;
        return a <= b;
      }
      case OP.I64_ADD:
        return BigInt.asIntN(64, this.#i64(arg(1), op) + this.#i64(arg(2), op));
      case OP.ARRAY_CREATE:
        return [];
      case OP.ARRAY_APPEND: {
        const list = arg(1);
        if (!Array.isArray(list)) throw new LSStepError('bad-type', 'ARRAY_APPEND needs an array');
        this.#checkItems(list.length + 1);
        list.push(arg(2));
        return list;
      }
      case OP.ARRAY_GET_SIZE: {
        const list = arg(1);
        if (!Array.isArray(list)) throw new LSStepError('bad-type', 'ARRAY_GET_SIZE needs an array');
        return BigInt(list.length);
      }
      case OP.MAP_CREATE:
        return new Map<string, LSValue>();
      case OP.MAP_GET:
      case OP.MAP_HAS:
      case OP.MAP_SET: {
        const map = arg(1);
        if (!(map instanceof Map)) throw new LSStepError('bad-type', 'map operations need a map');
        const key = mapKey(arg(2));
        if (op === OP.MAP_GET) return map.get(key);
        if (op === OP.MAP_HAS) return map.has(key);
        if (!map.has(key)) this.#checkItems(map.size + 1);
        map.set(key, arg(3));
        return undefined;
      }
      case OP.CURRENT_TIME:
        return BigInt(Math.floor(this.#now()));
      default:
        if (isProtocolOpcode(op)) throw new LSStepError('unsupported-opcode', `opcode ${op} is not executed by this client`);
        throw new LSStepError('unknown-opcode', `unknown opcode ${op}`);
    }
  }

  #callProcedure(node: unknown[], depth: number): void {
    const name = this.#literal(node, 1, 'string', OP.CALL_STORED_PROCEDURE);
    if (name.length > 200) throw new LSStepError('malformed', 'stored procedure name is too long');
    this.#checkItems(node.length - 2);
    const args = node.slice(2).map((n) => this.eval(n, depth));
    const table = tableForProcedure(name);
    if (!table) {
      this.result.unknownProcedures[name] = (this.result.unknownProcedures[name] ?? 0) + 1;
      return;
    }
    const row = buildRow(table, args, (message) => {
      if (this.result.warnings.length < MAX_WARNINGS) this.result.warnings.push(message);
    });
    const rows = (this.result.tables[table] ??= []) as unknown[];
    rows.push(row);
  }

  #operand(node: unknown[], i: number, op: number): unknown {
    if (i >= node.length) throw new LSStepError('malformed', `opcode ${op} is missing operand ${i}`);
    return node[i];
  }

  #literal(node: unknown[], i: number, type: 'string', op: number): string {
    const v = this.#operand(node, i, op);
    if (typeof v !== type) throw new LSStepError('malformed', `opcode ${op} needs a literal ${type} as operand ${i}`);
    return v as string;
  }

  #slot(node: unknown[], op: number): number {
    const v = this.#operand(node, 1, op);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= MAX_SLOTS) throw new LSStepError('malformed', `opcode ${op} needs a variable slot from 0 to ${MAX_SLOTS - 1}`);
    return v;
  }

  #i64(v: LSValue, op: number): bigint {
    if (typeof v !== 'bigint') throw new LSStepError('bad-type', `opcode ${op} needs int64 operands`);
    return v;
  }

  #checkItems(n: number): void {
    if (n > this.#limits.maxItems) throw new LSStepError('too-large', `more than ${this.#limits.maxItems} items in one collection`);
  }
}

function truthy(v: LSValue): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  throw new LSStepError('bad-type', 'a condition is not a boolean or a number');
}

function genericEqual(a: LSValue, b: LSValue): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  return a === b;
}

function mapKey(v: LSValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new LSStepError('bad-type', 'a map key is not a string or a number');
}

/** Runs a parsed step program. */
export function runSteps(program: unknown, opts: StepOptions = {}): LSStepResult {
  const interpreter = new Interpreter(opts);
  try {
    interpreter.eval(program, 0);
  } catch (err) {
    if (err instanceof LSStepError) throw err;
    // Only engine limits (a stack overflow) can get here; report them as our own.
    throw new LSStepError('too-deep', 'program could not be evaluated within engine limits');
  }
  return interpreter.result;
}
