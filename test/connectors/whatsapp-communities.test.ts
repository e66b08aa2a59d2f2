/**
 * WhatsApp communities as spaces, through the real WhatsAppAPI on the fake port: a community's
 * ChatInfo is a space, its linked groups name it as parent, and link/unlink changes become
 * chat_info_change events with `parent` (from full group metadata in groups.update, and from the
 * COMMUNITY_* stubs, which re-read the group's metadata).
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { proto, type GroupMetadata, type WAMessage } from 'baileys';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { portalKey, userLoginId, type BridgeHandle, type RemoteEvent, type RemoteUserId } from '../../shared/src/network/index.js';
import { useSqlAuthState } from '../../bridges/whatsapp/src/db/auth-state.js';
import { WHATSAPP_SECTION, whatsappMigrations } from '../../bridges/whatsapp/src/db/migrations.js';
import { WhatsAppConnector, whatsappConfigSchema, type WhatsAppConfig } from '../../bridges/whatsapp/src/connector/connector.js';
import type { WhatsAppAPI } from '../../bridges/whatsapp/src/connector/wa-api.js';
import { avatarIdOf } from '../../bridges/whatsapp/src/connector/avatars.js';
import { RecordingLogin } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const log = pino({ level: 'silent' });
const ME_DIGITS = '15550001111';
const ME = `${ME_DIGITS}@s.whatsapp.net`;
const BOB = '15550002222@s.whatsapp.net';
const COMMUNITY = '120363000000000100@g.us';
const ANNOUNCE = '120363000000000101@g.us';
const SUB = '120363000000000102@g.us';
const PLAIN = '120363000000000103@g.us';
const STUB = proto.WebMessageInfo.StubType;

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never happened: ${what}`);
}

function group(id: string, subject: string, extra: Partial<GroupMetadata> = {}): GroupMetadata {
  return { id, subject, owner: undefined, participants: [{ id: ME, admin: 'superadmin' }, { id: BOB, admin: null }], ...extra } as GroupMetadata;
}

function stub(chat: string, type: number, params: string[] = [], id = `stub-${type}-${chat}`): WAMessage {
  return proto.WebMessageInfo.fromObject({
    key: { remoteJid: chat, fromMe: false, id, participant: BOB },
    messageStubType: type, messageStubParameters: params, messageTimestamp: 1_700_000_000,
  }) as WAMessage;
}

describe('whatsapp communities as spaces', function () {
  this.timeout(20_000);
  let db: Database;
  let fake: FakeWAPort;
  let api: WhatsAppAPI;
  let login: RecordingLogin;
  let pictureUrl: string;

  beforeEach(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations);
    fake = await createFakeWAPort({
      me: ME, emitOwnEvents: false,
      overrides: { profilePictureUrl: async (jid) => (jid === COMMUNITY ? pictureUrl : undefined) },
    });
    pictureUrl = fake.mediaServer.put(Buffer.from('community-picture'));
    await db.users.getOrCreate('@alice:example.org');
    await db.logins.upsert({ id: userLoginId(ME_DIGITS), userMxid: '@alice:example.org', remoteName: `+${ME_DIGITS}`, spaceRoom: null, metadata: {}, createdAt: 1 });
    const auth = await useSqlAuthState(db, ME_DIGITS);
    auth.state.creds.me = { id: `${ME_DIGITS}:4@s.whatsapp.net`, name: 'Me' };
    await auth.saveCreds();
    let made = 0;
    const connector = new WhatsAppConnector({ makeSocket: () => (made++, fake.port) });
    const bridge: BridgeHandle<WhatsAppConfig> = {
      networkConfig: whatsappConfigSchema.parse({}), log, serverName: 'example.org', db,
      ghostUserId: (u: RemoteUserId) => `@whatsapp_${u}:example.org`, getLogin: () => undefined,
    };
    connector.init(bridge);
    login = new RecordingLogin(userLoginId(ME_DIGITS));
    api = connector.loadUserLogin(login) as WhatsAppAPI;
    api.connect();
    await until(() => made === 1, 'socket made');
    fake.ev.emit('connection.update', { connection: 'open' });
    await until(() => login.lastState() === 'CONNECTED', 'connected');
    fake.groups.set(COMMUNITY, group(COMMUNITY, 'Neighbours', { isCommunity: true, desc: 'Everyone on our street' }));
    fake.groups.set(ANNOUNCE, group(ANNOUNCE, 'Neighbours', { linkedParent: COMMUNITY, isCommunityAnnounce: true, announce: true }));
    fake.groups.set(SUB, group(SUB, 'Street party', { linkedParent: COMMUNITY }));
    fake.groups.set(PLAIN, group(PLAIN, 'Book club'));
  });

  afterEach(async () => {
    await api?.disconnect();
    await fake.close();
    await db.close();
  });

  /** Runs fn and returns the events it queued once the handler is idle. */
  async function emitted(fn: () => void): Promise<RemoteEvent[]> {
    const before = login.queued.length;
    fn();
    await new Promise((r) => setImmediate(r));
    await api.events.idle();
    return login.queued.slice(before);
  }

  /** The `parent` of each chat_info_change, by portal ('absent' when the change has none). */
  function parents(evts: RemoteEvent[]): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (const e of evts) {
      assert.equal(e.type, 'chat_info_change');
      if (e.type === 'chat_info_change') out[e.portal.id] = 'parent' in e.change ? e.change.parent ?? null : 'absent';
    }
    return out;
  }

  it('gives a community a space ChatInfo with name, topic and picture, and its groups a parent', async () => {
    const community = await api.getChatInfo(portalKey(COMMUNITY, ''));
    assert.equal(community.type, 'space');
    assert.equal(community.name, 'Neighbours');
    assert.equal(community.topic, 'Everyone on our street');
    assert.equal(community.avatar?.id, avatarIdOf(pictureUrl));
    assert.equal(community.parent, undefined);
    assert.equal(community.membersComplete, false, 'WhatsApp does not list a whole community');
    for (const id of [ANNOUNCE, SUB]) {
      const info = await api.getChatInfo(portalKey(id, ''));
      assert.equal(info.type, 'group', id);
      assert.equal(info.parent, COMMUNITY, id);
      assert.equal(info.membersComplete, true, id);
    }
    const plain = await api.getChatInfo(portalKey(PLAIN, ''));
    assert.equal(plain.type, 'group');
    assert.equal(plain.parent, undefined);
  });

  it('reads links and unlinks from full metadata in groups.update, and leaves the parent alone in partial updates', async () => {
    const full = await emitted(() => fake.ev.emit('groups.update', [
      group(SUB, 'Street party', { linkedParent: COMMUNITY }),
      group(PLAIN, 'Book club'),
      group(COMMUNITY, 'Neighbours', { isCommunity: true }),
    ]));
    assert.deepEqual(parents(full), { [SUB]: COMMUNITY, [PLAIN]: null, [COMMUNITY]: 'absent' });
    const partial = await emitted(() => fake.ev.emit('groups.update', [{ id: SUB, subject: 'Street party 2025', author: BOB }]));
    assert.deepEqual(parents(partial), { [SUB]: 'absent' });
    assert.equal(partial[0]!.type === 'chat_info_change' && partial[0]!.change.name, 'Street party 2025');
  });

  it('re-reads a group on a link/unlink stub and reports its parent, attributed to the stub author', async () => {
    const linked = await emitted(() => fake.emitIncoming(stub(PLAIN, STUB.COMMUNITY_LINK_PARENT_GROUP, [COMMUNITY]), 'append'));
    assert.deepEqual(parents(linked), { [PLAIN]: null }, 'the metadata (not yet linked) decides, not the stub');
    fake.groups.set(PLAIN, group(PLAIN, 'Book club', { linkedParent: COMMUNITY }));
    const again = await emitted(() => fake.emitIncoming(stub(PLAIN, STUB.COMMUNITY_LINK_PARENT_GROUP, [], 'stub-2'), 'append'));
    assert.deepEqual(parents(again), { [PLAIN]: COMMUNITY });
    assert.deepEqual(again[0]!.type === 'chat_info_change' && again[0]!.sender, { user: '15550002222', isFromMe: false });
    fake.groups.set(SUB, group(SUB, 'Street party'));
    const unlinked = await emitted(() => fake.emitIncoming(stub(SUB, STUB.COMMUNITY_UNLINK_PARENT_GROUP), 'append'));
    assert.deepEqual(parents(unlinked), { [SUB]: null });
  });

  it('reads the groups a community stub names, and survives a group it cannot read', async () => {
    fake.groups.set(SUB, group(SUB, 'Street party', { linkedParent: COMMUNITY }));
    const evts = await emitted(() => fake.emitIncoming(stub(COMMUNITY, STUB.COMMUNITY_LINK_SUB_GROUP, [SUB, 'Street party'])));
    assert.deepEqual(parents(evts), { [SUB]: COMMUNITY });
    fake.groups.set(SUB, group(SUB, 'Street party'));
    const missing = await emitted(() => fake.emitIncoming(stub(COMMUNITY, STUB.COMMUNITY_UNLINK_SUB_GROUP, ['120363000000000999@g.us', SUB])));
    assert.deepEqual(parents(missing), { [SUB]: null }, 'the unreadable group is skipped, the other one reported');
    // The handler goes on with the next events.
    const text = await emitted(() => fake.emitIncoming(fake.makeIncoming({ conversation: 'still here' }, { chat: SUB, from: BOB, id: 'AFTER' })));
    assert.deepEqual(text.map((e) => e.type), ['message']);
  });
});
