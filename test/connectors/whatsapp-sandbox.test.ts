/**
 * The real WhatsApp connector over the emulated socket (bridges/whatsapp/src/sandbox) against an
 * in-process sandbox server: QR and pairing-code login, history, both directions of messages and
 * media, reconnects without loss, logout. The e2e suite runs the same through Synapse.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import {
  userLoginId, type BridgeHandle, type LoginStep, type NewLoginData, type RemoteEvent, type RemoteUserId, type UserHandle,
} from '../../shared/src/network/index.js';
import { WHATSAPP_SECTION, whatsappMigrations } from '../../bridges/whatsapp/src/db/migrations.js';
import { WhatsAppConnector, whatsappConfigSchema, type WhatsAppConfig } from '../../bridges/whatsapp/src/connector/connector.js';
import type { WhatsAppAPI } from '../../bridges/whatsapp/src/connector/wa-api.js';
import { generateTestPng, startSandboxServer, type SandboxServer } from '../../bridges/sandbox/src/server/index.js';

import { RecordingLogin, recordingConvertContext } from '../helpers/fake-login.js';

const log = pino({ level: 'silent' });
const ME = '15550000000';
const ALICE_JID = '15550000001@s.whatsapp.net';
const ALICE_DM = { id: ALICE_JID, receiver: ME };

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('whatsapp connector over the sandbox socket', function () {
  this.timeout(30_000);
  let server: SandboxServer;
  let db: Database;
  let connector: WhatsAppConnector;
  let logins: RecordingLogin[];
  let apis: WhatsAppAPI[];

  const control = async <T = unknown>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${server.url}/control${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const enc = encodeURIComponent;

  const user: UserHandle = {
    mxid: '@alice:example.org',
    async newLogin(data: NewLoginData) {
      await db.users.getOrCreate('@alice:example.org');
      await db.logins.upsert({ id: data.id, userMxid: '@alice:example.org', remoteName: data.remoteName, spaceRoom: null, metadata: {}, createdAt: Date.now() });
      const login = new RecordingLogin(data.id);
      logins.push(login);
      return login;
    },
  };

  beforeEach(async () => {
    server = await startSandboxServer({ port: 0, seed: 'demo', qrRotateMs: 60_000 });
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations);
    logins = [];
    apis = [];
    // The sandbox sends its history as one INITIAL_BOOTSTRAP set: the wait for more is shortened.
    connector = new WhatsAppConnector({ historyDispatchWaitMs: 200 });
    const config = whatsappConfigSchema.parse({ sandbox_url: server.url, reconnect: { min_ms: 20, max_ms: 100 } });
    const bridge: BridgeHandle<WhatsAppConfig> = {
      networkConfig: config, log, serverName: 'example.org', db,
      ghostUserId: (u: RemoteUserId) => `@whatsapp_${u}:example.org`, getLogin: () => undefined,
    };
    connector.init(bridge);
  });

  afterEach(async () => {
    for (const api of apis) await api.disconnect();
    await server.close();
    await db.close();
  });

  /** QR login approved on the sandbox as `me`; returns the stored login, connected. */
  async function loginByQr(): Promise<{ login: RecordingLogin; api: WhatsAppAPI }> {
    const proc = connector.createLogin(user, 'qr');
    const step = await proc.start();
    assert.equal(step.type, 'display_and_wait');
    const code = (step as Extract<LoginStep, { type: 'display_and_wait' }>).display.data ?? '';
    assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    await control('POST', `/login-codes/${enc(code)}/approve`, { account: 'me' });
    const done = await proc.wait!();
    assert.equal(done.type, 'complete');
    const login = await until('login row', () => logins[0]);
    assert.equal(login.id, ME);
    const api = connector.loadUserLogin(login) as WhatsAppAPI;
    apis.push(api);
    await api.connect();
    await until('connected', () => login.lastState() === 'CONNECTED');
    return { login, api };
  }

  const ofType = <T extends RemoteEvent['type']>(login: RecordingLogin, type: T) =>
    login.queued.filter((e): e is Extract<RemoteEvent, { type: T }> => e.type === type);

  it('logs in by QR code, sends the history, and bridges a contact\'s text both ways', async () => {
    await control('POST', `/chats/${enc('dm:alice:me')}/messages`, { as: 'alice', text: 'before the link' });
    const { login, api } = await loginByQr();
    const history = await until('history', () => ofType(login, 'backfill').find((b) => b.portal.id === ALICE_JID));
    assert.deepEqual(history.portal, ALICE_DM);
    const first = history.messages[0]!;
    const converted = await first.convert(recordingConvertContext(history.portal, true));
    assert.equal((converted.parts[0]!.content as { body: string }).body, 'before the link');

    await control('POST', `/chats/${enc('dm:alice:me')}/messages`, {
      as: 'alice', formatted: { text: 'hello there', entities: [{ type: 'bold', offset: 0, length: 5 }] },
    });
    const msg = await until('live message', () => ofType(login, 'message').find((m) => m.portal.id === ALICE_JID));
    assert.deepEqual(msg.sender, { user: '15550000001', isFromMe: false });
    const live = await msg.convert(recordingConvertContext(msg.portal, true));
    const content = live.parts[0]!.content as { body: string; entities?: Array<{ type: string }> };
    assert.equal(content.body, 'hello there');
    assert.ok(content.entities?.some((e) => e.type === 'bold'), 'bold survives the WhatsApp markup round trip');

    await api.socket().sendMessage(ALICE_JID, { text: 'from *Matrix*' });
    const sent = await until('sandbox got the send', async () => {
      const list = await control<Array<{ sender: string; content: { text?: string; entities?: Array<{ type: string }> } }>>('GET', `/chats/${enc('dm:alice:me')}/messages`);
      return list.find((m) => m.sender === 'me' && m.content.text === 'from Matrix');
    });
    assert.deepEqual(sent.content.entities?.map((e) => e.type), ['bold']);
    // Like Baileys, the socket reports its own send once (an 'append' upsert the core matches to the
    // Matrix event); the sandbox's echo of the same message is not reported a second time.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ofType(login, 'message').filter((m) => m.sender.isFromMe).length, 1);
  });

  it('bridges media encrypted with Baileys\' media code, and survives a dropped connection without loss', async () => {
    const { login } = await loginByQr();
    const png = generateTestPng(8, 6);
    await control('POST', `/chats/${enc('dm:alice:me')}/messages`, { as: 'alice', image: { base64: png.toString('base64'), mimetype: 'image/png', caption: 'pic' } });
    const msg = await until('image', () => ofType(login, 'message').find((m) => m.portal.id === ALICE_JID));
    const ctx = recordingConvertContext(msg.portal, true);
    await msg.convert(ctx);
    assert.equal(ctx.uploads.length, 1);
    assert.ok(ctx.uploads[0]!.bytes.equals(png), 'the decrypted bytes equal what alice sent');

    const states = login.states.length;
    await control('POST', '/accounts/me/disconnect', { refuse_ms: 300 });
    await control('POST', `/chats/${enc('dm:alice:me')}/messages`, { as: 'alice', text: 'while you were away' });
    await until('reconnected', () => login.states.slice(states).some((s) => s.stateEvent === 'TRANSIENT_DISCONNECT') && login.lastState() === 'CONNECTED');
    const away = await until('missed message', () => ofType(login, 'message').filter((m) => m.portal.id === ALICE_JID)[1]);
    assert.equal(((await away.convert(recordingConvertContext(away.portal, true))).parts[0]!.content as { body: string }).body, 'while you were away');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ofType(login, 'message').length, 2, 'nothing bridged twice');
  });

  it('pairing code: the code the sandbox shows, entered for the right number, logs in', async () => {
    const proc = connector.createLogin(user, 'pairing-code');
    await proc.start();
    const step = await proc.submitUserInput!({ phone: '+1 555 000 0000' });
    assert.equal(step.type, 'display_and_wait');
    const code = (step as Extract<LoginStep, { type: 'display_and_wait' }>).display.data ?? '';
    assert.match(code, /^[A-Z0-9]{8}$/);
    await control('POST', `/login-codes/${enc(`${code.slice(0, 4)}-${code.slice(4)}`)}/approve`, { account: 'me' });
    assert.equal((await proc.wait!()).type, 'complete');
    assert.equal(logins[0]?.id, userLoginId(ME));
  });

  it('a logout on the sandbox (device unlinked) ends the login', async () => {
    const { login } = await loginByQr();
    await control('POST', '/accounts/me/logout', { reason: 'device unlinked' });
    await until('logged out', () => login.logouts.length > 0 || login.lastState() === 'LOGGED_OUT');
  });
});
