/**
 * Presence subscriptions for open chats, seen through the fake port's recorded calls: the DMs
 * with recent activity when a connection opens, DMs of dispatched history, and a DM the person acts
 * in from Matrix (message, typing, read receipt, through the real WhatsAppAPI); at most once per JID
 * per socket, never for groups or the status broadcast.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { proto } from 'baileys';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { plain } from '../../shared/src/matrix/format/index.js';
import { portalKey, userLoginId, type BridgeHandle, type RemoteUserId, type UserLoginHandle } from '../../shared/src/network/index.js';
import { useSqlAuthState } from '../../bridges/whatsapp/src/db/auth-state.js';
import { WHATSAPP_SECTION, whatsappMigrations } from '../../bridges/whatsapp/src/db/migrations.js';
import { WhatsAppConnector, whatsappConfigSchema, type WhatsAppConfig } from '../../bridges/whatsapp/src/connector/connector.js';
import { WAEventHandler } from '../../bridges/whatsapp/src/connector/handle-whatsapp.js';
import { PresenceSubscriptions } from '../../bridges/whatsapp/src/connector/presence-subscriptions.js';
import type { WhatsAppAPI } from '../../bridges/whatsapp/src/connector/wa-api.js';
import { RecordingLogin } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const ME_DIGITS = '15550001111';
const ME = `${ME_DIGITS}@s.whatsapp.net`;
const BOB = '15550002222@s.whatsapp.net';
const CAROL = '15550003333@s.whatsapp.net';
const DAVE = '15550004444@s.whatsapp.net';
const EVE = '15550005555@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';

const subscribed = (fake: FakeWAPort) => fake.calls.filter((c) => c.method === 'presenceSubscribe').map((c) => c.args[0]);
const open = (fake: FakeWAPort) => fake.ev.emit('connection.update', { connection: 'open' });
const tick = () => new Promise((r) => setImmediate(r));

describe('whatsapp presence subscriptions', function () {
  this.timeout(20_000);
  const fakes: FakeWAPort[] = [];
  const newFake = async () => {
    const f = await createFakeWAPort({ me: ME, emitOwnEvents: false });
    fakes.push(f);
    return f;
  };
  afterEach(async () => {
    for (const f of fakes.splice(0)) await f.close();
  });

  it('on open: the recently active DMs, newest first; once per socket; again on a new socket', async () => {
    const fake = await newFake();
    const login = new RecordingLogin(ME_DIGITS as UserLoginHandle['id'], 'Alice');
    const handler = new WAEventHandler(login, { pnForLid: async () => undefined });
    handler.attach(fake.port);
    const live = (from: string, id: string, ts: number, chat = from) => fake.emitIncoming(fake.makeIncoming({ conversation: id }, { from, chat, id, timestamp: ts }));
    live(BOB, 'B1', 100);
    live(DAVE, 'D1', 200);
    live(CAROL, 'G1', 300, GROUP);
    live(BOB, 'S1', 400, 'status@broadcast');
    await handler.idle();
    assert.deepEqual(subscribed(fake), [], 'nothing before the connection is open');
    open(fake);
    assert.deepEqual(subscribed(fake), [DAVE, BOB], 'DMs only, the most recent first');
    live(BOB, 'B2', 500);
    await handler.idle();
    // History dispatched while connected: its DMs are subscribed at once, groups never.
    fake.ev.emit('messaging-history.set', {
      chats: [], contacts: [], syncType: proto.HistorySync.HistorySyncType.RECENT, progress: 100,
      messages: [fake.makeIncoming({ conversation: 'old' }, { from: EVE, id: 'E1', timestamp: 50 }), fake.makeIncoming({ conversation: 'x' }, { from: CAROL, chat: GROUP, id: 'G0', timestamp: 40 })],
    });
    await handler.idle();
    // The person acts in DMs from Matrix.
    handler.presence.active(portalKey(BOB, ME_DIGITS));
    handler.presence.active(portalKey(CAROL, ME_DIGITS));
    handler.presence.active(portalKey(GROUP));
    assert.deepEqual(subscribed(fake), [DAVE, BOB, EVE, CAROL], 'each JID once on this socket');

    const next = await newFake();
    handler.attach(next.port);
    handler.presence.active(portalKey(DAVE, ME_DIGITS));
    assert.deepEqual(subscribed(next), [], 'the new socket is not open yet');
    open(next);
    assert.deepEqual(subscribed(next), [DAVE, CAROL, BOB, EVE]);
    handler.close();
  });

  it('caps automatic subscriptions per socket, not the person\'s own; a failed one is tried again', async () => {
    let failNext = true;
    const calls: string[] = [];
    const sock = {
      presenceSubscribe: async (jid: string) => {
        calls.push(jid);
        if (failNext) {
          failNext = false;
          throw new Error('connection closed');
        }
      },
    };
    const subs = new PresenceSubscriptions(new RecordingLogin(ME_DIGITS as UserLoginHandle['id']).log, 1);
    subs.seen(portalKey(BOB, ME_DIGITS), 100);
    subs.seen(portalKey(CAROL, ME_DIGITS), 50);
    subs.opened(sock);
    await tick();
    assert.deepEqual(calls, [BOB]);
    subs.active(portalKey(CAROL, ME_DIGITS));
    subs.active(portalKey(BOB, ME_DIGITS));
    assert.deepEqual(calls, [BOB, CAROL, BOB], 'Bob\'s failed subscription is retried on the person\'s action');
    subs.active(portalKey(BOB, ME_DIGITS));
    assert.equal(calls.length, 3);
  });

  describe('through WhatsAppAPI: the person\'s message, typing and read receipt in a DM', () => {
    let db: Database;
    let api: WhatsAppAPI | undefined;
    afterEach(async () => {
      await api?.disconnect();
      await db.close();
    });

    it('subscribes to the DM partner once, and not for a group', async () => {
      db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
      await db.migrate();
      await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations);
      await db.users.getOrCreate('@alice:example.org');
      await db.logins.upsert({ id: userLoginId(ME_DIGITS), userMxid: '@alice:example.org', remoteName: `+${ME_DIGITS}`, spaceRoom: null, metadata: {}, createdAt: 1 });
      const auth = await useSqlAuthState(db, ME_DIGITS);
      auth.state.creds.me = { id: `${ME_DIGITS}:4@s.whatsapp.net`, name: 'Me' };
      await auth.saveCreds();
      const fake = await newFake();
      let made = 0;
      const connector = new WhatsAppConnector({ makeSocket: () => (made++, fake.port) });
      const bridge: BridgeHandle<WhatsAppConfig> = {
        networkConfig: whatsappConfigSchema.parse({}), log: pino({ level: 'silent' }), serverName: 'example.org', db,
        ghostUserId: (u: RemoteUserId) => `@whatsapp_${u}:example.org`, getLogin: () => undefined,
      };
      connector.init(bridge);
      const login = new RecordingLogin(userLoginId(ME_DIGITS));
      api = connector.loadUserLogin(login) as WhatsAppAPI;
      api.connect();
      for (let i = 0; i < 400 && made === 0; i++) await new Promise((r) => setTimeout(r, 5));
      open(fake);
      for (let i = 0; i < 400 && login.lastState() !== 'CONNECTED'; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(login.lastState(), 'CONNECTED');
      const dm = portalKey(BOB, ME_DIGITS);
      const base = { roomId: '!r:x', sender: '@alice:example.org', eventId: '$e1', timestamp: 1 };
      await api.handleMatrixTyping({ portal: portalKey(GROUP), roomId: '!g:x', sender: '@alice:example.org', typing: true });
      assert.deepEqual(subscribed(fake), []);
      await api.handleMatrixTyping({ portal: dm, roomId: '!r:x', sender: '@alice:example.org', typing: true });
      await api.handleMatrixReadReceipt({ ...base, portal: dm });
      await api.handleMatrixMessage({ ...base, portal: dm, msgtype: 'm.text', text: plain('hi'), txnId: 'txn-1', content: {} });
      assert.deepEqual(subscribed(fake), [BOB]);
    });
  });
});
