/**
 * Int64 handling for LightSpeed. Meta ids (threads, users, otids, epoch ids) are 64-bit and many
 * exceed 2^53, so they travel through our code as decimal strings or bigints and are written into
 * JSON as bare numbers by `stringifyLS`, never through a lossy `number`.
 */
import { createHash } from 'node:crypto';
import { MetaError } from '../errors.js';

export type LSRequestErrorCode = 'invalid-input';

export class LSRequestError extends MetaError<LSRequestErrorCode> {
  readonly area = 'ls-request' as const;
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** A decimal int64 (as Meta ids are written), as a bigint; throws `LSRequestError` otherwise. */
export function toI64(value: string | number | bigint, what = 'id'): bigint {
  let big: bigint | undefined;
  if (typeof value === 'bigint') big = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
  else if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) big = BigInt(value);
  if (big === undefined || big < I64_MIN || big > I64_MAX) {
    throw new LSRequestError('invalid-input', `${what} must be a 64-bit integer`);
  }
  return big;
}

/**
 * JSON.stringify for request payloads that also writes bigints as bare integers (the wire form of
 * Meta's int64 fields). Plain data only: anything else (functions, symbols, class instances other
 * than arrays, cycles, nesting deeper than 32) is an `LSRequestError`. Object keys whose value is
 * `undefined` are left out, as JSON.stringify does.
 */
export function stringifyLS(value: unknown): string {
  return writeJSON(value, 0);
}

function writeJSON(value: unknown, depth: number): string {
  if (depth > 32) throw new LSRequestError('invalid-input', 'payload is nested too deeply');
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new LSRequestError('invalid-input', 'payload has a non-finite number');
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : writeJSON(v, depth + 1))).join(',')}]`;
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new LSRequestError('invalid-input', 'payload holds a non-plain object');
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined) parts.push(`${JSON.stringify(k)}:${writeJSON(v, depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new LSRequestError('invalid-input', `payload cannot hold a ${typeof value}`);
  }
}

/**
 * Epoch ids as Meta's web client makes them (fact): the millisecond time shifted left by 22 bits,
 * a per-millisecond counter shifted by 12, and the constant 42.
 */
export function makeEpochId(timeMs: number, counter = 0): bigint {
  return (BigInt(Math.floor(timeMs)) << 22n) | (BigInt(counter & 0x3ff) << 12n) | 42n;
}

/** Hands out epoch ids that never repeat within one process, from an injectable clock. */
export class EpochIdGenerator {
  #lastMs = -1;
  #counter = 0;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  next(): bigint {
    const ms = this.#now();
    if (ms === this.#lastMs) this.#counter++;
    else {
      this.#lastMs = ms;
      this.#counter = 0;
    }
    return makeEpochId(ms, this.#counter);
  }
}

/**
 * Deterministic otid ("offline threading id", the client's send id) for a caller's own id, such
 * as a Matrix event id: the same input gives the same otid, so a retried send is deduplicated by
 * Meta like a browser's resend. It has the shape of a browser otid (time in the high bits, from
 * the caller's timestamp) with 22 bits of SHA-256 of the caller id in the low bits.
 */
export function deriveOtid(callerId: string, timestampMs: number): bigint {
  if (typeof callerId !== 'string' || callerId === '') throw new LSRequestError('invalid-input', 'otid caller id must be a non-empty string');
  if (!Number.isSafeInteger(timestampMs) || timestampMs <= 0) throw new LSRequestError('invalid-input', 'otid timestamp must be positive Unix milliseconds');
  const digest = createHash('sha256').update(callerId).digest();
  const low = BigInt(digest.readUInt32BE(0) & 0x3fffff);
  return (BigInt(timestampMs) << 22n) | low;
}

/** LightSpeed request ids are uint16, never 0; this wraps and skips 0 (fact). */
export class RequestIdCounter {
  #last = 0;
  next(): number {
    this.#last = this.#last >= 0xffff ? 1 : this.#last + 1;
    return this.#last;
  }
}
