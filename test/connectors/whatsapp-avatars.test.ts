/**
 * WhatsApp profile pictures: avatarOf against pictures served by a local HTTP server (the fake
 * port's media server on 127.0.0.1), ghost and group avatars through WhatsAppAPI, and group
 * picture changes (Baileys' GROUP_CHANGE_ICON stub) as chat_info_change events.
 */
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { Boom } from '@hapi/boom';
import { pino } from 'pino';
import { proto, type GroupMetadata, type WAMessage } from 'baileys';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { portalKey, userLoginId, type BridgeHandle, type RemoteUserId } from '../../shared/src/network/index.js';
import { useSqlAuthState } from '../../bridges/whatsapp/src/db/auth-state.js';
import { WHATSAPP_SECTION, whatsappMigrations } from '../../bridges/whatsapp/src/db/migrations.js';
import { WhatsAppConnector, whatsappConfigSchema, type WhatsAppConfig } from '../../bridges/whatsapp/src/connector/connector.js';
import type { WhatsAppAPI } from '../../bridges/whatsapp/src/connector/wa-api.js';
import { avatarIdOf, avatarOf, isNoPictureError } from '../../bridges/whatsapp/src/connector/avatars.js';
import type { WAClientPort } from '../../bridges/whatsapp/src/client/port.js';
import { RecordingLogin } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const log = pino({ level: 'silent' });
const ALICE = '@alice:example.org';
const ME_DIGITS = '15550001111';
const ME = `${ME_DIGITS}@s.whatsapp.net`;
const BOB = '15550002222@s.whatsapp.net';
const CAROL = '15550003333@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';
const PICTURE = Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Buffer.from('bob-profile-picture'), 0xff, 0xd9]);
const GROUP_PICTURE = Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Buffer.from('group-picture'), 0xff, 0xd9]);


async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never happened: ${what}`);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** A profilePictureUrl answering from a table: a URL, or an error to throw, per jid. */
function pictures(table: Record<string, string | Error | undefined>, asked: string[] = []): WAClientPort['profilePictureUrl'] {
  return async (jid, type) => {
    asked.push(`${jid} ${type ?? ''}`);
    const v = table[jid];
    if (v instanceof Error) throw v;
    if (v === undefined) throw new Boom('item-not-found', { data: 404 });
    return v;
  };
}

/** The errors Baileys' IQ query throws for a missing and a hidden picture. */
const NOT_FOUND = new Boom('item-not-found', { data: 404 });
const NOT_AUTHORIZED = new Boom('not-authorized', { data: 401 });

function iconStub(params: string[], author = BOB): WAMessage {
  return proto.WebMessageInfo.fromObject({
    key: { remoteJid: GROUP, fromMe: false, id: `pic-${params.join('-') || 'removed'}`, participant: GROUP },
    messageStubType: proto.WebMessageInfo.StubType.GROUP_CHANGE_ICON,
    messageStubParameters: params,
    participant: author,
    messageTimestamp: 1_700_000_000,
  }) as WAMessage;
}

describe('whatsapp avatars', function () {
  this.timeout(20_000);
  let db: Database;
  let connector: WhatsAppConnector;
  let fake: FakeWAPort | undefined;
  let api: WhatsAppAPI | undefined;
  let table: Record<string, string | Error | undefined>;
  let asked: string[];

  async function connected(): Promise<{ login: RecordingLogin; api: WhatsAppAPI; fake: FakeWAPort }> {
    const f = await createFakeWAPort({ me: ME, overrides: { profilePictureUrl: pictures(table, asked) } });
    fake = f;
    await db.users.getOrCreate(ALICE);
    await db.logins.upsert({ id: userLoginId(ME_DIGITS), userMxid: ALICE, remoteName: `+${ME_DIGITS}`, spaceRoom: null, metadata: {}, createdAt: Date.now() });
    const auth = await useSqlAuthState(db, ME_DIGITS);
    auth.state.creds.me = { id: `${ME_DIGITS}:4@s.whatsapp.net`, name: 'Me' };
    await auth.saveCreds();
    let made = 0;
    connector = new WhatsAppConnector({
      makeSocket: () => {
        made++;
        return f.port;
      },
    });
    const config: WhatsAppConfig = whatsappConfigSchema.parse({});
    const bridge: BridgeHandle<WhatsAppConfig> = {
      networkConfig: config, log, serverName: 'example.org', db,
      ghostUserId: (u: RemoteUserId) => `@whatsapp_${u}:example.org`,
      getLogin: () => undefined,
    };
    connector.init(bridge);
    const login = new RecordingLogin(userLoginId(ME_DIGITS));
    const a = connector.loadUserLogin(login) as WhatsAppAPI;
    api = a;
    a.connect();
    await until(() => made === 1, 'socket made');
    f.ev.emit('connection.update', { connection: 'open' });
    await until(() => login.states.at(-1)?.stateEvent === 'CONNECTED', 'connected');
    return { login, api: a, fake: f };
  }

  beforeEach(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations);
    table = {};
    asked = [];
    fake = undefined;
    api = undefined;
  });

  afterEach(async () => {
    await api?.disconnect();
    await fake?.close();
    await db.close();
  });

  describe('avatarOf', () => {
    let server: FakeWAPort;
    before(async () => {
      server = await createFakeWAPort({ me: ME });
    });
    after(async () => {
      await server.close();
    });

    it('fetches the full-size picture from its URL, with an id from the URL path', async () => {
      const url = `${server.mediaServer.put(PICTURE)}?ccb=11-4&oh=abc&oe=123`;
      const calls: string[] = [];
      const avatar = await avatarOf({ profilePictureUrl: pictures({ [BOB]: url }, calls) }, BOB);
      assert.ok(avatar?.source);
      assert.deepEqual(calls, [`${BOB} image`]);
      assert.equal(avatar.source.mimetype, 'image/jpeg');
      assert.deepEqual(await readAll(await avatar.source.open()), PICTURE);
      // The same picture under fresh signatures keeps its id; another picture gets another one.
      assert.equal(avatar.id, avatarIdOf(url.replace('oe=123', 'oe=456')));
      assert.equal(avatar.id, avatarIdOf(url.replace('127.0.0.1', 'localhost')));
      assert.notEqual(avatar.id, avatarIdOf(server.mediaServer.put(PICTURE)));
    });

    it('has no avatar when the picture is missing or hidden, and throws other errors', async () => {
      const sock = { profilePictureUrl: pictures({ [BOB]: NOT_FOUND, [CAROL]: NOT_AUTHORIZED }) };
      assert.equal(await avatarOf(sock, BOB), undefined);
      assert.equal(await avatarOf(sock, CAROL), undefined);
      assert.equal(await avatarOf({ profilePictureUrl: async () => undefined }, BOB), undefined);
      const timeout = new Boom('Timed Out', { statusCode: 408 });
      await assert.rejects(avatarOf({ profilePictureUrl: async () => Promise.reject(timeout) }, BOB), /Timed Out/);
      assert.equal(isNoPictureError(new Error('boom')), false);
      assert.equal(isNoPictureError(undefined), false);
    });

    it('uses the given fetch and fails open() on an HTTP error', async () => {
      const url = server.mediaServer.put(PICTURE);
      server.mediaServer.expire(url);
      const fetched: string[] = [];
      const fetchFn: typeof globalThis.fetch = async (input, init) => {
        fetched.push(String(input));
        return globalThis.fetch(input, init);
      };
      const avatar = await avatarOf({ profilePictureUrl: async () => url }, BOB, fetchFn);
      await assert.rejects(avatar!.source!.open(), /HTTP 410/);
      assert.deepEqual(fetched, [url]);
    });
  });

  it('gives ghosts their profile picture, and none when it is hidden or missing', async () => {
    const { api: a, fake: f } = await connected();
    const url = `${f.mediaServer.put(PICTURE)}?oe=1`;
    table[BOB] = url;
    table[CAROL] = NOT_AUTHORIZED;
    const bob = await a.getUserInfo('15550002222' as RemoteUserId);
    assert.equal(bob.avatar?.id, avatarIdOf(url));
    assert.deepEqual(await readAll(await bob.avatar!.source!.open()), PICTURE);
    assert.deepEqual(bob.identifiers, ['+15550002222']);

    const carol = await a.getUserInfo('15550003333' as RemoteUserId);
    assert.equal(carol.avatar, undefined);
    const dave = await a.getUserInfo('15550004444' as RemoteUserId);
    assert.equal(dave.avatar, undefined);
    // LID ghosts are asked for by their LID.
    await a.getUserInfo('lid-777888999' as RemoteUserId);
    assert.ok(asked.includes('777888999@lid image'));
  });

  it('gives a group room its picture, and none when it has none', async () => {
    const { api: a, fake: f } = await connected();
    f.groups.set(GROUP, { id: GROUP, subject: 'Team', participants: [{ id: ME, admin: null }, { id: BOB, admin: null }] } as GroupMetadata);
    const url = f.mediaServer.put(GROUP_PICTURE);
    table[GROUP] = url;
    const info = await a.getChatInfo(portalKey(GROUP));
    assert.equal(info.name, 'Team');
    assert.equal(info.avatar?.id, avatarIdOf(url));
    assert.deepEqual(await readAll(await info.avatar!.source!.open()), GROUP_PICTURE);

    table[GROUP] = NOT_FOUND;
    assert.equal((await a.getChatInfo(portalKey(GROUP))).avatar, undefined);
    // A lookup that fails for another reason does not fail the chat info.
    table[GROUP] = new Boom('Timed Out', { statusCode: 408 });
    const again = await a.getChatInfo(portalKey(GROUP));
    assert.equal(again.avatar, undefined);
    assert.equal(again.name, 'Team');
  });

  it('turns a group picture change into a chat_info_change with the new avatar', async () => {
    const { login, api: a, fake: f } = await connected();
    const url = f.mediaServer.put(GROUP_PICTURE);
    table[GROUP] = url;
    f.emitIncoming(iconStub(['1700000001']), 'append');
    await until(() => login.queued.length === 1, 'picture change queued');
    await a.events.idle();
    const evt = login.queued[0];
    assert.equal(evt?.type, 'chat_info_change');
    assert.equal(evt.portal.id, GROUP);
    assert.deepEqual(evt.sender, { user: '15550002222', isFromMe: false });
    assert.equal(evt.timestamp, 1_700_000_000_000);
    assert.equal(evt.change.avatar?.id, avatarIdOf(url));
    assert.deepEqual(await readAll(await evt.change.avatar!.source!.open()), GROUP_PICTURE);

    // A new picture gets a new id.
    const url2 = f.mediaServer.put(PICTURE);
    table[GROUP] = url2;
    f.emitIncoming(iconStub(['1700000002']), 'append');
    await until(() => login.queued.length === 2, 'second change queued');
    const second = login.queued[1];
    assert.equal(second?.type, 'chat_info_change');
    assert.equal(second.change.avatar?.id, avatarIdOf(url2));
    assert.notEqual(second.change.avatar?.id, evt.change.avatar?.id);
  });

  it('turns a removed group picture into an avatar removal', async () => {
    const { login, fake: f } = await connected();
    f.emitIncoming(iconStub([], ME), 'append');
    await until(() => login.queued.length === 1, 'removal queued');
    const evt = login.queued[0];
    assert.equal(evt?.type, 'chat_info_change');
    assert.deepEqual(evt.change, { avatar: { id: '', remove: true } });
    assert.equal(evt.sender.isFromMe, true);
    // Other messages bring no picture events.
    f.emitIncoming(f.makeIncoming({ conversation: 'hi' }, { chat: GROUP, from: BOB }));
    await until(() => login.queued.length === 2, 'message queued');
    assert.equal(login.queued[1]?.type, 'message');
    assert.ok(!asked.some((q) => q.startsWith(GROUP)));
  });
});
