import assert from 'node:assert/strict';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { TransactionIntake, type InboundItem, type IntakeDispatcher } from '../../shared/src/matrix/intake.js';
import type { CryptoTransactionData, MatrixRoomEvent, ParsedTransaction } from '../../shared/src/matrix/transaction.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

function ev(id: string, room = '!room:example.org'): MatrixRoomEvent {
  return { event_id: id, room_id: room, sender: '@alice:example.org', type: 'm.room.message', origin_server_ts: 1, content: { body: id } };
}

function txn(events: MatrixRoomEvent[], extra: Partial<ParsedTransaction> = {}): ParsedTransaction {
  return { events, ephemeral: [], crypto: { toDevice: [] }, ...extra };
}

/** Records every dispatch; `autoDone` decides whether `done` is called at once. */
class RecordingDispatcher implements IntakeDispatcher {
  readonly items: InboundItem[] = [];
  readonly pendingDone = new Map<string, () => Promise<void>>();
  constructor(private readonly autoDone: (item: InboundItem) => boolean = () => true) {}

  async dispatch(item: InboundItem, done: () => Promise<void>): Promise<void> {
    this.items.push(item);
    if (this.autoDone(item)) await done();
    else this.pendingDone.set(idOf(item), done);
  }

  ids(): string[] {
    return this.items.map(idOf);
  }
}

const idOf = (item: InboundItem): string => (item.kind === 'event' ? item.event.event_id : `eph:${item.event.type}`);

describe('TransactionIntake', () => {
  let db: Database;
  beforeEach(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
  });
  afterEach(async () => {
    await db.close();
  });

  it("dispatches a transaction's events in order, then its ephemeral events, and marks them done", async () => {
    const d = new RecordingDispatcher();
    const intake = new TransactionIntake(db, d);
    intake.start();
    await intake.onTransaction('t1', txn([ev('$1'), ev('$2', '!other:example.org'), ev('$3')], {
      ephemeral: [{ type: 'm.typing', room_id: '!room:example.org', content: {} }],
    }));
    await intake.onTransaction('t2', txn([ev('$4')]));
    await intake.drained();
    assert.deepEqual(d.ids(), ['$1', '$2', '$3', 'eph:m.typing', '$4']);
    const seqs = d.items.map((i) => i.seq);
    assert.deepEqual([...seqs].sort((a, b) => a - b), seqs);
    assert.equal(new Set(seqs).size, seqs.length);
    assert.equal(d.items[1]!.kind === 'event' && d.items[1]!.event.room_id, '!other:example.org');
    assert.deepEqual(await db.inbound.listQueued(100), []);
  });

  it('dispatches a repeated transaction id once', async () => {
    const d = new RecordingDispatcher();
    const intake = new TransactionIntake(db, d);
    intake.start();
    await intake.onTransaction('same', txn([ev('$a'), ev('$b')]));
    await intake.drained();
    await intake.onTransaction('same', txn([ev('$a'), ev('$b')]));
    await intake.drained();
    assert.deepEqual(d.ids(), ['$a', '$b']);
  });

  it('dispatches an event resent under a new transaction id once', async () => {
    const d = new RecordingDispatcher();
    const intake = new TransactionIntake(db, d);
    intake.start();
    await intake.onTransaction('t1', txn([ev('$a')]));
    await intake.drained();
    await intake.onTransaction('t2', txn([ev('$a'), ev('$b')]));
    await intake.drained();
    assert.deepEqual(d.ids(), ['$a', '$b']);
  });

  it('hands to-device, one-time-key counts and device lists to the crypto hook before the transaction is acknowledged', async () => {
    const d = new RecordingDispatcher();
    const intake = new TransactionIntake(db, d);
    intake.start();
    const received: CryptoTransactionData[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let hookCalled!: () => void;
    const called = new Promise<void>((r) => (hookCalled = r));
    intake.crypto = {
      onTransactionData: async (data) => {
        received.push(data);
        hookCalled();
        await gate; // the hook is still persisting
      },
    };
    const crypto: CryptoTransactionData = {
      toDevice: [{ type: 'm.room.encrypted', sender: '@a:example.org', to_user_id: '@bot:example.org', to_device_id: 'DEV', content: { x: 1 } }],
      oneTimeKeyCounts: { '@bot:example.org': { DEV: { signed_curve25519: 3 } } },
      deviceLists: { changed: ['@a:example.org'], left: [] },
    };
    let acked = false;
    const ack = intake.onTransaction('c1', txn([ev('$x')], { crypto })).then(() => (acked = true));
    await called;
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(received.length, 1, 'hook called once');
    assert.deepEqual(received[0], crypto);
    assert.equal(acked, false, 'onTransaction must wait for the crypto hook');
    release();
    await ack;
    assert.equal(acked, true);
    await intake.drained();
    assert.deepEqual(d.ids(), ['$x']);
  });

  it('calls the crypto hook only when there is crypto data', async () => {
    const intake = new TransactionIntake(db, new RecordingDispatcher());
    intake.start();
    const received: CryptoTransactionData[] = [];
    intake.crypto = { onTransactionData: async (data) => void received.push(data) };
    await intake.onTransaction('n1', txn([ev('$n')]));
    assert.deepEqual(received, []);
    await intake.onTransaction('n2', txn([], { crypto: { toDevice: [], unusedFallbackKeyTypes: { '@bot:example.org': { DEV: [] } } } }));
    assert.equal(received.length, 1);
    await intake.drained();
  });

  it('does not acknowledge a transaction whose crypto hook fails', async () => {
    const d = new RecordingDispatcher();
    const intake = new TransactionIntake(db, d);
    intake.start();
    intake.crypto = { onTransactionData: async () => { throw new Error('store unavailable'); } };
    await assert.rejects(intake.onTransaction('f1', txn([], { crypto: { toDevice: [], deviceLists: { changed: ['@a:example.org'] } } })), /store unavailable/);
  });

  it('replays events whose done was not called, in seq order, from a new intake over the same database', async () => {
    // First process: $2 and $4 are dispatched but never finished (the process "dies").
    const first = new RecordingDispatcher((item) => item.kind === 'event' && !['$2', '$4'].includes(item.event.event_id));
    const intake1 = new TransactionIntake(db, first);
    intake1.start();
    await intake1.onTransaction('r1', txn([ev('$1'), ev('$2'), ev('$3')]));
    await intake1.onTransaction('r2', txn([ev('$4', '!b:example.org'), ev('$5')]));
    await intake1.drained();
    assert.deepEqual(first.ids(), ['$1', '$2', '$3', '$4', '$5']);
    intake1.stopped = true;

    // Second process: a fresh intake replays exactly the unfinished ones, in their original order.
    const second = new RecordingDispatcher();
    const intake2 = new TransactionIntake(db, second);
    intake2.start();
    await intake2.drained();
    assert.deepEqual(second.ids(), ['$2', '$4']);
    assert.ok(second.items[0]!.seq < second.items[1]!.seq);
    assert.deepEqual(second.items.map((i) => i.seq), first.items.filter((i) => ['$2', '$4'].includes(idOf(i))).map((i) => i.seq));
    assert.equal(second.items[1]!.kind === 'event' && second.items[1]!.event.room_id, '!b:example.org');

    // Now everything is done; a third start dispatches nothing.
    const third = new RecordingDispatcher();
    const intake3 = new TransactionIntake(db, third);
    intake3.start();
    intake3.kick();
    await intake3.drained();
    assert.deepEqual(third.ids(), []);
  });

  it('a redelivered transaction after a crash does not duplicate the replay', async () => {
    const first = new RecordingDispatcher(() => false);
    const intake1 = new TransactionIntake(db, first);
    intake1.start();
    await intake1.onTransaction('x1', txn([ev('$1'), ev('$2')]));
    await intake1.drained();
    intake1.stopped = true;

    const second = new RecordingDispatcher();
    const intake2 = new TransactionIntake(db, second);
    intake2.start();
    // The homeserver retries the same transaction (it never saw the 200) as the bridge restarts.
    await intake2.onTransaction('x1', txn([ev('$1'), ev('$2')]));
    await intake2.drained();
    assert.deepEqual(second.ids(), ['$1', '$2']);
  });

  it('holds back later events after a dispatch that throws, and retries it in order', async () => {
    let failures = 1;
    const seen: string[] = [];
    const flaky: IntakeDispatcher = {
      dispatch: async (item, done) => {
        seen.push(idOf(item));
        if (idOf(item) === '$bad' && failures-- > 0) throw new Error('portal exploded');
        await done();
      },
    };
    const intake = new TransactionIntake(db, flaky);
    intake.start();
    await intake.onTransaction('e1', txn([ev('$bad'), ev('$ok')]));
    await intake.drained();
    assert.deepEqual(seen, ['$bad'], 'nothing overtakes the failed event');
    assert.deepEqual((await db.inbound.listQueued(10)).map((r) => r.eventId), ['$bad', '$ok']);
    for (let i = 0; i < 50 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    await intake.drained();
    assert.deepEqual(seen, ['$bad', '$bad', '$ok']);
    assert.deepEqual(await db.inbound.listQueued(10), []);
    intake.stopped = true;
  });
});

describe('intake before start', () => {
  it('stores and acknowledges transactions but dispatches nothing until started', async () => {
    const db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    const d = new RecordingDispatcher();
    const intake = new TransactionIntake(db, d);
    await intake.onTransaction('t1', txn([ev('$early')]));
    await intake.drained();
    assert.deepEqual(d.ids(), []);
    intake.start();
    await intake.drained();
    assert.deepEqual(d.ids(), ['$early']);
    await db.close();
  });
});
