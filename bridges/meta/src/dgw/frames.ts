/**
 * DGW binary frame codec.
 *
 * Tributary's framing of the DGW facts; verified only against our emulator (which is built from
 * this module). The facts: a frame starts with a one-byte type; stream ids are uint16; Data frames
 * carry a 15-bit ack id whose top bit says "ack required"; one websocket message may hold several
 * frames back to back. The byte layouts below are ours where the research left room:
 *
 *   type                      layout (little-endian; u24 = 3-byte length of what follows)
 *   Empty 2, Deauth 4,        [type]
 *   Ping 9, Pong 10
 *   Drain 3                   [3][u24 = 1][reason u8]
 *   SmallAck 7                [7][stream u16][ack u16]                       (ours: no length)
 *   Ack 12                    [12][stream u16][u24 = 2][ack u16]
 *   Data 13                   [13][stream u16][u24 = 2 + n][ack u15 | required << 15][payload n]
 *   ExtendedData 17           [17][stream u16][u24 = 3 + n][ack word][content type u8][payload n]
 *   EndOfData 14              [14][stream u16]
 *   EstabStream 15            [15][stream u16][u24 = n][JSON parameters n, or none]
 *   5, 6, 8                   the deprecated framing: recognised and refused
 *
 * The decoder is incremental (a frame may arrive in pieces, several may arrive at once), checks
 * every length against the frame type and a size cap before buffering, and fails with a
 * `DGWFrameError` only. After a failure the byte framing is lost, so the decoder stays failed and
 * the connection must be dropped.
 */
import { DGWFrameError } from './errors.js';

export const DGWFrameType = {
  Empty: 2,
  Drain: 3,
  Deauth: 4,
  DeprecatedEstabStream: 5,
  DeprecatedData: 6,
  SmallAck: 7,
  DeprecatedEndOfData: 8,
  Ping: 9,
  Pong: 10,
  Ack: 12,
  Data: 13,
  EndOfData: 14,
  EstabStream: 15,
  ExtendedData: 17,
} as const;

const DEPRECATED_TYPES = new Set<number>([5, 6, 8]);

export const MAX_STREAM_ID = 0xffff;
/** Data frames carry 15 bits of ack id; the 16th is the ack-required flag. */
export const MAX_DATA_ACK_ID = 0x7fff;
const MAX_U24 = 0xffffff;
/** Default cap on one frame's payload: the u24 length field's own limit. */
export const DEFAULT_MAX_FRAME_PAYLOAD = MAX_U24;

export type DGWFrame =
  | { type: 'empty' }
  | { type: 'drain'; reason: number }
  | { type: 'deauth' }
  | { type: 'small-ack'; streamId: number; ackId: number }
  | { type: 'ping' }
  | { type: 'pong' }
  | { type: 'ack'; streamId: number; ackId: number }
  | {
      type: 'data';
      streamId: number;
      ackId: number;
      requiresAck: boolean;
      payload: Uint8Array;
      /** Present only on the extended form (type 17). */
      contentType?: number;
    }
  | { type: 'end-of-data'; streamId: number }
  /** `parameters` is the JSON text exactly as sent, so frames round-trip byte for byte. */
  | { type: 'establish-stream'; streamId: number; parameters: string };

export type DGWFrameKind = DGWFrame['type'];

// ---------------------------------------------------------------- encoding

function checkUint(value: unknown, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new DGWFrameError('invalid-field', `${what} must be an integer from 0 to ${max}`);
  }
  return value;
}

function header(type: number, streamId: number, length: number): number[] {
  return [type, streamId & 0xff, streamId >> 8, length & 0xff, (length >> 8) & 0xff, length >> 16];
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

function isJSON(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** One frame to bytes. Throws `DGWFrameError('invalid-field')` for a frame that cannot exist. */
export function encodeFrame(frame: DGWFrame): Uint8Array {
  switch (frame.type) {
    case 'empty':
      return Uint8Array.of(DGWFrameType.Empty);
    case 'deauth':
      return Uint8Array.of(DGWFrameType.Deauth);
    case 'ping':
      return Uint8Array.of(DGWFrameType.Ping);
    case 'pong':
      return Uint8Array.of(DGWFrameType.Pong);
    case 'drain':
      return Uint8Array.of(DGWFrameType.Drain, 1, 0, 0, checkUint(frame.reason, 0xff, 'drain reason'));
    case 'small-ack': {
      const s = checkUint(frame.streamId, MAX_STREAM_ID, 'stream id');
      const a = checkUint(frame.ackId, 0xffff, 'ack id');
      return Uint8Array.of(DGWFrameType.SmallAck, s & 0xff, s >> 8, a & 0xff, a >> 8);
    }
    case 'ack': {
      const s = checkUint(frame.streamId, MAX_STREAM_ID, 'stream id');
      const a = checkUint(frame.ackId, 0xffff, 'ack id');
      return Uint8Array.from([...header(DGWFrameType.Ack, s, 2), a & 0xff, a >> 8]);
    }
    case 'end-of-data': {
      const s = checkUint(frame.streamId, MAX_STREAM_ID, 'stream id');
      return Uint8Array.of(DGWFrameType.EndOfData, s & 0xff, s >> 8);
    }
    case 'establish-stream': {
      const s = checkUint(frame.streamId, MAX_STREAM_ID, 'stream id');
      // Empty parameters are allowed: Instagram opens its sync and mqttbypass streams with none (fact).
      if (typeof frame.parameters !== 'string' || (frame.parameters !== '' && !isJSON(frame.parameters))) {
        throw new DGWFrameError('invalid-field', 'stream parameters must be JSON text (or empty)');
      }
      const params = textEncoder.encode(frame.parameters);
      checkUint(params.length, MAX_U24, 'parameters length');
      const out = new Uint8Array(6 + params.length);
      out.set(header(DGWFrameType.EstabStream, s, params.length));
      out.set(params, 6);
      return out;
    }
    case 'data': {
      const s = checkUint(frame.streamId, MAX_STREAM_ID, 'stream id');
      const a = checkUint(frame.ackId, MAX_DATA_ACK_ID, 'data ack id');
      if (!(frame.payload instanceof Uint8Array)) throw new DGWFrameError('invalid-field', 'data payload must be bytes');
      const extended = frame.contentType !== undefined;
      const extra = extended ? 3 : 2;
      checkUint(frame.payload.length + extra, MAX_U24, 'data length');
      const word = a | (frame.requiresAck ? 0x8000 : 0);
      const out = new Uint8Array(6 + extra + frame.payload.length);
      out.set(header(extended ? DGWFrameType.ExtendedData : DGWFrameType.Data, s, frame.payload.length + extra));
      out[6] = word & 0xff;
      out[7] = word >> 8;
      if (extended) out[8] = checkUint(frame.contentType, 0xff, 'content type');
      out.set(frame.payload, 6 + extra);
      return out;
    }
    default: {
      const unknown: { type?: unknown } = frame;
      throw new DGWFrameError('invalid-field', `unknown frame kind ${String(unknown.type)}`);
    }
  }
}

/** Several frames in one websocket message. */
export function encodeFrames(frames: readonly DGWFrame[]): Uint8Array {
  const parts = frames.map(encodeFrame);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------- decoding

type Parsed = { frame: DGWFrame; size: number } | { need: number };

const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
const u24 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);

function frameTypeName(type: number): string {
  const entry = Object.entries(DGWFrameType).find(([, v]) => v === type);
  return entry ? `${entry[0]} (${type})` : String(type);
}

/**
 * Parses the frame at `at`, or says how many bytes it needs in total. Never reads past `b.length`.
 * `offset` is only for error messages.
 */
function parseAt(b: Uint8Array, at: number, maxPayload: number, offset: number): Parsed {
  const avail = b.length - at;
  const type = b[at]!;
  const fail = (code: 'bad-length' | 'bad-json' | 'frame-too-large', msg: string): never => {
    throw new DGWFrameError(code, `${frameTypeName(type)} frame at byte ${offset}: ${msg}`, offset);
  };
  switch (type) {
    case DGWFrameType.Empty:
      return { frame: { type: 'empty' }, size: 1 };
    case DGWFrameType.Deauth:
      return { frame: { type: 'deauth' }, size: 1 };
    case DGWFrameType.Ping:
      return { frame: { type: 'ping' }, size: 1 };
    case DGWFrameType.Pong:
      return { frame: { type: 'pong' }, size: 1 };
    case DGWFrameType.EndOfData:
      if (avail < 3) return { need: 3 };
      return { frame: { type: 'end-of-data', streamId: u16(b, at + 1) }, size: 3 };
    case DGWFrameType.SmallAck:
      if (avail < 5) return { need: 5 };
      return { frame: { type: 'small-ack', streamId: u16(b, at + 1), ackId: u16(b, at + 3) }, size: 5 };
    case DGWFrameType.Drain: {
      if (avail < 4) return { need: 4 };
      const len = u24(b, at + 1);
      if (len !== 1) fail('bad-length', `length ${len}, expected 1`);
      if (avail < 5) return { need: 5 };
      return { frame: { type: 'drain', reason: b[at + 4]! }, size: 5 };
    }
    case DGWFrameType.Ack:
    case DGWFrameType.Data:
    case DGWFrameType.ExtendedData:
    case DGWFrameType.EstabStream: {
      if (avail < 6) return { need: 6 };
      const streamId = u16(b, at + 1);
      const len = u24(b, at + 3);
      const min = type === DGWFrameType.Ack || type === DGWFrameType.Data ? 2 : type === DGWFrameType.ExtendedData ? 3 : 0;
      if (type === DGWFrameType.Ack && len !== 2) fail('bad-length', `length ${len}, expected 2`);
      if (len < min) fail('bad-length', `length ${len}, expected at least ${min}`);
      if (len - min > maxPayload) fail('frame-too-large', `payload of ${len - min} bytes exceeds the ${maxPayload}-byte cap`);
      if (avail < 6 + len) return { need: 6 + len };
      const body = b.subarray(at + 6, at + 6 + len);
      if (type === DGWFrameType.Ack) {
        return { frame: { type: 'ack', streamId, ackId: u16(body, 0) }, size: 8 };
      }
      if (type === DGWFrameType.EstabStream) {
        let parameters = '';
        try {
          parameters = textDecoder.decode(body);
        } catch {
          fail('bad-json', 'parameters are not UTF-8');
        }
        if (parameters !== '' && !isJSON(parameters)) fail('bad-json', 'parameters are not JSON');
        return { frame: { type: 'establish-stream', streamId, parameters }, size: 6 + len };
      }
      const word = u16(body, 0);
      const payload = body.slice(min);
      const frame: DGWFrame = {
        type: 'data',
        streamId,
        ackId: word & MAX_DATA_ACK_ID,
        requiresAck: (word & 0x8000) !== 0,
        payload,
        ...(type === DGWFrameType.ExtendedData ? { contentType: body[2]! } : {}),
      };
      return { frame, size: 6 + len };
    }
    default:
      if (DEPRECATED_TYPES.has(type)) {
        throw new DGWFrameError(
          'deprecated-frame-type',
          `${frameTypeName(type)} frame at byte ${offset} uses the deprecated DGW framing, which this client does not speak`,
          offset,
        );
      }
      throw new DGWFrameError('unknown-frame-type', `unknown DGW frame type ${type} at byte ${offset}`, offset);
  }
}

export interface DGWFrameDecoderOptions {
  /** Largest payload accepted in one frame (bytes); larger declared lengths fail at once. */
  maxPayloadBytes?: number;
}

/**
 * Incremental decoder: `write()` bytes as they arrive, then call `next()` until it returns
 * `undefined` (needs more bytes). `push()` does both and returns the frames.
 */
export class DGWFrameDecoder {
  readonly #maxPayload: number;
  #buf: Uint8Array = new Uint8Array(0);
  #at = 0;
  /** Bytes consumed before `#buf[0]`, so errors can name an absolute offset. */
  #consumed = 0;
  #failed: DGWFrameError | undefined;

  constructor(opts: DGWFrameDecoderOptions = {}) {
    this.#maxPayload = Math.min(opts.maxPayloadBytes ?? DEFAULT_MAX_FRAME_PAYLOAD, DEFAULT_MAX_FRAME_PAYLOAD);
  }

  /** Bytes held that do not yet form a whole frame. */
  get bufferedBytes(): number {
    return this.#buf.length - this.#at;
  }

  get failed(): boolean {
    return this.#failed !== undefined;
  }

  write(chunk: Uint8Array): void {
    this.#throwIfFailed();
    if (chunk.length === 0) return;
    const rest = this.#buf.subarray(this.#at);
    const merged = new Uint8Array(rest.length + chunk.length);
    merged.set(rest);
    merged.set(chunk, rest.length);
    this.#consumed += this.#at;
    this.#buf = merged;
    this.#at = 0;
  }

  /** The next whole frame, or `undefined` when more bytes are needed. */
  next(): DGWFrame | undefined {
    this.#throwIfFailed();
    if (this.#at >= this.#buf.length) return undefined;
    let parsed: Parsed;
    try {
      parsed = parseAt(this.#buf, this.#at, this.#maxPayload, this.#consumed + this.#at);
    } catch (err) {
      this.#failed = err instanceof DGWFrameError ? err : new DGWFrameError('bad-length', 'malformed DGW frame');
      throw this.#failed;
    }
    if ('need' in parsed) return undefined;
    this.#at += parsed.size;
    return parsed.frame;
  }

  /** `write(chunk)` then every whole frame now available. */
  push(chunk: Uint8Array): DGWFrame[] {
    this.write(chunk);
    const frames: DGWFrame[] = [];
    for (let f = this.next(); f; f = this.next()) frames.push(f);
    return frames;
  }

  #throwIfFailed(): void {
    if (this.#failed) {
      throw new DGWFrameError('decoder-failed', `DGW decoder failed earlier (${this.#failed.code}); reconnect`, this.#failed.offset);
    }
  }
}

/** Decodes one complete websocket message; a frame cut short at the end is an error. */
export function decodeFrames(message: Uint8Array, opts: DGWFrameDecoderOptions = {}): DGWFrame[] {
  const decoder = new DGWFrameDecoder(opts);
  const frames = decoder.push(message);
  if (decoder.bufferedBytes > 0) {
    throw new DGWFrameError('truncated', `message ends inside a frame (${decoder.bufferedBytes} bytes left over)`, message.length - decoder.bufferedBytes);
  }
  return frames;
}
