/**
 * HistoryBuffer, the bookkeeping behind the history sync limits: ranking, per-chat quotas over
 * several dispatches, the places of committed chats, and what trimming keeps.
 */
import assert from 'node:assert/strict';
import { HistoryBuffer } from '../../bridges/whatsapp/src/connector/history-buffer.js';

type Buf = HistoryBuffer<string, string, string>;
const add = (b: Buf, chat: string, id: string, ts: number) => b.add(chat, chat, { id, timestamp: ts, value: id });
const ids = (ds: ReturnType<Buf['takeAll']>) => Object.fromEntries(ds.map((d) => [d.key, d.items.map((i) => i.value)]));

describe('whatsapp history buffer', () => {
  it('ranks by newest activity (ties by key) and hands each chat its newest messages oldest first', () => {
    const b: Buf = new HistoryBuffer({ maxChats: 2, maxMessagesPerChat: 2 });
    add(b, 'a', 'a1', 10);
    add(b, 'a', 'a3', 30);
    add(b, 'a', 'a2', 30);
    add(b, 'b', 'b1', 20);
    add(b, 'c', 'c1', 20);
    b.touch('c', 5); // older activity never lowers a chat's rank
    assert.deepEqual(b.planned(), ['a', 'b']);
    const ds = b.takeAll();
    assert.deepEqual(ds.map((d) => d.key), ['a', 'b']);
    // Equal timestamps keep the order they were added in.
    assert.deepEqual(ids(ds), { a: ['a3', 'a2'], b: ['b1'] });
    assert.equal(b.holds('c'), false, 'what did not fit is dropped');
  });

  it('counts a chat\'s quota over every dispatch, and never hands out an id twice', () => {
    const b: Buf = new HistoryBuffer({ maxChats: 1, maxMessagesPerChat: 3 });
    add(b, 'a', 'a5', 50);
    add(b, 'a', 'a4', 40);
    assert.deepEqual(ids(b.takeAll()), { a: ['a4', 'a5'] });
    add(b, 'a', 'a5', 50);
    add(b, 'a', 'a2', 20);
    add(b, 'a', 'a3', 30);
    add(b, 'z', 'z9', 90); // newer, but the one place is taken
    assert.deepEqual(ids(b.takeAll()), { a: ['a3'] });
    add(b, 'a', 'a1', 10);
    assert.deepEqual(b.takeAll(), [], 'the quota is used up');
  });

  it('takeChat commits a chat while places are free; extras ride with committed chats only', () => {
    const b: Buf = new HistoryBuffer({ maxChats: 1, maxMessagesPerChat: 1 });
    add(b, 'a', 'a1', 10);
    b.addExtra('a', 'a', 'vote-1');
    add(b, 'b', 'b1', 5);
    assert.deepEqual(b.takeChat('a')?.extras, ['vote-1']);
    add(b, 'b', 'b2', 99);
    assert.equal(b.takeChat('b'), undefined, 'no place left');
    b.addExtra('a', 'a', 'vote-2');
    b.addExtra('b', 'b', 'vote-3');
    const ds = b.takeAll();
    assert.deepEqual(ds.map((d) => [d.key, d.items.length, d.extras]), [['a', 0, ['vote-2']]]);
  });

  it('trim keeps only what a dispatch could hand out', () => {
    const b: Buf = new HistoryBuffer({ maxChats: 1, maxMessagesPerChat: 1 });
    add(b, 'a', 'a1', 10);
    add(b, 'a', 'a2', 20);
    add(b, 'b', 'b1', 5);
    b.trim();
    assert.equal(b.holds('b'), false);
    assert.deepEqual(ids(b.takeAll()), { a: ['a2'] });
  });

  it('is disabled by a zero limit', () => {
    for (const limits of [{ maxChats: 0, maxMessagesPerChat: 5 }, { maxChats: 5, maxMessagesPerChat: 0 }]) {
      const b: Buf = new HistoryBuffer(limits);
      add(b, 'a', 'a1', 10);
      assert.equal(b.enabled, false);
      assert.deepEqual(b.takeAll(), []);
    }
  });
});
