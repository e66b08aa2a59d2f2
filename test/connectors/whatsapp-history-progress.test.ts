/**
 * History sync progress in the management room: the real event handler reports, through
 * `sendProgressNotice`, one notice per sync (one key) whose text follows the backfills as portals
 * handle them, throttled, and a final text when Baileys says the sync is over.
 */
import assert from 'node:assert/strict';
import { proto, type BaileysEventMap, type WAMessage } from 'baileys';
import type { QueuedEvent, RemoteEvent, UserLoginHandle } from '../../shared/src/network/index.js';
import { portalKey } from '../../shared/src/network/index.js';
import { WAEventHandler } from '../../bridges/whatsapp/src/connector/handle-whatsapp.js';
import { HistoryProgress } from '../../bridges/whatsapp/src/connector/history-progress.js';
import { RecordingLogin } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const ME = '15550001111@s.whatsapp.net';
const BOB = '15550002222@s.whatsapp.net';
const CAROL = '15550003333@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';
const SYNC = proto.HistorySync.HistorySyncType;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A RecordingLogin whose `handled` promises the test settles (a portal still busy). */
class GatedLogin extends RecordingLogin {
  gated = false;
  readonly gates: Array<() => void> = [];
  override async queueRemoteEvent(evt: RemoteEvent): Promise<QueuedEvent> {
    await super.queueRemoteEvent(evt);
    if (!this.gated) return { handled: Promise.resolve() };
    const d = deferred();
    this.gates.push(d.resolve);
    return { handled: d.promise };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('whatsapp history sync progress notices', function () {
  this.timeout(20_000);
  let fake: FakeWAPort;
  let login: GatedLogin;
  let handler: WAEventHandler;

  beforeEach(async () => {
    fake = await createFakeWAPort({ me: ME, emitOwnEvents: false });
    login = new GatedLogin('15550001111' as UserLoginHandle['id'], 'Alice');
    // A long interval: after the first notice, only the final one goes out within a test.
    handler = new WAEventHandler(login, { pnForLid: async () => undefined }, { historyNoticeIntervalMs: 60_000 });
    handler.attach(fake.port);
  });
  afterEach(async () => {
    handler.detach();
    await fake.close();
  });

  let n = 0;
  const msg = (chat: string, from: string): WAMessage => fake.makeIncoming({ conversation: `m${++n}` }, { chat, from, id: `H${n}`, timestamp: 100 + n });

  async function historySet(set: Partial<BaileysEventMap['messaging-history.set']>): Promise<void> {
    fake.ev.emit('messaging-history.set', { chats: [], contacts: [], messages: [], ...set });
    await handler.idle();
    await handler.history.idle();
  }

  it('one notice per sync, edited in place: counts of handled backfills, then the final text', async () => {
    // History comes newest first: Bob's chat is the first backfill.
    await historySet({ messages: [msg(GROUP, CAROL), msg(BOB, BOB), msg(BOB, BOB)], syncType: SYNC.INITIAL_BOOTSTRAP, progress: 100, isLatest: true });
    // The first handled backfill shows at once; INITIAL_BOOTSTRAP's 100% is not the sync's (RECENT follows).
    assert.deepEqual(login.progress.map((p) => p.text), ['History sync: 1 of 2 chats, 2 messages so far']);
    await historySet({ messages: [msg(CAROL, CAROL)], syncType: SYNC.RECENT, progress: 40 });
    assert.equal(login.progress.length, 1, 'within the interval nothing more goes out');
    await historySet({ messages: [msg(CAROL, CAROL), msg(BOB, BOB)], syncType: SYNC.RECENT, progress: 100 });
    assert.deepEqual(login.progress.map((p) => p.text), [
      'History sync: 1 of 2 chats, 2 messages so far',
      'History sync finished: 3 of 3 chats, 6 messages',
    ]);
    const key = login.progress[0]!.key;
    assert.ok(login.progress.every((p) => p.key === key), 'every notice of the sync edits the same one');

    // A later sync gets its own notice; on-demand history is not reported.
    await historySet({ messages: [msg(BOB, BOB)], syncType: SYNC.ON_DEMAND, progress: 100 });
    assert.equal(login.progress.length, 2);
    await historySet({ messages: [msg(BOB, BOB)], syncType: SYNC.RECENT, progress: 10 });
    assert.equal(login.progress.length, 3);
    assert.notEqual(login.progress[2]!.key, key);
    assert.equal(login.progress[2]!.text, 'History sync: 1 of 1 chat, 1 message so far (10%)');
  });

  it('counts a backfill only once its portal has handled it, and finishes on a "paused" status', async () => {
    login.gated = true;
    await historySet({ messages: [msg(BOB, BOB), msg(GROUP, CAROL)], syncType: SYNC.RECENT, progress: 20 });
    assert.equal(login.progress.length, 0, 'nothing is counted while the portals are busy');
    assert.equal(login.gates.length, 2);
    login.gates[0]!();
    await handler.history.idle();
    assert.deepEqual(login.progress.map((p) => p.text), ['History sync: 1 of 2 chats, 1 message so far (20%)']);
    // Baileys stops waiting for chunks: the final notice waits for the busy portal.
    fake.ev.emit('messaging-history.status', { syncType: SYNC.RECENT, status: 'paused', explicit: false });
    await handler.idle();
    await sleep(20);
    assert.equal(login.progress.length, 1);
    login.gates[1]!();
    await handler.history.idle();
    assert.equal(login.progress.at(-1)!.text, 'History sync finished: 2 of 2 chats, 2 messages');
    assert.equal(login.progress.at(-1)!.key, login.progress[0]!.key);
  });

  it('throttles a burst to one edit per interval, with the latest counts at its end', async () => {
    const sent: Array<{ key: string; text: string }> = [];
    let now = 1_000_000;
    const progress = new HistoryProgress({ log: login.log, sendProgressNotice: async (key, text) => void sent.push({ key, text }) }, { intervalMs: 2_000, now: () => now });
    const backfill = (chat: string, count: number): [RemoteEvent, QueuedEvent] => [
      { type: 'backfill', portal: portalKey(chat, 'me'), timestamp: 0, messages: Array.from({ length: count }, () => ({}) as never) },
      { handled: Promise.resolve() },
    ];
    const set = { chats: [], contacts: [], messages: [], syncType: SYNC.RECENT, progress: 30 };
    progress.report(set, [backfill('a', 10)]);
    await progress.idle();
    assert.deepEqual(sent.map((s) => s.text), ['History sync: 1 chat, 10 messages so far (30%)']);
    // A burst within the interval: no edit yet.
    now += 500;
    progress.report({ ...set, progress: 50 }, [backfill('b', 5)]);
    progress.report({ ...set, progress: 60 }, [backfill('c', 1), backfill('d', 2)]);
    await sleep(5);
    assert.equal(sent.length, 1);
    progress.report({ ...set, progress: 70 }, [backfill('e', 3)]);
    await sleep(5);
    assert.equal(sent.length, 1, 'one edit is already scheduled for the end of the interval (1.5 s from now)');
    await sleep(1_600);
    await progress.idle();
    assert.deepEqual(sent.map((s) => s.text), [
      'History sync: 1 chat, 10 messages so far (30%)',
      'History sync: 5 chats, 21 messages so far (70%)',
    ]);
    await progress.finish();
    assert.equal(sent.at(-1)!.text, 'History sync finished: 5 chats, 21 messages');
    assert.ok(sent.every((s) => s.key === sent[0]!.key));
    assert.equal(sent.length, 3);
  });
});
