import assert from 'node:assert/strict';
import { DGWMultiplexer, type DGWEvent } from '../../bridges/meta/src/dgw/streams.js';
import { decodeFrames, encodeFrames, type DGWFrame } from '../../bridges/meta/src/dgw/frames.js';
import { DGWFrameError, DGWStreamError } from '../../bridges/meta/src/dgw/errors.js';
import { FakeTimers } from '../helpers/fake-timers.js';

const text = (s: string) => new TextEncoder().encode(s);
const ok = '{"code":200}';

/** A multiplexer wired to a fake clock, recording every message it writes (decoded) and event. */
function harness(opts: { failSend?: boolean } = {}) {
  const timers = new FakeTimers();
  const sent: DGWFrame[][] = [];
  const events: DGWEvent[] = [];
  const mux = new DGWMultiplexer({
    timers,
    send: (msg) => {
      if (opts.failSend) throw new Error('socket gone');
      sent.push(decodeFrames(msg));
    },
    onEvent: (e) => events.push(e),
  });
  const server = (...frames: DGWFrame[]) => mux.receive(encodeFrames(frames));
  const take = () => sent.splice(0, sent.length);
  return { timers, sent, events, mux, server, take };
}

/** Settles a promise's outcome without awaiting real time. */
function track<T>(p: Promise<T>) {
  const state: { value?: T; error?: unknown; done: boolean } = { done: false };
  p.then(
    (value) => Object.assign(state, { value, done: true }),
    (error: unknown) => Object.assign(state, { error, done: true }),
  );
  return state;
}
const flush = () => new Promise((r) => setImmediate(r));

function streamError(state: { error?: unknown }, code: string): void {
  assert.ok(state.error instanceof DGWStreamError, `expected DGWStreamError, got ${String(state.error)}`);
  assert.equal(state.error.code, code);
}

describe('meta DGW stream multiplexing', () => {
  describe('one-off requests', () => {
    it('sends EstabStream + acked Data together, acks the response and ends the stream', async () => {
      const h = harness();
      const res = track(h.mux.request(text('req')));
      assert.deepEqual(h.take(), [[
        { type: 'establish-stream', streamId: 0, parameters: '{}' },
        { type: 'data', streamId: 0, ackId: 0, requiresAck: true, payload: text('req') },
      ]]);
      h.server({ type: 'establish-stream', streamId: 0, parameters: ok }, { type: 'ack', streamId: 0, ackId: 0 });
      h.server({ type: 'data', streamId: 0, ackId: 5, requiresAck: true, payload: text('resp') });
      await flush();
      assert.deepEqual(res.value, text('resp'));
      assert.deepEqual(h.take(), [[{ type: 'ack', streamId: 0, ackId: 5 }], [{ type: 'end-of-data', streamId: 0 }]]);
      assert.equal(h.mux.openStreams, 0);
      assert.equal(h.timers.pending, 0, 'no timer left behind');
    });

    it('gives each request its own stream id', () => {
      const h = harness();
      void h.mux.request(text('a')).catch(() => undefined);
      void h.mux.request(text('b')).catch(() => undefined);
      assert.deepEqual(h.take().map((m) => m[0]!.type === 'establish-stream' && m[0]!.streamId), [0, 1]);
      h.mux.close();
    });

    it('accepts the ack before the EstabStream reply', async () => {
      const h = harness();
      const res = track(h.mux.request(text('req')));
      h.server({ type: 'ack', streamId: 0, ackId: 0 }, { type: 'establish-stream', streamId: 0, parameters: ok });
      h.server({ type: 'data', streamId: 0, ackId: 0, requiresAck: false, payload: text('r') });
      await flush();
      assert.deepEqual(res.value, text('r'));
    });

    it('fails with establish-rejected when the server refuses the stream', async () => {
      const h = harness();
      const res = track(h.mux.request(text('req')));
      h.take();
      h.server({ type: 'establish-stream', streamId: 0, parameters: '{"code":403}' });
      await flush();
      streamError(res, 'establish-rejected');
      assert.match(String((res.error as Error).message), /403/);
      assert.deepEqual(h.take(), [[{ type: 'end-of-data', streamId: 0 }]]);
    });

    it('times out after exactly the ack timeout without an EstabStream reply', async () => {
      const h = harness();
      const res = track(h.mux.request(text('req')));
      h.timers.advance(4_999);
      await flush();
      assert.equal(res.done, false);
      h.timers.advance(1);
      await flush();
      streamError(res, 'ack-timeout');
      assert.equal(h.mux.openStreams, 0);
    });

    it('times out when the ack never comes, then when the response never comes', async () => {
      const h = harness();
      const noAck = track(h.mux.request(text('a')));
      h.server({ type: 'establish-stream', streamId: 0, parameters: ok });
      h.timers.advance(5_000);
      await flush();
      streamError(noAck, 'ack-timeout');

      const noResponse = track(h.mux.request(text('b')));
      h.server({ type: 'establish-stream', streamId: 1, parameters: ok }, { type: 'ack', streamId: 1, ackId: 0 });
      h.timers.advance(4_000);
      await flush();
      assert.equal(noResponse.done, false);
      h.timers.advance(1_000);
      await flush();
      streamError(noResponse, 'response-timeout');
    });

    it('fire-and-forget asks for no ack and resolves once the stream is accepted', async () => {
      const h = harness();
      const res = track(h.mux.request(text('typing'), { fireAndForget: true }));
      const [msg] = h.take();
      assert.equal(msg![1]!.type === 'data' && msg![1]!.requiresAck, false);
      h.server({ type: 'establish-stream', streamId: 0, parameters: ok });
      await flush();
      assert.ok(res.done && res.value === undefined && res.error === undefined);
    });

    it('fails with closed when the server ends the stream before answering', async () => {
      const h = harness();
      const res = track(h.mux.request(text('req')));
      h.server({ type: 'establish-stream', streamId: 0, parameters: ok }, { type: 'end-of-data', streamId: 0 });
      await flush();
      streamError(res, 'closed');
    });
  });

  describe('persistent streams', () => {
    async function open(h: ReturnType<typeof harness>, received: string[] = [], onData?: (p: Uint8Array) => Promise<void> | void) {
      const p = h.mux.openStream({
        parameters: '{"x-dgw-app-stream-group":"group1"}',
        initPayload: text('init'),
        onData: onData ?? ((payload) => void received.push(new TextDecoder().decode(payload))),
      });
      h.server({ type: 'establish-stream', streamId: 0, parameters: ok }, { type: 'ack', streamId: 0, ackId: 0 });
      const stream = await p;
      h.take();
      return stream;
    }

    it('opens with EstabStream + init payload and resolves once both are accepted', async () => {
      const h = harness();
      const p = track(h.mux.openStream({ parameters: '{}', initPayload: text('init'), onData: () => undefined }));
      assert.deepEqual(h.take(), [[
        { type: 'establish-stream', streamId: 0, parameters: '{}' },
        { type: 'data', streamId: 0, ackId: 0, requiresAck: true, payload: text('init') },
      ]]);
      h.server({ type: 'establish-stream', streamId: 0, parameters: ok });
      await flush();
      assert.equal(p.done, false, 'still waits for the init ack');
      h.server({ type: 'ack', streamId: 0, ackId: 0 });
      await flush();
      assert.equal(p.error, undefined);
      assert.equal((p.value as { id: number }).id, 0);
    });

    it('a rejected EstabStream fails the open and ends the stream', async () => {
      const h = harness();
      const p = track(h.mux.openStream({ parameters: '{}', onData: () => undefined }));
      h.take();
      h.server({ type: 'establish-stream', streamId: 0, parameters: '{"code":500}' });
      await flush();
      streamError(p, 'establish-rejected');
      assert.deepEqual(h.take(), [[{ type: 'end-of-data', streamId: 0 }]]);
      assert.equal(h.mux.openStreams, 0);
    });

    it('hands data to the handler in order and acks only after it', async () => {
      const h = harness();
      const received: string[] = [];
      await open(h, received);
      h.server(
        { type: 'data', streamId: 0, ackId: 10, requiresAck: true, payload: text('one') },
        { type: 'data', streamId: 0, ackId: 11, requiresAck: false, payload: text('two') },
      );
      await flush();
      assert.deepEqual(received, ['one', 'two']);
      assert.deepEqual(h.take(), [[{ type: 'ack', streamId: 0, ackId: 10 }]]);
    });

    it('does not ack a frame whose handler failed, and reports it', async () => {
      const h = harness();
      await open(h, [], () => Promise.reject(new Error('db down')));
      h.server({ type: 'data', streamId: 0, ackId: 3, requiresAck: true, payload: text('x') });
      await flush();
      assert.deepEqual(h.take(), []);
      assert.ok(h.events.some((e) => e.type === 'handler-error' && e.streamId === 0));
    });

    it('send() numbers frames, resolves on their ack and fails after 5 s without one', async () => {
      const h = harness();
      const stream = await open(h);
      const first = track(stream.send(text('a')));
      const second = track(stream.send(text('b')));
      assert.deepEqual(h.take().map((m) => m[0]!.type === 'data' && m[0]!.ackId), [1, 2]);
      h.server({ type: 'ack', streamId: 0, ackId: 1 });
      h.timers.advance(5_000);
      await flush();
      assert.ok(first.done && first.error === undefined);
      streamError(second, 'ack-timeout');
      assert.equal(stream.pendingAcks, 0);
    });

    it('wraps ack ids after 0x7fff', async () => {
      const h = harness();
      const stream = await open(h);
      for (let i = 1; i <= 0x7fff; i++) {
        void stream.send(text('.'));
        h.server({ type: 'ack', streamId: 0, ackId: i });
      }
      h.take();
      void stream.send(text('wrapped'));
      const [msg] = h.take();
      assert.equal(msg![0]!.type === 'data' && msg![0]!.ackId, 0);
      h.mux.close();
    });

    it('the server ending the stream fails pending sends and emits stream-ended', async () => {
      const h = harness();
      const stream = await open(h);
      const pending = track(stream.send(text('a')));
      h.server({ type: 'end-of-data', streamId: 0 });
      await flush();
      streamError(pending, 'closed');
      assert.ok(stream.closed);
      assert.ok(h.events.some((e) => e.type === 'stream-ended' && e.streamId === 0));
      await assert.rejects(stream.send(text('late')), (err: unknown) => err instanceof DGWStreamError && err.code === 'closed');
    });

    it('close() sends EndOfData once', async () => {
      const h = harness();
      const stream = await open(h);
      stream.close();
      stream.close();
      assert.deepEqual(h.take(), [[{ type: 'end-of-data', streamId: 0 }]]);
      assert.equal(h.mux.openStreams, 0);
    });
  });

  describe('keepalive', () => {
    it('pings every 10 s and answers a server ping with a pong', () => {
      const h = harness();
      h.mux.start();
      h.timers.advance(9_999);
      assert.deepEqual(h.take(), []);
      h.timers.advance(1);
      assert.deepEqual(h.take(), [[{ type: 'ping' }]]);
      h.server({ type: 'ping' });
      assert.deepEqual(h.take(), [[{ type: 'pong' }]]);
      h.timers.advance(10_000);
      assert.deepEqual(h.take(), [[{ type: 'ping' }]]);
      h.mux.close();
    });

    it('closes with pong-timeout 30 s after the last pong, and fails pending requests', async () => {
      const h = harness();
      h.mux.start();
      h.timers.advance(25_000);
      h.server({ type: 'pong' });
      h.timers.advance(29_000);
      const req = track(h.mux.request(text('r')));
      h.timers.advance(999);
      assert.equal(h.mux.closed, false, 'not before 30 s of silence');
      h.timers.advance(1);
      await flush();
      assert.equal(h.mux.closed, true);
      const closed = h.events.find((e) => e.type === 'closed');
      assert.ok(closed?.type === 'closed' && closed.error instanceof DGWStreamError && closed.error.code === 'pong-timeout');
      streamError(req, 'pong-timeout');
      assert.equal(h.timers.pending, 0, 'no timer survives close');
    });
  });

  describe('control frames and failures', () => {
    it('turns Drain and Deauth into events', () => {
      const h = harness();
      h.server({ type: 'drain', reason: 2 }, { type: 'deauth' }, { type: 'empty' });
      assert.deepEqual(h.events, [{ type: 'drain', reason: 2, reasonName: 'app-server-push' }, { type: 'deauth' }]);
      assert.equal(h.mux.closed, false);
    });

    it('acks data for an unknown stream and reports it', () => {
      const h = harness();
      h.server({ type: 'data', streamId: 77, ackId: 4, requiresAck: true, payload: text('?') });
      assert.deepEqual(h.take(), [[{ type: 'ack', streamId: 77, ackId: 4 }]]);
      assert.deepEqual(h.events, [{ type: 'unknown-stream', streamId: 77, frame: 'data' }]);
    });

    it('malformed bytes close the connection with the frame error and fail pending work', async () => {
      const h = harness();
      const req = track(h.mux.request(text('r')));
      h.mux.receive(Uint8Array.of(6, 0, 0));
      await flush();
      assert.equal(h.mux.closed, true);
      const closed = h.events.find((e) => e.type === 'closed');
      assert.ok(closed?.type === 'closed' && closed.error instanceof DGWFrameError && closed.error.code === 'deprecated-frame-type');
      streamError(req, 'closed');
      await assert.rejects(h.mux.request(text('after')), (err: unknown) => err instanceof DGWStreamError && err.code === 'closed');
    });

    it('a failing socket write closes the multiplexer instead of throwing', async () => {
      const h = harness({ failSend: true });
      const req = track(h.mux.request(text('r')));
      await flush();
      assert.equal(h.mux.closed, true);
      streamError(req, 'closed');
    });
  });
});
