/**
 * The core's UserLoginHandle additions, on a real Bridge and SQLite database with a recording
 * Matrix API in place of the homeserver: ghost profile updates, progress notices edited in place,
 * and reading back message metadata.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { makeConfigSchema, parseConfig } from '../../shared/src/config/index.js';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { Bridge } from '../../shared/src/core/bridge.js';
import { UserLogin } from '../../shared/src/core/user-login.js';
import {
  messageId, partId, portalKey, type MediaSource, type NetworkConnector, type RemoteUserId,
} from '../../shared/src/network/index.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

const ALICE = '@alice:example.org';
const BOB = 'bob' as RemoteUserId;

interface Call { method: string; args: unknown[] }

/** The MatrixApi methods these paths use, recorded; sendEvent answers with $ev1, $ev2, ... */
class RecordingApi {
  readonly calls: Call[] = [];
  failSend = false;
  private seq = 0;
  async register(localpart: string): Promise<void> {
    this.calls.push({ method: 'register', args: [localpart] });
  }
  async setDisplayName(asUser: string, name: string): Promise<void> {
    this.calls.push({ method: 'setDisplayName', args: [asUser, name] });
  }
  async setAvatarUrl(asUser: string, url: string): Promise<void> {
    this.calls.push({ method: 'setAvatarUrl', args: [asUser, url] });
  }
  async sendEvent(roomId: string, type: string, content: unknown, opts: { asUser: string; txnId: string }): Promise<string> {
    if (this.failSend) throw new Error('M_FORBIDDEN');
    this.calls.push({ method: 'sendEvent', args: [roomId, type, content, opts.asUser] });
    return `$ev${++this.seq}`;
  }
  of(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }
}

const source = (bytes: string): MediaSource => ({ mimetype: 'image/jpeg', open: async () => Readable.from([Buffer.from(bytes)]) });

describe('UserLoginHandle: ghost updates, progress notices, message metadata', () => {
  let db: Database;
  let bridge: Bridge;
  let api: RecordingApi;
  let uploads: string[];
  let login: UserLogin;

  beforeEach(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    const config = parseConfig(makeConfigSchema('test', z.object({})), { homeserver: { domain: 'example.org' } });
    bridge = new Bridge(config, db, {} as NetworkConnector<unknown>);
    api = new RecordingApi();
    uploads = [];
    const media = {
      upload: async (src: MediaSource) => {
        const chunks: Buffer[] = [];
        for await (const c of await src.open()) chunks.push(Buffer.from(c as Uint8Array));
        uploads.push(Buffer.concat(chunks).toString());
        return { url: `mxc://example.org/up${uploads.length}` };
      },
    };
    Object.assign(bridge, { api, media });
    await db.users.getOrCreate(ALICE);
    const row = { id: 'login1', userMxid: ALICE, remoteName: 'Alice', spaceRoom: null, metadata: {}, createdAt: 0 };
    await db.logins.upsert(row);
    login = new UserLogin(bridge, row);
  });
  afterEach(async () => {
    await db.close();
  });

  describe('updateGhost', () => {
    it('updates the name and avatar of an existing ghost, and only what changed', async () => {
      await db.ghosts.upsert({ id: BOB, name: 'Bob', nameSet: true, avatarSet: false });
      const mxid = bridge.ghostMxid(BOB);
      await login.updateGhost(BOB, { name: 'Bobby', avatar: { id: 'pic1', source: source('picture-1') } });
      assert.deepEqual(api.of('setDisplayName'), [[mxid, 'Bobby']]);
      assert.deepEqual(api.of('setAvatarUrl'), [[mxid, 'mxc://example.org/up1']]);
      assert.deepEqual(uploads, ['picture-1']);
      const row = await db.ghosts.get(BOB);
      assert.equal(row?.name, 'Bobby');
      assert.equal(row?.avatarId, 'pic1');

      // The same name and picture id again: nothing is sent or uploaded.
      const before = api.calls.length;
      await login.updateGhost(BOB, { name: 'Bobby', avatar: { id: 'pic1', source: source('picture-1') } });
      assert.equal(api.calls.length, before);
      // A removed picture clears the avatar.
      await login.updateGhost(BOB, { avatar: { id: '', remove: true } });
      assert.deepEqual(api.of('setAvatarUrl').at(-1), [mxid, '']);
      assert.equal((await db.ghosts.get(BOB))?.avatarMxc, null);
    });

    it('skips a person without a ghost: nothing registered, no row created', async () => {
      await login.updateGhost('carol' as RemoteUserId, { name: 'Carol', avatar: { id: 'c1', source: source('c') } });
      assert.deepEqual(api.calls, []);
      assert.equal(await db.ghosts.get('carol'), undefined);
    });

    it('logs a failure instead of throwing', async () => {
      await db.ghosts.upsert({ id: BOB, name: 'Bob', nameSet: true });
      api.setDisplayName = async () => {
        throw new Error('M_LIMIT_EXCEEDED');
      };
      await login.updateGhost(BOB, { name: 'Bobby' });
      assert.equal((await db.ghosts.get(BOB))?.name, 'Bob', 'the row keeps the name Matrix did not take');
    });
  });

  describe('sendProgressNotice', () => {
    it('sends a notice for a new key and edits it (m.replace) for the same key', async () => {
      await db.users.setManagementRoom(ALICE, '!mgmt:example.org');
      await login.sendProgressNotice('sync', 'Sync: 1 chat');
      await login.sendProgressNotice('sync', 'Sync: 2 chats');
      await login.sendProgressNotice('other', 'Other task');
      const sends = api.of('sendEvent');
      assert.equal(sends.length, 3);
      assert.deepEqual(sends[0], ['!mgmt:example.org', 'm.room.message', { msgtype: 'm.notice', body: 'Sync: 1 chat' }, bridge.botMxid]);
      assert.deepEqual(sends[1], ['!mgmt:example.org', 'm.room.message', {
        msgtype: 'm.notice', body: '* Sync: 2 chats',
        'm.new_content': { msgtype: 'm.notice', body: 'Sync: 2 chats' },
        'm.relates_to': { rel_type: 'm.replace', event_id: '$ev1' },
      }, bridge.botMxid]);
      assert.deepEqual(sends[2], ['!mgmt:example.org', 'm.room.message', { msgtype: 'm.notice', body: 'Other task' }, bridge.botMxid]);
      // A third edit still replaces the first event (edits always point at the original).
      await login.sendProgressNotice('sync', 'Sync: done');
      assert.deepEqual((api.of('sendEvent').at(-1)![2] as { 'm.relates_to': unknown })['m.relates_to'], { rel_type: 'm.replace', event_id: '$ev1' });
    });

    it('concurrent calls for one key send one notice and then edits', async () => {
      await db.users.setManagementRoom(ALICE, '!mgmt:example.org');
      await Promise.all([login.sendProgressNotice('k', 'a'), login.sendProgressNotice('k', 'b'), login.sendProgressNotice('k', 'c')]);
      const contents = api.of('sendEvent').map((a) => a[2] as Record<string, unknown>);
      assert.equal(contents.filter((c) => !c['m.relates_to']).length, 1);
      assert.deepEqual(contents.map((c) => c.body), ['a', '* b', '* c']);
    });

    it('sends nothing without a management room; a moved room gets a fresh notice; failures do not throw', async () => {
      await login.sendProgressNotice('sync', 'lost');
      assert.deepEqual(api.calls, []);
      await db.users.setManagementRoom(ALICE, '!one:example.org');
      await login.sendProgressNotice('sync', 'first');
      await db.users.setManagementRoom(ALICE, '!two:example.org');
      await login.sendProgressNotice('sync', 'second');
      const sends = api.of('sendEvent');
      assert.deepEqual(sends.map((s) => [s[0], (s[2] as { body: string }).body]), [['!one:example.org', 'first'], ['!two:example.org', 'second']]);
      api.failSend = true;
      await login.sendProgressNotice('sync', 'third');
      api.failSend = false;
      await login.sendProgressNotice('sync', 'fourth');
      assert.deepEqual((api.of('sendEvent').at(-1)![2] as { 'm.relates_to': unknown })['m.relates_to'], { rel_type: 'm.replace', event_id: '$ev2' });
    });
  });

  describe('getMessageMetadata', () => {
    it('returns the metadata stored with a message part, and undefined for an unknown one', async () => {
      const key = portalKey('chat1', 'login1');
      await db.portals.upsert({ ...key, roomType: 'dm', mxid: '!room:example.org' });
      const base = { portalId: key.id, portalReceiver: key.receiver, roomId: '!room:example.org', senderId: 'bob', timestamp: 1 };
      await db.messages.insert({ ...base, id: 'm1', mxid: '$m1', metadata: { poll: { name: 'Q' } } });
      await db.messages.insert({ ...base, id: 'm1', partId: 'p2', mxid: '$m1p2', metadata: { n: 2 } });
      assert.deepEqual(await login.getMessageMetadata(key, messageId('m1')), { poll: { name: 'Q' } });
      assert.deepEqual(await login.getMessageMetadata(key, messageId('m1'), partId('p2')), { n: 2 });
      assert.equal(await login.getMessageMetadata(key, messageId('m2')), undefined);
      assert.equal(await login.getMessageMetadata(portalKey('chat1', 'other'), messageId('m1')), undefined);
      // An edit's metadata replaces the part's.
      await db.messages.updateEdit('$m1', 1, { poll: { name: 'Q', votes: [] } });
      assert.deepEqual(await login.getMessageMetadata(key, messageId('m1')), { poll: { name: 'Q', votes: [] } });
    });
  });
});
