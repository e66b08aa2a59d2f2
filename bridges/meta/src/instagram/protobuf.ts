/**
 * A small protobuf (proto2 wire format) reader and writer: varints, 64-bit integers as bigint,
 * length-delimited fields, and skipping of fields we do not know (fixed32/64 included). Enough
 * for `mdCoreSync.LSResponse` (ls-response.ts) without a dependency. Every malformed input is an
 * `InstagramError('bad-protobuf')` that says where.
 */
import { InstagramError } from './errors.js';

export const WIRE = { varint: 0, fixed64: 1, bytes: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;
export type WireType = (typeof WIRE)[keyof typeof WIRE];

export interface ProtoField {
  field: number;
  wire: WireType;
  /** varint: the value; fixed64/fixed32: the value; bytes: undefined. */
  int: bigint | undefined;
  /** bytes: the content (a view into the input). */
  bytes: Uint8Array | undefined;
}

const fail = (what: string, at: number): never => {
  throw new InstagramError('bad-protobuf', `protobuf: ${what} at byte ${at}`);
};

export class ProtoReader {
  #at = 0;
  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.#at >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    const start = this.#at;
    for (let i = 0; i < 10; i++) {
      if (this.#at >= this.buf.length) fail('truncated varint', start);
      const b = this.buf[this.#at++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    return fail('varint longer than 10 bytes', start);
  }

  #take(n: number, what: string): Uint8Array {
    if (n > this.buf.length - this.#at) fail(`truncated ${what}`, this.#at);
    const out = this.buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  /** The next field, or undefined at the end. Groups (deprecated) are refused. */
  next(): ProtoField | undefined {
    if (this.done) return undefined;
    const at = this.#at;
    const key = this.varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field < 1 || field > 0x1fffffff) fail(`field number ${field}`, at);
    switch (wire) {
      case WIRE.varint:
        return { field, wire, int: this.varint(), bytes: undefined };
      case WIRE.fixed64: {
        const b = this.#take(8, 'fixed64');
        return { field, wire, int: new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true), bytes: undefined };
      }
      case WIRE.fixed32: {
        const b = this.#take(4, 'fixed32');
        return { field, wire, int: BigInt(new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true)), bytes: undefined };
      }
      case WIRE.bytes: {
        const len = this.varint();
        if (len > BigInt(this.buf.length)) fail('length beyond the input', at);
        return { field, wire, int: undefined, bytes: this.#take(Number(len), 'length-delimited field') };
      }
      default:
        return fail(`unsupported wire type ${wire} (field ${field})`, at);
    }
  }
}

/** Reads every field of a message; `onField` returns false for a field it did not expect (skipped). */
export function readMessage(buf: Uint8Array, onField: (f: ProtoField) => void): void {
  const r = new ProtoReader(buf);
  for (let f = r.next(); f; f = r.next()) onField(f);
}

/** Field accessors that check the wire type. */
export const proto = {
  int32(f: ProtoField): number {
    if (f.wire !== WIRE.varint) fail(`field ${f.field} should be a varint`, 0);
    return Number(BigInt.asIntN(32, f.int!));
  },
  int64(f: ProtoField): bigint {
    if (f.wire !== WIRE.varint) fail(`field ${f.field} should be a varint`, 0);
    return BigInt.asIntN(64, f.int!);
  },
  bool(f: ProtoField): boolean {
    if (f.wire !== WIRE.varint) fail(`field ${f.field} should be a varint`, 0);
    return f.int !== 0n;
  },
  bytes(f: ProtoField): Uint8Array {
    if (f.wire !== WIRE.bytes) fail(`field ${f.field} should be length-delimited`, 0);
    return f.bytes!;
  },
  string(f: ProtoField): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(proto.bytes(f));
    } catch (err) {
      if (err instanceof InstagramError) throw err;
      return fail(`field ${f.field} is not UTF-8`, 0);
    }
  },
};

export class ProtoWriter {
  readonly #parts: number[] = [];

  #varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.#parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.#parts.push(Number(x));
  }

  #key(field: number, wire: WireType): void {
    this.#varint((BigInt(field) << 3n) | BigInt(wire));
  }

  /** int32/int64/bool as a varint (negative numbers as 10-byte two's complement, as protobuf does). */
  varint(field: number, v: bigint | number | boolean): this {
    const n = typeof v === 'boolean' ? (v ? 1n : 0n) : BigInt(v);
    if (n < -(2n ** 63n) || n >= 2n ** 64n) throw new InstagramError('invalid-field', `field ${field}: ${n} does not fit 64 bits`);
    this.#key(field, WIRE.varint);
    this.#varint(n);
    return this;
  }

  bytes(field: number, v: Uint8Array | string): this {
    const b = typeof v === 'string' ? new TextEncoder().encode(v) : v;
    this.#key(field, WIRE.bytes);
    this.#varint(BigInt(b.length));
    for (const x of b) this.#parts.push(x);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}
