import assert from 'node:assert/strict';
import { OrderedQueue } from '../../shared/src/core/ordered-queue.js';

/** A promise with its resolve function exposed. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every pending microtask and I/O callback run (no timing involved). */
const flush = () => new Promise<void>((r) => setImmediate(r));

/** Whether `p` has settled, observed after letting pending callbacks run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  await flush();
  return done;
}

describe('OrderedQueue', () => {
  it('handles items strictly in FIFO order, one at a time', async () => {
    const seen: number[] = [];
    let active = 0;
    let maxActive = 0;
    const q = new OrderedQueue<number>(8, async (n) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await flush();
      seen.push(n);
      active--;
    }, () => assert.fail('no errors expected'));
    for (let i = 0; i < 50; i++) await q.push(i);
    await q.idle();
    assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => i));
    assert.equal(maxActive, 1);
  });

  it('blocks push while full and resolves it once room frees (backpressure)', async () => {
    const gates: Array<{ promise: Promise<void>; resolve: () => void }> = [];
    const handled: string[] = [];
    const q = new OrderedQueue<string>(2, async (s) => {
      const g = deferred();
      gates.push(g);
      await g.promise;
      handled.push(s);
    }, () => assert.fail('no errors expected'));

    await q.push('a'); // taken by the consumer at once, blocks in the handler
    await flush();
    assert.equal(gates.length, 1);
    await q.push('b');
    await q.push('c'); // queue now holds b, c: full
    assert.equal(q.length, 2);
    const pushD = q.push('d');
    assert.equal(await settled(pushD), false, 'push must wait while the queue is full');
    assert.equal(q.length, 2);

    gates[0]!.resolve(); // 'a' finishes, consumer takes 'b': one slot frees
    assert.equal(await settled(pushD), true, 'push resolves once room frees');
    assert.equal(q.length, 2); // c, d
    while (handled.length < 4) {
      const g = gates[handled.length];
      if (g) g.resolve();
      await flush();
    }
    await q.idle();
    assert.deepEqual(handled, ['a', 'b', 'c', 'd']);
  });

  it('drops nothing and keeps order under 10,000 pushes with capacity 4', async () => {
    const seen: number[] = [];
    const q = new OrderedQueue<number>(4, async (n) => {
      if (n % 7 === 0) await flush();
      seen.push(n);
    }, () => assert.fail('no errors expected'));
    let maxLength = 0;
    // Unawaited pushes from many producers at once still all land, in call order.
    const pushes: Array<Promise<void>> = [];
    for (let i = 0; i < 10_000; i++) {
      pushes.push(q.push(i));
      maxLength = Math.max(maxLength, q.length);
    }
    await Promise.all(pushes);
    await q.idle();
    assert.equal(seen.length, 10_000);
    assert.deepEqual(seen, Array.from({ length: 10_000 }, (_, i) => i));
    assert.ok(maxLength <= 4, `queue grew to ${maxLength}`);
  });

  it('keeps call order when unawaited pushes interleave with the consumer freeing room', async () => {
    // A push made while others wait must queue behind them, not take the slot just freed.
    const seen: number[] = [];
    const q = new OrderedQueue<number>(2, async (n) => {
      await Promise.resolve();
      seen.push(n);
    }, () => assert.fail('no errors expected'));
    const pushes: Array<Promise<void>> = [];
    for (let i = 0; i < 300; i++) {
      pushes.push(q.push(i));
      if (i % 5 === 0) await Promise.resolve();
      if (i % 11 === 0) await flush();
    }
    await Promise.all(pushes);
    await q.idle();
    assert.deepEqual(seen, Array.from({ length: 300 }, (_, i) => i));
  });

  it('never exceeds its capacity when a producer awaits each push', async () => {
    const seen: number[] = [];
    let maxLength = 0;
    const q = new OrderedQueue<number>(4, async (n) => {
      maxLength = Math.max(maxLength, q.length);
      await flush();
      seen.push(n);
    }, () => assert.fail('no errors expected'));
    for (let i = 0; i < 200; i++) {
      await q.push(i);
      maxLength = Math.max(maxLength, q.length);
    }
    await q.idle();
    assert.deepEqual(seen, Array.from({ length: 200 }, (_, i) => i));
    assert.ok(maxLength <= 4);
  });

  it('reports a throwing handler through onError and carries on', async () => {
    const seen: number[] = [];
    const errors: Array<[number, unknown]> = [];
    const q = new OrderedQueue<number>(4, async (n) => {
      if (n === 2) throw new Error('boom 2');
      if (n === 4) throw 'not an Error';
      seen.push(n);
    }, (item, err) => errors.push([item, err]));
    for (const n of [1, 2, 3, 4, 5]) await q.push(n);
    await q.idle();
    assert.deepEqual(seen, [1, 3, 5]);
    assert.equal(errors.length, 2);
    assert.equal(errors[0]![0], 2);
    assert.ok(errors[0]![1] instanceof Error && errors[0]![1].message === 'boom 2');
    assert.deepEqual(errors[1], [4, 'not an Error']);
  });

  describe('idle()', () => {
    it('resolves at once for a fresh queue', async () => {
      const q = new OrderedQueue<number>(2, async () => {}, () => {});
      assert.equal(await settled(q.idle()), true);
    });

    it('waits for the item being handled and everything queued behind it', async () => {
      const gate = deferred();
      const seen: number[] = [];
      const q = new OrderedQueue<number>(4, async (n) => {
        if (n === 1) await gate.promise;
        seen.push(n);
      }, () => {});
      await q.push(1);
      await q.push(2);
      await q.push(3);
      const idle = q.idle();
      assert.equal(await settled(idle), false, 'idle while an item is in the handler');
      assert.deepEqual(seen, []);
      gate.resolve();
      await idle;
      assert.deepEqual(seen, [1, 2, 3]);
      assert.equal(q.length, 0);
    });

    it('resolves after a failing item too, and again for later work', async () => {
      const errors: number[] = [];
      const q = new OrderedQueue<number>(2, async (n) => {
        if (n === 1) throw new Error('x');
      }, (n) => errors.push(n));
      await q.push(1);
      await q.idle();
      assert.deepEqual(errors, [1]);
      await q.push(2);
      await q.idle();
      assert.equal(q.length, 0);
      assert.equal(await settled(q.idle()), true);
    });
  });

  it('stop() releases pushers that wait on a full queue', async () => {
    const gate = deferred();
    const q = new OrderedQueue<number>(1, async () => gate.promise, () => {});
    await q.push(1);
    await flush();
    await q.push(2);
    const blocked = q.push(3);
    assert.equal(await settled(blocked), false);
    q.stop();
    assert.equal(await settled(blocked), true);
    gate.resolve();
  });
});
