import assert from 'node:assert/strict';
import {
  DGWFrameDecoder,
  DGWFrameType,
  decodeFrames,
  encodeFrame,
  encodeFrames,
  type DGWFrame,
} from '../../bridges/meta/src/dgw/frames.js';
import { DGWFrameError } from '../../bridges/meta/src/dgw/errors.js';
import { DGW_CLOSE_CODES, describeDGWClose, drainReasonName } from '../../bridges/meta/src/dgw/close-codes.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const text = (s: string) => new TextEncoder().encode(s);

/** One frame of every kind, with the exact bytes of our layout. */
const fixtures: Array<{ frame: DGWFrame; wire: Uint8Array }> = [
  { frame: { type: 'empty' }, wire: bytes(2) },
  { frame: { type: 'drain', reason: 3 }, wire: bytes(3, 1, 0, 0, 3) },
  { frame: { type: 'deauth' }, wire: bytes(4) },
  { frame: { type: 'small-ack', streamId: 0x0102, ackId: 7 }, wire: bytes(7, 2, 1, 7, 0) },
  { frame: { type: 'ping' }, wire: bytes(9) },
  { frame: { type: 'pong' }, wire: bytes(10) },
  { frame: { type: 'ack', streamId: 5, ackId: 0x1234 }, wire: bytes(12, 5, 0, 2, 0, 0, 0x34, 0x12) },
  {
    frame: { type: 'data', streamId: 0xfffe, ackId: 0x7fff, requiresAck: true, payload: text('hi') },
    wire: bytes(13, 0xfe, 0xff, 4, 0, 0, 0xff, 0xff, 0x68, 0x69),
  },
  {
    frame: { type: 'data', streamId: 1, ackId: 3, requiresAck: false, payload: new Uint8Array(0) },
    wire: bytes(13, 1, 0, 2, 0, 0, 3, 0),
  },
  {
    frame: { type: 'data', streamId: 1, ackId: 0, requiresAck: true, payload: text('x'), contentType: 9 },
    wire: bytes(17, 1, 0, 4, 0, 0, 0, 0x80, 9, 0x78),
  },
  { frame: { type: 'end-of-data', streamId: 258 }, wire: bytes(14, 2, 1) },
  { frame: { type: 'establish-stream', streamId: 3, parameters: '{}' }, wire: bytes(15, 3, 0, 2, 0, 0, 0x7b, 0x7d) },
];

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DGWFrameError, `expected DGWFrameError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a DGWFrameError');
}

describe('meta DGW frames', () => {
  describe('round trip', () => {
    for (const { frame, wire } of fixtures) {
      const variant = frame.type === 'data' ? ` (${frame.contentType !== undefined ? 'extended, ' : ''}${frame.payload.length} bytes, ack ${frame.requiresAck ? 'required' : 'not required'})` : '';
      it(`${frame.type}${variant} encodes to our layout and decodes back`, () => {
        assert.deepEqual([...encodeFrame(frame)], [...wire]);
        assert.deepEqual(decodeFrames(wire), [frame]);
      });
    }

    it('a large payload keeps its 24-bit length', () => {
      const payload = new Uint8Array(70_000).fill(0xab);
      const wire = encodeFrame({ type: 'data', streamId: 9, ackId: 1, requiresAck: false, payload });
      assert.deepEqual([...wire.subarray(3, 6)], [(70_002 & 0xff), (70_002 >> 8) & 0xff, 70_002 >> 16]);
      const [frame] = decodeFrames(wire);
      assert.ok(frame?.type === 'data');
      assert.equal(frame.payload.length, 70_000);
    });
  });

  describe('incremental decoding', () => {
    const all = encodeFrames(fixtures.map((f) => f.frame));

    it('decodes every frame of one concatenated message in order', () => {
      assert.deepEqual(decodeFrames(all), fixtures.map((f) => f.frame));
    });

    it('decodes the same frames when fed one byte at a time', () => {
      const decoder = new DGWFrameDecoder();
      const got: DGWFrame[] = [];
      for (const b of all) got.push(...decoder.push(bytes(b)));
      assert.deepEqual(got, fixtures.map((f) => f.frame));
      assert.equal(decoder.bufferedBytes, 0);
    });

    it('holds a partial frame until its last byte arrives', () => {
      const wire = fixtures[7]!.wire;
      const decoder = new DGWFrameDecoder();
      assert.deepEqual(decoder.push(wire.subarray(0, 5)), []);
      assert.deepEqual(decoder.push(wire.subarray(5, wire.length - 1)), []);
      assert.equal(decoder.bufferedBytes, wire.length - 1);
      assert.deepEqual(decoder.push(wire.subarray(wire.length - 1)), [fixtures[7]!.frame]);
    });

    it('splits at arbitrary chunk boundaries', () => {
      for (const size of [2, 3, 7, 11]) {
        const decoder = new DGWFrameDecoder();
        const got: DGWFrame[] = [];
        for (let i = 0; i < all.length; i += size) got.push(...decoder.push(all.subarray(i, i + size)));
        assert.deepEqual(got, fixtures.map((f) => f.frame), `chunk size ${size}`);
      }
    });

    it('a message that ends inside a frame is "truncated" for decodeFrames', () => {
      assert.equal(errorCode(() => decodeFrames(fixtures[6]!.wire.subarray(0, 7))), 'truncated');
    });
  });

  describe('malformed input', () => {
    it('refuses the deprecated types 5, 6 and 8 by name', () => {
      for (const t of [DGWFrameType.DeprecatedEstabStream, DGWFrameType.DeprecatedData, DGWFrameType.DeprecatedEndOfData]) {
        assert.throws(() => decodeFrames(bytes(t, 0, 0, 0)), (err: unknown) => err instanceof DGWFrameError && err.code === 'deprecated-frame-type' && /deprecated/i.test(err.message));
      }
    });

    it('refuses unknown frame types', () => {
      for (const t of [0, 1, 11, 16, 18, 255]) assert.equal(errorCode(() => decodeFrames(bytes(t))), 'unknown-frame-type', `type ${t}`);
    });

    it('checks lengths against the frame type', () => {
      assert.equal(errorCode(() => decodeFrames(bytes(3, 2, 0, 0, 1, 1))), 'bad-length'); // drain of length 2
      assert.equal(errorCode(() => decodeFrames(bytes(12, 0, 0, 3, 0, 0, 1, 2, 3))), 'bad-length'); // ack of length 3
      assert.equal(errorCode(() => decodeFrames(bytes(13, 0, 0, 1, 0, 0, 1))), 'bad-length'); // data shorter than its ack word
      assert.equal(errorCode(() => decodeFrames(bytes(17, 0, 0, 2, 0, 0, 1, 2))), 'bad-length'); // extended without content type
    });

    it('refuses EstabStream parameters that are not JSON or not UTF-8', () => {
      assert.equal(errorCode(() => decodeFrames(bytes(15, 0, 0, 2, 0, 0, 0x7b, 0x7b))), 'bad-json');
      assert.equal(errorCode(() => decodeFrames(bytes(15, 0, 0, 1, 0, 0, 0xff))), 'bad-json');
    });

    it('refuses an over-cap length from the header alone, before buffering the payload', () => {
      const decoder = new DGWFrameDecoder({ maxPayloadBytes: 10 });
      assert.equal(errorCode(() => decoder.push(bytes(13, 0, 0, 13, 0, 0))), 'frame-too-large');
    });

    it('names the offset of the bad frame and stays failed afterwards', () => {
      const decoder = new DGWFrameDecoder();
      decoder.push(bytes(9, 10));
      assert.throws(() => decoder.push(bytes(99)), (err: unknown) => err instanceof DGWFrameError && err.offset === 2);
      assert.ok(decoder.failed);
      assert.equal(errorCode(() => decoder.push(bytes(9))), 'decoder-failed');
    });

    it('delivers the frames before a bad one through next()', () => {
      const decoder = new DGWFrameDecoder();
      decoder.write(bytes(9, 10, 6));
      assert.deepEqual(decoder.next(), { type: 'ping' });
      assert.deepEqual(decoder.next(), { type: 'pong' });
      assert.equal(errorCode(() => decoder.next()), 'deprecated-frame-type');
    });

    it('the encoder refuses impossible frames', () => {
      assert.equal(errorCode(() => encodeFrame({ type: 'ack', streamId: 65_536, ackId: 0 })), 'invalid-field');
      assert.equal(errorCode(() => encodeFrame({ type: 'data', streamId: 1, ackId: 0x8000, requiresAck: false, payload: bytes() })), 'invalid-field');
      assert.equal(errorCode(() => encodeFrame({ type: 'end-of-data', streamId: -1 })), 'invalid-field');
      assert.equal(errorCode(() => encodeFrame({ type: 'establish-stream', streamId: 1, parameters: 'nope' })), 'invalid-field');
      assert.equal(errorCode(() => encodeFrame({ type: 'drain', reason: 1.5 })), 'invalid-field');
    });

    it('random bytes never throw anything but DGWFrameError', () => {
      let seed = 7;
      const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
      for (let i = 0; i < 3000; i++) {
        const input = Uint8Array.from({ length: Math.floor(next() * 40) }, () => Math.floor(next() * 20));
        try {
          const decoder = new DGWFrameDecoder({ maxPayloadBytes: 64 });
          decoder.push(input);
        } catch (err) {
          assert.ok(err instanceof DGWFrameError, `input ${[...input]}: ${String(err)}`);
        }
      }
    });
  });

  describe('close codes and drain reasons', () => {
    it('names 4000-4005 and decides which ones allow a reconnect', () => {
      assert.deepEqual(
        Object.entries(DGW_CLOSE_CODES).map(([code, v]) => `${code} ${v.name} ${v.reconnect}`),
        ['4000 graceful-close true', '4001 keepalive-timeout true', '4002 server-error true', '4003 unauthorized false', '4004 rejected false', '4005 bad-request true'],
      );
      assert.deepEqual(describeDGWClose(4003), { name: 'unauthorized', reconnect: false });
      assert.deepEqual(describeDGWClose(1006), { name: 'websocket', reconnect: true });
    });

    it('names drain reasons and keeps unknown ones visible', () => {
      assert.equal(drainReasonName(0), 'elb');
      assert.equal(drainReasonName(3), 'grace-period-expired');
      assert.equal(drainReasonName(42), 'reason-42');
    });
  });
});
