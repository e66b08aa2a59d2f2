/**
 * The client's token bucket in use: every send, sync, upload and download takes a token, so a
 * burst beyond the bucket waits for refills, as a person clicking in a browser would. The bucket's
 * own arithmetic is in meta-page-config.test.ts; this checks the client really goes through it.
 */
import assert from 'node:assert/strict';
import { sendMessageTask } from '../../bridges/meta/src/lightspeed/tasks.js';
import { deriveOtid } from '../../bridges/meta/src/lightspeed/ids.js';
import { MetaEnv, USER } from '../helpers/meta-env.js';

describe('MetaClient pacing (token bucket) against the Meta emulator', function () {
  this.timeout(30_000);
  const env = new MetaEnv('messenger');
  beforeEach(() => env.start());
  afterEach(() => env.stop());

  it('holds sends beyond the burst until tokens refill, and keeps their order', async () => {
    // connect() itself takes tokens (the first mailbox sync), so the burst left for sends is
    // whatever remains; the refill rate is what the assertion rests on.
    const { client } = await env.connected({ rateLimit: { capacity: 2, refillPerSecond: 4 } });
    await new Promise((r) => setTimeout(r, 600)); // let the bucket fill up again
    const stamps: number[] = [];
    const start = performance.now();
    await Promise.all(Array.from({ length: 6 }, async (_, i) => {
      await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: deriveOtid(`$pace-${i}`, Date.now()), text: `paced ${i}` }));
      stamps.push(performance.now() - start);
    }));
    stamps.sort((a, b) => a - b);
    // Two go at once; the other four need a token each at 4 per second: at least ~1 s in all.
    assert.ok(stamps[5]! >= 900, `six sends with a burst of 2 at 4/s took only ${stamps[5]!.toFixed(0)} ms`);
    const texts = (await env.control<Array<{ content: { text?: string } }>>('GET', `/chats/${encodeURIComponent('dm:alice:me')}/messages`))
      .map((m) => m.content.text).filter((t) => t?.startsWith('paced '));
    assert.deepEqual(texts, ['paced 0', 'paced 1', 'paced 2', 'paced 3', 'paced 4', 'paced 5']);
  });

  it('does not hold a burst within the bucket', async () => {
    const { client } = await env.connected({ rateLimit: { capacity: 20, refillPerSecond: 0.01 } });
    const start = performance.now();
    for (let i = 0; i < 5; i++) {
      await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: deriveOtid(`$burst-${i}`, Date.now()), text: `burst ${i}` }));
    }
    // At 0.01 tokens a second a single wait would take 100 s; five sends well under that prove none waited.
    assert.ok(performance.now() - start < 20_000);
  });
});
