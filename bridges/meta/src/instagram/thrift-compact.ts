/**
 * The Thrift compact protocol (the variant mautrix-meta's instameow uses for `/ws/mqttbypass` and
 * `/ws/streamcontroller`; the encoding itself is Apache Thrift's published spec), as a generic
 * value model: a struct is a map of field id to typed value. mqttbypass.ts and requeststream.ts
 * give the structs their names. Malformed input is an `InstagramError('bad-thrift')`.
 *
 * Wire facts: a field header is one byte `(id delta << 4) | type` when the id grows by 1..15, else
 * the type byte and the id as a zigzag varint; booleans live in the header's type nibble; integers
 * are zigzag varints; binary and strings are a varint length and bytes; a list header is
 * `(size << 4) | element type` below 15 elements, else `0xF0 | type` and a varint size; 0 stops a
 * struct.
 */
import { InstagramError } from './errors.js';

export const TTYPE = { boolTrue: 1, boolFalse: 2, byte: 3, i16: 4, i32: 5, i64: 6, double: 7, binary: 8, list: 9, set: 10, map: 11, struct: 12 } as const;

export type TValue =
  | { t: 'bool'; v: boolean }
  | { t: 'byte'; v: number }
  | { t: 'i16'; v: number }
  | { t: 'i32'; v: number }
  | { t: 'i64'; v: bigint }
  | { t: 'double'; v: number }
  | { t: 'binary'; v: Uint8Array }
  | { t: 'list'; elem: TElemType; v: TValue[] }
  | { t: 'struct'; v: TStruct };
export type TElemType = TValue['t'];
/** Field id -> value. */
export type TStruct = Map<number, TValue>;

const MAX_DEPTH = 32;
const TYPE_OF: Record<TElemType, number> = {
  bool: TTYPE.boolTrue, byte: TTYPE.byte, i16: TTYPE.i16, i32: TTYPE.i32, i64: TTYPE.i64, double: TTYPE.double, binary: TTYPE.binary, list: TTYPE.list, struct: TTYPE.struct,
};
const KIND_OF = new Map<number, TElemType>([
  [TTYPE.boolTrue, 'bool'], [TTYPE.boolFalse, 'bool'], [TTYPE.byte, 'byte'], [TTYPE.i16, 'i16'], [TTYPE.i32, 'i32'], [TTYPE.i64, 'i64'],
  [TTYPE.double, 'double'], [TTYPE.binary, 'binary'], [TTYPE.list, 'list'], [TTYPE.set, 'list'], [TTYPE.struct, 'struct'],
]);

const bad = (what: string): never => {
  throw new InstagramError('bad-thrift', `thrift: ${what}`);
};

// ------------------------------------------------------------------------------------- writing

class Out {
  readonly bytes: number[] = [];
  varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.bytes.push(Number(x));
  }
  zigzag(v: bigint, bits: 16 | 32 | 64): void {
    if (v < -(2n ** BigInt(bits - 1)) || v >= 2n ** BigInt(bits - 1)) throw new InstagramError('invalid-field', `thrift: ${v} does not fit i${bits}`);
    this.varint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }
}

function writeValue(out: Out, value: TValue): void {
  switch (value.t) {
    case 'bool': out.bytes.push(value.v ? TTYPE.boolTrue : TTYPE.boolFalse); return;
    case 'byte': out.bytes.push(value.v & 0xff); return;
    case 'i16': out.zigzag(BigInt(value.v), 16); return;
    case 'i32': out.zigzag(BigInt(value.v), 32); return;
    case 'i64': out.zigzag(value.v, 64); return;
    case 'double': {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, value.v, true);
      out.bytes.push(...b);
      return;
    }
    case 'binary':
      out.varint(BigInt(value.v.length));
      for (const x of value.v) out.bytes.push(x);
      return;
    case 'list': {
      const n = value.v.length;
      if (n < 15) out.bytes.push((n << 4) | TYPE_OF[value.elem]);
      else {
        out.bytes.push(0xf0 | TYPE_OF[value.elem]);
        out.varint(BigInt(n));
      }
      for (const item of value.v) {
        if (item.t !== value.elem) throw new InstagramError('invalid-field', `thrift: a list<${value.elem}> holds a ${item.t}`);
        writeValue(out, item);
      }
      return;
    }
    case 'struct':
      writeStruct(out, value.v);
      return;
  }
}

function writeStruct(out: Out, s: TStruct): void {
  let last = 0;
  for (const id of [...s.keys()].sort((a, b) => a - b)) {
    const value = s.get(id)!;
    if (id < 1 || id > 0x7fff) throw new InstagramError('invalid-field', `thrift: field id ${id}`);
    const type = value.t === 'bool' ? (value.v ? TTYPE.boolTrue : TTYPE.boolFalse) : TYPE_OF[value.t];
    const delta = id - last;
    if (delta > 0 && delta <= 15) out.bytes.push((delta << 4) | type);
    else {
      out.bytes.push(type);
      out.zigzag(BigInt(id), 16);
    }
    if (value.t !== 'bool') writeValue(out, value);
    last = id;
  }
  out.bytes.push(0);
}

export function encodeStruct(s: TStruct): Uint8Array {
  const out = new Out();
  writeStruct(out, s);
  return Uint8Array.from(out.bytes);
}

// ------------------------------------------------------------------------------------- reading

class In {
  at = 0;
  constructor(readonly b: Uint8Array) {}
  byte(): number {
    if (this.at >= this.b.length) bad(`truncated input at byte ${this.at}`);
    return this.b[this.at++]!;
  }
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const x = this.byte();
      result |= BigInt(x & 0x7f) << shift;
      if ((x & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    return bad('varint longer than 10 bytes');
  }
  zigzag(): bigint {
    const u = this.varint();
    return (u & 1n) === 0n ? u >> 1n : -((u >> 1n) + 1n);
  }
  take(n: number): Uint8Array {
    if (n > this.b.length - this.at) bad(`truncated: ${n} bytes wanted at byte ${this.at}`);
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}

function readValue(input: In, type: number, depth: number): TValue {
  if (depth > MAX_DEPTH) bad('nesting deeper than 32');
  switch (type) {
    case TTYPE.boolTrue:
    case TTYPE.boolFalse: {
      // A bool outside a field header (a list element) is one byte: 1 true, 2 false (0 also false).
      const b = input.byte();
      return { t: 'bool', v: b === TTYPE.boolTrue };
    }
    case TTYPE.byte: return { t: 'byte', v: input.byte() };
    case TTYPE.i16: return { t: 'i16', v: Number(BigInt.asIntN(16, input.zigzag())) };
    case TTYPE.i32: return { t: 'i32', v: Number(BigInt.asIntN(32, input.zigzag())) };
    case TTYPE.i64: return { t: 'i64', v: BigInt.asIntN(64, input.zigzag()) };
    case TTYPE.double: {
      const b = input.take(8);
      return { t: 'double', v: new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true) };
    }
    case TTYPE.binary: {
      const n = input.varint();
      if (n > BigInt(input.b.length)) bad('binary length beyond the input');
      return { t: 'binary', v: input.take(Number(n)) };
    }
    case TTYPE.list:
    case TTYPE.set: {
      const head = input.byte();
      let size = BigInt(head >> 4);
      if (size === 15n) size = input.varint();
      if (size > BigInt(input.b.length - input.at)) bad('list size beyond the input');
      const elemType = head & 0x0f;
      const elem = KIND_OF.get(elemType) ?? bad(`unknown list element type ${elemType}`);
      const v: TValue[] = [];
      for (let i = 0n; i < size; i++) v.push(readValue(input, elemType, depth + 1));
      return { t: 'list', elem, v };
    }
    case TTYPE.struct: return { t: 'struct', v: readStruct(input, depth + 1) };
    case TTYPE.map: return bad('maps are not used by these structs');
    default: return bad(`unknown type ${type}`);
  }
}

function readStruct(input: In, depth: number): TStruct {
  const s: TStruct = new Map();
  let last = 0;
  for (;;) {
    const head = input.byte();
    if (head === 0) return s;
    const type = head & 0x0f;
    const delta = head >> 4;
    const id = delta === 0 ? Number(input.zigzag()) : last + delta;
    if (id < 1 || id > 0x7fff) bad(`field id ${id}`);
    if (type === TTYPE.boolTrue || type === TTYPE.boolFalse) s.set(id, { t: 'bool', v: type === TTYPE.boolTrue });
    else s.set(id, readValue(input, type, depth));
    last = id;
  }
}

/** Decodes one struct that must fill `bytes` exactly. */
export function decodeStruct(bytes: Uint8Array): TStruct {
  const input = new In(bytes);
  const s = readStruct(input, 0);
  if (input.at !== bytes.length) bad(`${bytes.length - input.at} bytes after the struct`);
  return s;
}

// ------------------------------------------------------------------------------------- helpers

export const tv = {
  bool: (v: boolean): TValue => ({ t: 'bool', v }),
  i32: (v: number): TValue => ({ t: 'i32', v }),
  i64: (v: bigint | number): TValue => ({ t: 'i64', v: BigInt(v) }),
  binary: (v: Uint8Array | string): TValue => ({ t: 'binary', v: typeof v === 'string' ? new TextEncoder().encode(v) : v }),
  strings: (v: readonly string[]): TValue => ({ t: 'list', elem: 'binary', v: v.map((s) => tv.binary(s)) }),
  struct: (fields: Array<[number, TValue | undefined]>): TValue => ({ t: 'struct', v: struct(fields) }),
};

/** A struct from [id, value] pairs; undefined values (absent optionals) are left out. */
export function struct(fields: Array<[number, TValue | undefined]>): TStruct {
  const s: TStruct = new Map();
  for (const [id, v] of fields) if (v !== undefined) s.set(id, v);
  return s;
}

/** Typed field getters: undefined when absent, an error when present with another type. */
export const field = {
  get<T extends TElemType>(s: TStruct, id: number, t: T, where: string): Extract<TValue, { t: T }> | undefined {
    const v = s.get(id);
    if (v === undefined) return undefined;
    if (v.t !== t) bad(`${where}: field ${id} is ${v.t}, expected ${t}`);
    return v as Extract<TValue, { t: T }>;
  },
  string(s: TStruct, id: number, where: string): string | undefined {
    const v = field.get(s, id, 'binary', where);
    if (!v) return undefined;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(v.v);
    } catch {
      return bad(`${where}: field ${id} is not UTF-8`);
    }
  },
  /** The one set field of a union: its id and value. */
  union(s: TStruct, where: string): [number, TValue] {
    if (s.size !== 1) bad(`${where}: a union with ${s.size} fields set`);
    return [...s.entries()][0]!;
  },
};
