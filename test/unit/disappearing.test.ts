/** The disappearing-message loop against a real (SQLite) database and a recording Matrix API. */
import assert from 'node:assert/strict';
import { openDatabase, type Database } from '../../shared/src/db/database.js';
import { DisappearingLoop } from '../../shared/src/core/disappearing.js';
import type { Bridge } from '../../shared/src/core/bridge.js';

describe('disappearing messages', () => {
  let db: Database;
  const redacted: string[] = [];
  let loop: DisappearingLoop;

  beforeEach(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    redacted.length = 0;
    const bridge = {
      db, botMxid: '@bot:localhost',
      config: { bridge: { disappearing_check_interval_seconds: 1 } },
      api: { redact: async (_room: string, eventId: string) => { redacted.push(eventId); return '$r'; } },
    } as unknown as Bridge;
    loop = new DisappearingLoop(bridge);
  });
  afterEach(() => db.close());

  it('redacts and forgets only the messages whose timer ran out', async () => {
    await db.disappearing.upsert({ mxid: '$due', roomId: '!r:l', type: 'after_send', timerMs: 1000, disappearAt: 5_000 });
    await db.disappearing.upsert({ mxid: '$later', roomId: '!r:l', type: 'after_send', timerMs: 1000, disappearAt: 50_000 });
    await db.disappearing.upsert({ mxid: '$unread', roomId: '!r:l', type: 'after_read', timerMs: 1000, disappearAt: null });
    assert.equal(await loop.tick(10_000), 1);
    assert.deepEqual(redacted, ['$due']);
    assert.equal(await db.disappearing.get('$due'), undefined);
    assert.ok(await db.disappearing.get('$later'));
  });

  it('starts after-read timers when the room is read, then redacts them', async () => {
    await db.disappearing.upsert({ mxid: '$unread', roomId: '!r:l', type: 'after_read', timerMs: 1000, disappearAt: null });
    assert.equal(await loop.tick(100_000), 0, 'an unread after_read message never disappears');
    assert.equal(await db.disappearing.startTimersForRoom('!r:l', 200_000), 1);
    assert.equal(await loop.tick(200_500), 0);
    assert.equal(await loop.tick(201_000), 1);
    assert.deepEqual(redacted, ['$unread']);
  });

  it('forgets a row even when the redaction fails, so one bad event cannot block the loop', async () => {
    const failing = new DisappearingLoop({
      db, botMxid: '@bot:localhost', config: { bridge: { disappearing_check_interval_seconds: 1 } },
      api: { redact: async () => { throw new Error('M_FORBIDDEN'); } },
    } as unknown as Bridge);
    await db.disappearing.upsert({ mxid: '$x', roomId: '!r:l', type: 'after_send', timerMs: 1, disappearAt: 1 });
    assert.equal(await failing.tick(10), 1);
    assert.equal(await db.disappearing.get('$x'), undefined);
  });
});
