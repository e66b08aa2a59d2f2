/**
 * The WhatsApp connector's centre (WhatsAppConnector, WhatsAppAPI, the logins) driven through the
 * fake port built from Baileys' pieces, on a real migrated SQLite database, with fake core handles.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Boom } from '@hapi/boom';
import { pino } from 'pino';
import type { GroupMetadata, UserFacingSocketConfig } from 'baileys';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { BridgeError, portalKey, userLoginId, type BridgeHandle, type LoginStep, type NewLoginData, type RemoteUserId, type UserHandle } from '../../shared/src/network/index.js';
import { useSqlAuthState } from '../../bridges/whatsapp/src/db/auth-state.js';
import { LidMap } from '../../bridges/whatsapp/src/db/lid-map.js';
import { WHATSAPP_SECTION, whatsappMigrations } from '../../bridges/whatsapp/src/db/migrations.js';
import { WhatsAppConnector, whatsappConfigSchema, type WhatsAppConfig } from '../../bridges/whatsapp/src/connector/connector.js';
import type { WhatsAppAPI } from '../../bridges/whatsapp/src/connector/wa-api.js';
import { RecordingLogin } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort, type FakeWAPortOptions } from '../helpers/wa-fake-port.js';

const log = pino({ level: 'silent' });
const ALICE = '@alice:example.org';
const ME_DIGITS = '15550001111';
const ME = `${ME_DIGITS}@s.whatsapp.net`;
const BOB = '15550002222@s.whatsapp.net';
const CAROL = '15550003333@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';


/** Polls until `cond` holds (database work runs on other threads); the bound only stops a hang. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never happened: ${what}`);
}

async function createLoginRow(db: Database, id: string): Promise<void> {
  await db.users.getOrCreate(ALICE);
  await db.logins.upsert({ id: userLoginId(id), userMxid: ALICE, remoteName: `+${id}`, spaceRoom: null, metadata: {}, createdAt: Date.now() });
}

async function storeSession(db: Database, id: string): Promise<void> {
  await createLoginRow(db, id);
  const auth = await useSqlAuthState(db, id);
  auth.state.creds.me = { id: `${id}:4@s.whatsapp.net`, name: 'Me' };
  await auth.saveCreds();
}

describe('whatsapp connector', function () {
  this.timeout(20_000);
  let db: Database;
  let config: WhatsAppConfig;
  let connector: WhatsAppConnector;
  /** Fake sockets handed out by makeSocket, in order; `fakes` keeps every one for cleanup. */
  let queue: FakeWAPort[];
  let fakes: FakeWAPort[];
  let socketConfigs: UserFacingSocketConfig[];
  let apis: WhatsAppAPI[];

  async function addFake(overrides?: FakeWAPortOptions['overrides'], me = ME): Promise<FakeWAPort> {
    const fake = await createFakeWAPort({ me, ...(overrides ? { overrides } : {}) });
    queue.push(fake);
    fakes.push(fake);
    return fake;
  }

  function load(login: RecordingLogin): WhatsAppAPI {
    const api = connector.loadUserLogin(login) as WhatsAppAPI;
    apis.push(api);
    return api;
  }

  /** Loads a stored login, connects it and opens its socket. */
  async function connected(fake: FakeWAPort): Promise<{ login: RecordingLogin; api: WhatsAppAPI }> {
    await storeSession(db, ME_DIGITS);
    const login = new RecordingLogin(userLoginId(ME_DIGITS));
    const api = load(login);
    api.connect();
    await until(() => socketConfigs.length === 1, 'socket made');
    fake.ev.emit('connection.update', { connection: 'open' });
    await until(() => login.lastState() === 'CONNECTED', 'connected');
    return { login, api };
  }

  beforeEach(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations);
    config = whatsappConfigSchema.parse({});
    queue = [];
    fakes = [];
    socketConfigs = [];
    apis = [];
    connector = new WhatsAppConnector({
      makeSocket: (cfg) => {
        socketConfigs.push(cfg);
        const next = queue.shift();
        if (!next) throw new Error('test: no fake socket left');
        return next.port;
      },
    });
    const bridge: BridgeHandle<WhatsAppConfig> = {
      networkConfig: config, log, serverName: 'example.org', db,
      ghostUserId: (u: RemoteUserId) => `@whatsapp_${u}:example.org`,
      getLogin: () => undefined,
    };
    connector.init(bridge);
  });

  afterEach(async () => {
    for (const api of apis) await api.disconnect();
    for (const fake of fakes) await fake.close();
    await db.close();
  });

  it('describes itself and its config', () => {
    assert.equal(connector.name.networkId, 'whatsapp');
    assert.equal(connector.name.defaultPort, 29318);
    assert.equal(connector.migrations.section, WHATSAPP_SECTION);
    assert.deepEqual(connector.capabilities, { disappearingMessages: true, echoesOwnMessages: true });
    assert.deepEqual(config, {
      browser_name: 'Tributary', history_sync: { max_chats: 50, max_messages_per_chat: 100 }, phone_offline_warning_days: 12, status_broadcast: false, sandbox_url: null,
      reconnect: { min_ms: 1000, max_ms: 120_000 },
    });
    assert.throws(() => whatsappConfigSchema.parse({ reconnect: { min_ms: 1 } }));
    assert.throws(() => whatsappConfigSchema.parse({ reconnect: { min_ms: 5000, max_ms: 1000 } }), /min_ms/);
    assert.deepEqual(connector.getLoginFlows().map((f) => f.id), ['qr', 'pairing-code']);
  });

  it('connects with the stored session and reports CONNECTED on open', async () => {
    const fake = await addFake();
    const { login, api } = await connected(fake);
    assert.deepEqual(login.states.map((s) => s.stateEvent), ['CONNECTING', 'CONNECTED']);
    assert.equal(socketConfigs[0]?.auth?.creds.me?.id, `${ME_DIGITS}:4@s.whatsapp.net`);
    assert.equal(socketConfigs[0]?.browser?.[0], 'Tributary');
    assert.equal(api.socket(), fake.port);
    assert.equal(api.ownJid(), ME);
    assert.equal(api.isLoggedIn(), true);
    assert.equal(api.isThisUser(ME_DIGITS as RemoteUserId), true);
    assert.equal(api.isThisUser('15550002222' as RemoteUserId), false);
  });

  it('reports BAD_CREDENTIALS and makes no socket when no session is stored', async () => {
    await createLoginRow(db, ME_DIGITS);
    const login = new RecordingLogin(userLoginId(ME_DIGITS));
    const api = load(login);
    api.connect();
    await until(() => login.states.length > 0, 'a state');
    assert.equal(login.states[0]?.stateEvent, 'BAD_CREDENTIALS');
    assert.equal(login.states[0]?.error, 'wa-no-session');
    assert.equal(socketConfigs.length, 0);
    assert.equal(api.isLoggedIn(), false);
  });

  it('throws a retriable network error for sends while no socket is open', async () => {
    await storeSession(db, ME_DIGITS);
    const api = load(new RecordingLogin(userLoginId(ME_DIGITS)));
    assert.throws(() => api.socket(), (err: unknown) => err instanceof BridgeError && err.reason === 'm_network_error' && err.status === 'retriable');
  });

  it('maps a group with admins, a super-admin and LID members to ChatInfo', async () => {
    const fake = await addFake();
    fake.groups.set(GROUP, {
      id: GROUP, subject: 'Team', desc: 'Plans for the week', owner: CAROL, restrict: true, ephemeralDuration: 86_400,
      participants: [
        { id: ME, admin: null },
        { id: BOB, admin: 'admin' },
        { id: '111222333@lid', phoneNumber: CAROL, admin: 'superadmin' },
        { id: '444555666@lid', admin: null },
      ],
    } as GroupMetadata);
    const { api } = await connected(fake);
    const info = await api.getChatInfo(portalKey(GROUP));
    assert.equal(info.type, 'group');
    assert.equal(info.name, 'Team');
    assert.equal(info.topic, 'Plans for the week');
    assert.equal(info.membersComplete, true);
    assert.deepEqual(info.disappear, { type: 'after_send', timerMs: 86_400_000 });
    assert.equal(info.powerLevels?.name, 50);
    assert.deepEqual(info.members?.map((m) => [m.user, m.powerLevel, m.isFromMe ?? false]), [
      [ME_DIGITS, 0, true],
      ['15550002222', 50, false],
      ['15550003333', 75, false],
      ['lid-444555666', 0, false],
    ]);
    // The LID/phone pair WhatsApp sent with the participant is remembered.
    assert.equal(await new LidMap(db, ME_DIGITS).getPn('111222333@lid'), CAROL);
    assert.equal(await api.lids.pnForLid('111222333@lid'), CAROL);

    const dm = await api.getChatInfo(portalKey(BOB, ME_DIGITS));
    assert.equal(dm.type, 'dm');
    assert.equal(dm.otherUser, '15550002222');
  });

  it('resolves phone numbers with onWhatsApp and opens a DM portal', async () => {
    const asked: string[] = [];
    const fake = await addFake({
      onWhatsApp: async (...jids: string[]) => {
        asked.push(...jids);
        return jids.map((jid) => ({ jid, exists: jid === BOB }));
      },
    });
    const { api } = await connected(fake);
    fake.ev.emit('contacts.upsert', [{ id: BOB, notify: 'Bob' }]);
    await until(() => api.contactName('15550002222' as RemoteUserId) === 'Bob', 'contact remembered');

    const hit = await api.resolveIdentifier('+1 555 000-2222', true);
    assert.deepEqual(asked, [BOB]);
    assert.equal(hit?.user, '15550002222');
    assert.equal(hit?.info?.name, 'Bob');
    assert.deepEqual(hit?.info?.identifiers, ['+15550002222']);
    assert.deepEqual(hit?.chat?.portal, { id: BOB, receiver: ME_DIGITS });
    assert.equal(hit?.chat?.info?.otherUser, '15550002222');

    assert.equal(await api.resolveIdentifier('+15559999999', false), null);
    await assert.rejects(api.resolveIdentifier('not a number', false), (err: unknown) => err instanceof BridgeError && err.reason === 'm_bad_format');
    const contacts = await api.getContactList();
    assert.deepEqual(contacts.map((c) => [c.user, c.info?.name]), [['15550002222', 'Bob']]);
  });

  it('creates groups through groupCreate', async () => {
    const created: Array<[string, string[]]> = [];
    const fake = await addFake({
      groupCreate: async (subject: string, participants: string[]) => {
        created.push([subject, participants]);
        return { id: GROUP, subject, owner: ME, participants: [{ id: ME, admin: 'superadmin' }, ...participants.map((id) => ({ id, admin: null }))] } as GroupMetadata;
      },
    });
    const { api } = await connected(fake);
    const res = await api.createGroup({ name: 'New', members: ['15550002222' as RemoteUserId] });
    assert.deepEqual(created, [['New', [BOB]]]);
    assert.deepEqual(res.portal, { id: GROUP, receiver: '' });
    assert.deepEqual(res.info?.members?.map((m) => [m.user, m.powerLevel]), [[ME_DIGITS, 75], ['15550002222', 0]]);
  });

  it('records LID mappings from lid-mapping.update and history sync', async () => {
    const fake = await addFake();
    const { api } = await connected(fake);
    fake.ev.emit('lid-mapping.update', { lid: '777@lid', pn: BOB });
    fake.ev.emit('messaging-history.set', {
      chats: [], contacts: [], messages: [], isLatest: true, lidPnMappings: [{ lid: '888@lid', pn: CAROL }, { lid: 'bad', pn: 'worse' }],
    });
    const map = new LidMap(db, ME_DIGITS);
    let found: string | undefined;
    for (let i = 0; i < 200 && !found; i++) {
      found = await map.getPn('888@lid');
      if (!found) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(await map.getPn('777@lid'), BOB);
    assert.equal(await map.getPn('888@lid'), CAROL);
    assert.equal(await api.lids.pnForLid('777:3@lid'), BOB);
  });

  it('a logged-out close marks the login LOGGED_OUT, clears the session and reports the logout', async () => {
    const fake = await addFake();
    const { login, api } = await connected(fake);
    fake.ev.emit('connection.update', { connection: 'close', lastDisconnect: { error: new Boom('Connection Failure', { statusCode: 401 }), date: new Date() } });
    await until(() => login.logouts.length === 1, 'remote logout reported');
    assert.equal(login.lastState(), 'LOGGED_OUT');
    assert.equal(login.states.at(-1)?.error, 'wa-logged-out');
    assert.equal(api.isLoggedIn(), false);
    assert.equal(socketConfigs.length, 1, 'no reconnect after a logout');
    assert.equal((await useSqlAuthState(db, ME_DIGITS)).state.creds.me, undefined);
  });

  describe('login', () => {
    const NEW_DIGITS = '15550004444';
    let newLogins: NewLoginData[];
    let user: UserHandle;
    let created: RecordingLogin | undefined;

    beforeEach(() => {
      newLogins = [];
      created = undefined;
      // Like the core: create the row, load the API and connect it, all inside newLogin.
      user = {
        mxid: ALICE,
        newLogin: async (data) => {
          newLogins.push(data);
          await createLoginRow(db, data.id);
          created = new RecordingLogin(data.id, data.remoteName);
          load(created).connect();
          return created;
        },
      };
    });

    it('QR: shows each QR code, survives the 515 restart, and stores the session under the account', async () => {
      const first = await addFake(undefined, '');
      const afterRestart = await addFake(undefined, '');
      const loginApiSocket = await addFake(undefined, `${NEW_DIGITS}@s.whatsapp.net`);
      const proc = connector.createLogin(user, 'qr');
      const started = proc.start();
      await until(() => socketConfigs.length === 1, 'login socket');
      first.ev.emit('connection.update', { qr: '2@first-ref' });
      const step1 = await started;
      assert.equal(step1.type, 'display_and_wait');
      assert.deepEqual(step1.type === 'display_and_wait' && step1.display, { type: 'qr', data: '2@first-ref' });

      const waiting = proc.wait!();
      first.ev.emit('connection.update', { qr: '2@second-ref' });
      const step2 = await waiting;
      assert.deepEqual(step2.type === 'display_and_wait' && step2.display, { type: 'qr', data: '2@second-ref' });

      // The phone scans: Baileys fills creds.me and stores keys, then the server asks for a restart.
      const auth = socketConfigs[0]!.auth;
      auth.creds.me = { id: `${NEW_DIGITS}:12@s.whatsapp.net`, name: 'New' };
      const preKey = { public: randomBytes(33), private: randomBytes(32) };
      await auth.keys.set({ 'pre-key': { '7': preKey } });
      first.ev.emit('connection.update', { isNewLogin: true, qr: undefined });
      first.ev.emit('connection.update', { connection: 'close', lastDisconnect: { error: new Boom('restart required', { statusCode: 515 }), date: new Date() } });
      await until(() => socketConfigs.length === 2, 'restarted socket');
      assert.equal(socketConfigs[1]!.auth, auth, 'the restarted socket keeps the in-memory session');
      const done = proc.wait!();
      afterRestart.ev.emit('connection.update', { connection: 'open' });
      const final: LoginStep = await done;

      assert.equal(final.type, 'complete');
      assert.deepEqual(final.type === 'complete' && final.complete, { userLoginId: NEW_DIGITS, remoteName: `+${NEW_DIGITS}` });
      // The pairing is the first sign of the phone (phone-offline watchdog).
      assert.deepEqual(newLogins, [{ id: NEW_DIGITS, remoteName: `+${NEW_DIGITS}`, metadata: { phone_last_seen: newLogins[0]!.metadata.phone_last_seen } }]);
      assert.ok(Math.abs(Date.now() - Number(newLogins[0]!.metadata.phone_last_seen)) < 60_000);
      const stored = await useSqlAuthState(db, NEW_DIGITS);
      assert.equal(stored.state.creds.me?.id, `${NEW_DIGITS}:12@s.whatsapp.net`);
      assert.deepEqual(stored.state.creds.noiseKey.private, auth.creds.noiseKey.private);
      const keys = await stored.state.keys.get('pre-key', ['7']);
      assert.deepEqual(keys['7']?.public, preKey.public);

      // The new login's API read the session only after it was stored.
      await until(() => socketConfigs.length === 3, 'login API socket');
      assert.equal(socketConfigs[2]!.auth.creds.me?.id, `${NEW_DIGITS}:12@s.whatsapp.net`);
      loginApiSocket.ev.emit('connection.update', { connection: 'open' });
      await until(() => created?.lastState() === 'CONNECTED', 'new login connected');
    });

    it('pairing code: asks for the number, then shows the code Baileys returns', async () => {
      const requested: string[] = [];
      const fake = await addFake({
        requestPairingCode: async (phone: string) => {
          requested.push(phone);
          return 'ABCD2345';
        },
      }, '');
      const proc = connector.createLogin(user, 'pairing-code');
      const ask = await proc.start();
      assert.equal(ask.type, 'user_input');
      assert.equal(ask.type === 'user_input' && ask.fields[0]?.type, 'phone_number');
      await assert.rejects(proc.submitUserInput!({ phone: '12' }), (err: unknown) => err instanceof BridgeError && err.reason === 'm_bad_format');
      assert.equal(socketConfigs.length, 0);

      const submitted = proc.submitUserInput!({ phone: '+1 555 000 4444' });
      await until(() => socketConfigs.length === 1, 'login socket');
      fake.ev.emit('connection.update', { qr: '2@ref' });
      const code = await submitted;
      assert.deepEqual(requested, [NEW_DIGITS]);
      assert.equal(code.type, 'display_and_wait');
      assert.deepEqual(code.type === 'display_and_wait' && code.display, { type: 'code', data: 'ABCD2345' });
      assert.match(code.instructions, /ABCD-2345/);
      // A rotated QR does not ask for another code.
      fake.ev.emit('connection.update', { qr: '2@ref2' });
      proc.cancel();
      await assert.rejects(proc.wait!(), /cancelled/);
      assert.deepEqual(requested, [NEW_DIGITS]);
    });

    it('cancel ends the login socket and nothing is stored', async () => {
      const fake = await addFake(undefined, '');
      let closed = 0;
      fake.ev.on('connection.update', (u) => {
        if (u.connection === 'close') closed++;
      });
      const proc = connector.createLogin(user, 'qr');
      const started = proc.start();
      await until(() => socketConfigs.length === 1, 'login socket');
      fake.ev.emit('connection.update', { qr: '2@ref' });
      await started;
      proc.cancel();
      await assert.rejects(proc.wait!(), /cancelled/);
      await until(() => closed === 1, 'socket ended');
      assert.equal(newLogins.length, 0);
      assert.equal(await db.logins.get(userLoginId(NEW_DIGITS)), undefined);
    });

    it('a connection lost before pairing fails the login', async () => {
      const fake = await addFake(undefined, '');
      const proc = connector.createLogin(user, 'qr');
      const started = proc.start();
      await until(() => socketConfigs.length === 1, 'login socket');
      fake.ev.emit('connection.update', { connection: 'close', lastDisconnect: { error: new Boom('QR refs attempts ended', { statusCode: 408 }), date: new Date() } });
      await assert.rejects(started, (err: unknown) => err instanceof BridgeError && err.reason === 'm_network_error');
      assert.equal(socketConfigs.length, 1);
    });
  });
});
