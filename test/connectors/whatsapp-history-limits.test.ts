/**
 * History sync within `history_sync.max_chats` / `max_messages_per_chat`, through the real event
 * handler and the fake port: sets are held until the sync ends (or a wait passes), chats rank by
 * their newest activity across every set, each keeps its newest messages in their original order,
 * a live event in a held chat sends that chat's history first, and nothing is handed over twice.
 */
import assert from 'node:assert/strict';
import { proto, type BaileysEventMap, type WAMessage } from 'baileys';
import type { RemoteBackfill, RemoteEvent, UserLoginHandle } from '../../shared/src/network/index.js';
import { WAEventHandler } from '../../bridges/whatsapp/src/connector/handle-whatsapp.js';
import type { HistoryLimits } from '../../bridges/whatsapp/src/connector/history-buffer.js';
import { RecordingLogin } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const ME_DIGITS = '15550001111';
const ME = `${ME_DIGITS}@s.whatsapp.net`;
const BOB = '15550002222@s.whatsapp.net';
const CAROL = '15550003333@s.whatsapp.net';
const DAVE = '15550004444@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';
const SYNC = proto.HistorySync.HistorySyncType;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('whatsapp history sync limits', function () {
  this.timeout(20_000);
  let fake: FakeWAPort;
  let login: RecordingLogin;
  let handler: WAEventHandler;
  let contacts: string[];

  async function setup(limits: HistoryLimits, waitMs: number): Promise<void> {
    fake = await createFakeWAPort({ me: ME, emitOwnEvents: false });
    login = new RecordingLogin(ME_DIGITS as UserLoginHandle['id'], 'Alice');
    contacts = [];
    handler = new WAEventHandler(login, { pnForLid: async () => undefined }, {
      historyLimits: limits, historyDispatchWaitMs: waitMs, historyNoticeIntervalMs: 0, onContact: (jid) => contacts.push(jid),
    });
    handler.attach(fake.port);
  }
  afterEach(async () => {
    handler.close();
    await fake.close();
  });

  /** A history message: `ts` in seconds; a group message is from Carol. */
  const m = (chat: string, id: string, ts: number): WAMessage =>
    fake.makeIncoming({ conversation: `${id}` }, { chat, from: chat === GROUP ? CAROL : chat, id, timestamp: ts });
  /** Messages newest first, as WhatsApp sends history. */
  const newestFirst = (msgs: WAMessage[]) => [...msgs].sort((a, b) => Number(b.messageTimestamp) - Number(a.messageTimestamp));

  async function emitted(fn: () => void): Promise<RemoteEvent[]> {
    const before = login.queued.length;
    fn();
    await handler.idle();
    return login.queued.slice(before);
  }
  const historySet = (set: Partial<BaileysEventMap['messaging-history.set']>) =>
    emitted(() => fake.ev.emit('messaging-history.set', { chats: [], contacts: [], ...set, messages: newestFirst(set.messages ?? []) }));
  const backfills = (evts: RemoteEvent[]) => evts.filter((e): e is RemoteBackfill => e.type === 'backfill');
  /** chat -> WhatsApp ids of its backfilled messages, in the order handed over. */
  const byChat = (evts: RemoteEvent[]) => Object.fromEntries(backfills(evts).map((b) => [b.portal.id, b.messages.map((x) => x.id.split('/')[2])]));
  async function notices(): Promise<string[]> {
    await handler.history.idle();
    return login.progress.map((p) => p.text);
  }

  it('ranks chats across every set of the sync, and keeps each chat\'s newest messages in order', async () => {
    await setup({ maxChats: 2, maxMessagesPerChat: 3 }, 60_000);
    // The bootstrap: Bob (newest at 500) and a group (newest at 300).
    const first = await historySet({
      syncType: SYNC.INITIAL_BOOTSTRAP, progress: 100,
      messages: [m(BOB, 'B4', 400), m(BOB, 'B5', 500), m(GROUP, 'G1', 250), m(GROUP, 'G2', 300)],
    });
    assert.deepEqual(first, [], 'the bootstrap is held: more sets follow');
    // A RECENT chunk brings older messages of Bob's chat and Dave's chat, newer than the group.
    assert.deepEqual(await historySet({
      syncType: SYNC.RECENT, progress: 40,
      messages: [m(BOB, 'B1', 100), m(BOB, 'B2', 200), m(BOB, 'B3', 300), m(DAVE, 'D1', 350), m(DAVE, 'D2', 450), m(BOB, 'B4', 400)],
    }), []);
    assert.deepEqual(await notices(), ['History sync: 0 of 2 chats, 0 messages so far', 'History sync: 0 of 2 chats, 0 messages so far (40%)']);
    // The last chunk: everything is dispatched, one backfill per chat, most recent chat first.
    const last = await historySet({ syncType: SYNC.RECENT, progress: 100, messages: [m(GROUP, 'G0', 50)] });
    assert.deepEqual(byChat(last), { [BOB]: ['B3', 'B4', 'B5'], [DAVE]: ['D1', 'D2'] }, 'the group ranks third and gets nothing');
    assert.deepEqual(backfills(last).map((b) => b.portal.id), [BOB, DAVE]);
    const bob = backfills(last)[0]!;
    assert.deepEqual(bob.messages.map((x) => x.timestamp), [300_000, 400_000, 500_000], 'original times, oldest first');
    assert.equal(bob.timestamp, 500_000);
    assert.equal(bob.messages[0]!.id, `${BOB}/15550002222/B3`);
    assert.deepEqual((await notices()).slice(-1), ['History sync finished: 2 of 2 chats, 5 messages']);
  });

  it('a chat list\'s conversationTimestamp counts as activity; a message seen twice is held once', async () => {
    await setup({ maxChats: 1, maxMessagesPerChat: 10 }, 0);
    const evts = await historySet({
      syncType: SYNC.RECENT, progress: 100,
      // Carol's messages are older, but her chat was active last (a message the history does not carry).
      chats: [{ id: CAROL, conversationTimestamp: 900 }, { id: BOB, conversationTimestamp: 500 }],
      messages: [m(BOB, 'B1', 500), m(CAROL, 'C1', 100), m(CAROL, 'C1', 100), m(CAROL, 'C2', 200)],
    });
    assert.deepEqual(byChat(evts), { [CAROL]: ['C1', 'C2'] });
  });

  it('after a wait with no more sets, dispatches; later sets fill a chat\'s quota but no place beyond the limit', async () => {
    await setup({ maxChats: 2, maxMessagesPerChat: 3 }, 50);
    const before = login.queued.length;
    assert.deepEqual(await historySet({ syncType: SYNC.INITIAL_BOOTSTRAP, progress: 100, messages: [m(BOB, 'B3', 300), m(GROUP, 'G1', 200)] }), []);
    await sleep(120);
    await handler.idle();
    const waited = login.queued.slice(before);
    assert.deepEqual(byChat(waited), { [BOB]: ['B3'], [GROUP]: ['G1'] });
    assert.equal((await notices()).at(-1), 'History sync finished: 2 of 2 chats, 2 messages');
    // A late chunk: older messages of Bob (two more fit his quota of three) and a third chat (no place left).
    const late = await historySet({
      syncType: SYNC.RECENT, progress: 100,
      messages: [m(BOB, 'B0', 50), m(BOB, 'B1', 100), m(BOB, 'B2', 200), m(BOB, 'B3', 300), m(DAVE, 'D1', 900)],
    });
    assert.deepEqual(byChat(late), { [BOB]: ['B1', 'B2'] }, 'B3 is not handed over again; B0 is past the quota');
    const all = backfills(login.queued).flatMap((b) => b.messages.map((x) => x.id));
    assert.equal(new Set(all).size, all.length, 'no message handed over twice');
  });

  it('after a RECENT chunk below 100% the end is awaited (no timer); "paused" dispatches and finishes', async () => {
    await setup({ maxChats: 5, maxMessagesPerChat: 5 }, 30);
    await historySet({ syncType: SYNC.RECENT, progress: 30, messages: [m(BOB, 'B1', 100)] });
    // Push names between the chunks announce nothing either way: still no timer.
    await historySet({ syncType: SYNC.PUSH_NAME, contacts: [{ id: BOB, notify: 'Bob' }] });
    await sleep(80);
    await handler.idle();
    assert.deepEqual(login.queued, [], 'a chunked sync announces its end');
    const paused = await emitted(() => fake.ev.emit('messaging-history.status', { syncType: SYNC.RECENT, status: 'paused', explicit: false }));
    assert.deepEqual(byChat(paused), { [BOB]: ['B1'] });
    assert.equal((await notices()).at(-1), 'History sync finished: 1 of 1 chat, 1 message');
  });

  it('a live event in a held chat sends its history first; a chat outside the limit gets only its live message', async () => {
    await setup({ maxChats: 2, maxMessagesPerChat: 5 }, 60_000);
    await historySet({
      syncType: SYNC.INITIAL_BOOTSTRAP, progress: 100,
      messages: [m(BOB, 'B1', 100), m(BOB, 'B2', 200), m(CAROL, 'C1', 300), m(DAVE, 'D1', 150)],
    });
    // Bob writes now: his held history goes first.
    const live = await emitted(() => fake.emitIncoming(fake.makeIncoming({ conversation: 'now' }, { from: BOB, id: 'B3' })));
    assert.deepEqual(live.map((e) => [e.type, e.portal.id]), [['backfill', BOB], ['message', BOB]]);
    assert.deepEqual(byChat(live), { [BOB]: ['B1', 'B2'] });
    // A message both in the history and live has one id, by which the core drops the second.
    const again = await emitted(() => fake.emitIncoming(m(BOB, 'B2', 200)));
    assert.deepEqual(again.map((e) => e.type === 'message' && e.id), [backfills(live)[0]!.messages[1]!.id]);
    // The sync ends: Carol takes the other place; Dave's chat ranked third and gets no history,
    // but his live message still comes (the core makes its room).
    assert.deepEqual(byChat(await historySet({ syncType: SYNC.RECENT, progress: 100, messages: [] })), { [CAROL]: ['C1'] });
    const dave = await emitted(() => fake.emitIncoming(fake.makeIncoming({ conversation: 'hi' }, { from: DAVE, id: 'D2' })));
    assert.deepEqual(dave.map((e) => e.type), ['message']);
    assert.equal((await notices()).at(-1), 'History sync finished: 2 of 2 chats, 3 messages');
  });

  it('0 disables history: no backfill and no notice, while contacts are still read', async () => {
    await setup({ maxChats: 0, maxMessagesPerChat: 100 }, 0);
    const evts = await historySet({
      syncType: SYNC.RECENT, progress: 100, contacts: [{ id: BOB, notify: 'Bob' }], messages: [m(BOB, 'B1', 100)],
    });
    assert.deepEqual(evts, []);
    assert.deepEqual(contacts, [BOB]);
    assert.deepEqual(await notices(), []);
  });

  it('on-demand history is bridged as it comes, without limits', async () => {
    await setup({ maxChats: 1, maxMessagesPerChat: 1 }, 60_000);
    const evts = await historySet({ syncType: SYNC.ON_DEMAND, messages: [m(BOB, 'B1', 100), m(BOB, 'B2', 200), m(CAROL, 'C1', 300)] });
    assert.deepEqual(byChat(evts), { [BOB]: ['B1', 'B2'], [CAROL]: ['C1'] });
    assert.deepEqual(await notices(), []);
  });
});
