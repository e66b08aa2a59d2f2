import assert from 'node:assert/strict';
import type { Database } from '../../shared/src/db/index.js';
import { describeBothEngines } from '../helpers/postgres.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

const ALICE = '@alice:example.org';
const BOB = '@bob:example.org';

describeBothEngines('db users, logins, portals, ghosts, kv', (ctx) => {
  let db: Database;
  beforeEach(async () => {
    db = await ctx.openMigrated();
  });

  describe('users', () => {
    it('getOrCreate creates once and returns the same row after', async () => {
      assert.equal(await db.users.get(ALICE), undefined);
      const created = await db.users.getOrCreate(ALICE, 1_700_000_000_000);
      assert.deepEqual(created, { mxid: ALICE, managementRoom: null, createdAt: 1_700_000_000_000 });
      const again = await db.users.getOrCreate(ALICE, 1_800_000_000_000);
      assert.equal(again.createdAt, 1_700_000_000_000);
    });

    it('sets and finds the management room; lists users', async () => {
      await db.users.getOrCreate(BOB);
      await db.users.getOrCreate(ALICE);
      await db.users.setManagementRoom(ALICE, '!mgmt:example.org');
      assert.equal((await db.users.get(ALICE))?.managementRoom, '!mgmt:example.org');
      assert.equal((await db.users.getByManagementRoom('!mgmt:example.org'))?.mxid, ALICE);
      assert.equal(await db.users.getByManagementRoom('!other:example.org'), undefined);
      assert.deepEqual((await db.users.list()).map((u) => u.mxid), [ALICE, BOB]);
    });
  });

  describe('logins', () => {
    beforeEach(async () => {
      await db.users.getOrCreate(ALICE);
      await db.users.getOrCreate(BOB);
    });

    it('upsert inserts, then replaces every column but created_at', async () => {
      await db.logins.upsert({ id: 'wa:1', userMxid: ALICE, remoteName: '+1 555', metadata: { platform: 'android' } }, 1000);
      assert.deepEqual(await db.logins.get('wa:1'), {
        id: 'wa:1', userMxid: ALICE, remoteName: '+1 555', spaceRoom: null, metadata: { platform: 'android' }, createdAt: 1000,
      });
      await db.logins.upsert({ id: 'wa:1', userMxid: ALICE, remoteName: '+1 556', spaceRoom: '!space' }, 2000);
      assert.deepEqual(await db.logins.get('wa:1'), {
        id: 'wa:1', userMxid: ALICE, remoteName: '+1 556', spaceRoom: '!space', metadata: {}, createdAt: 1000,
      });
    });

    it('lists per user and overall, sets the space room and metadata, deletes', async () => {
      await db.logins.upsert({ id: 'a1', userMxid: ALICE }, 1);
      await db.logins.upsert({ id: 'b1', userMxid: BOB }, 2);
      await db.logins.upsert({ id: 'a2', userMxid: ALICE }, 3);
      assert.deepEqual((await db.logins.listForUser(ALICE)).map((l) => l.id), ['a1', 'a2']);
      assert.deepEqual((await db.logins.listAll()).map((l) => l.id), ['a1', 'b1', 'a2']);
      await db.logins.setSpaceRoom('a1', '!space:example.org');
      await db.logins.updateMetadata('a1', { cookies: 'redacted-later', n: 3 });
      const a1 = await db.logins.get('a1');
      assert.equal(a1?.spaceRoom, '!space:example.org');
      assert.deepEqual(a1?.metadata, { cookies: 'redacted-later', n: 3 });
      assert.equal(await db.logins.delete('a1'), true);
      assert.equal(await db.logins.delete('a1'), false);
      assert.equal(await db.logins.get('a1'), undefined);
    });

    it('deleting a user cascades to their logins', async () => {
      await db.logins.upsert({ id: 'a1', userMxid: ALICE });
      await db.logins.upsert({ id: 'a2', userMxid: ALICE });
      await db.logins.upsert({ id: 'b1', userMxid: BOB });
      assert.equal(await db.users.delete(ALICE), true);
      assert.deepEqual(await db.logins.listForUser(ALICE), []);
      assert.deepEqual((await db.logins.listAll()).map((l) => l.id), ['b1']);
    });
  });

  describe('portals', () => {
    const dm = { id: 'chat1', receiver: 'login1' };
    const group = { id: 'group1', receiver: '' };

    it('upsert writes every column and keeps created_at; get returns typed values', async () => {
      await db.users.getOrCreate(ALICE);
      await db.logins.upsert({ id: 'relay', userMxid: ALICE });
      await db.portals.upsert({
        ...group, roomType: 'group', name: 'Friends', topic: 'hi', avatarId: 'av1', avatarMxc: 'mxc://x/y',
        nameSet: true, topicSet: true, avatarSet: true, encrypted: true, relayLoginId: 'relay', parentId: 'space1',
        disappearType: 'after_read', disappearTimerMs: 86_400_000, metadata: { lastSync: 5 },
      }, 1_700_000_000_000);
      const row = await db.portals.get(group);
      assert.deepEqual(row, {
        id: 'group1', receiver: '', mxid: null, roomType: 'group', name: 'Friends', topic: 'hi', avatarId: 'av1',
        avatarMxc: 'mxc://x/y', nameSet: true, topicSet: true, avatarSet: true, encrypted: true, relayLoginId: 'relay',
        otherUserId: null, parentId: 'space1', disappearType: 'after_read', disappearTimerMs: 86_400_000,
        metadata: { lastSync: 5 }, createdAt: 1_700_000_000_000,
      });
      await db.portals.upsert({ ...group, roomType: 'group', name: 'Renamed' }, 1_800_000_000_000);
      const after = await db.portals.get(group);
      assert.equal(after?.name, 'Renamed');
      assert.equal(after?.encrypted, false, 'omitted columns are reset by upsert');
      assert.equal(after?.createdAt, 1_700_000_000_000);
    });

    it('the same chat id with different receivers is two portals', async () => {
      await db.portals.upsert({ id: 'chat1', receiver: 'login1', roomType: 'dm' });
      await db.portals.upsert({ id: 'chat1', receiver: 'login2', roomType: 'dm' });
      assert.equal(await db.portals.count(), 2);
    });

    it('update touches only the given fields and never the key', async () => {
      await db.portals.upsert({ ...dm, roomType: 'dm', otherUserId: 'user9', name: 'Bob' });
      assert.equal(await db.portals.update(dm, { topic: 'new topic', topicSet: true }), true);
      const row = await db.portals.get(dm);
      assert.equal(row?.topic, 'new topic');
      assert.equal(row?.topicSet, true);
      assert.equal(row?.name, 'Bob');
      assert.equal(row?.otherUserId, 'user9');
      // A whole row (as the core may pass) must not move the portal to another key.
      const wholeRow = { ...row!, id: 'hijack', receiver: 'x', name: 'Bobby' };
      await db.portals.update(dm, wholeRow);
      assert.equal((await db.portals.get(dm))?.name, 'Bobby');
      assert.equal(await db.portals.get({ id: 'hijack', receiver: 'x' }), undefined);
      assert.equal(await db.portals.update({ id: 'missing', receiver: '' }, { name: 'x' }), false);
    });

    it('setMxid, getByMxid, listWithRooms, listByParent, listByOtherUser, delete, count', async () => {
      await db.portals.upsert({ ...dm, roomType: 'dm', otherUserId: 'user9', parentId: 'space' });
      await db.portals.upsert({ ...group, roomType: 'group', parentId: 'space' });
      await db.portals.upsert({ id: 'space', receiver: '', roomType: 'space' });
      assert.equal(await db.portals.count(), 3);
      assert.equal(await db.portals.setMxid(dm, '!dm:example.org'), true);
      assert.deepEqual(await db.portals.getByMxid('!dm:example.org').then((p) => p && { id: p.id, receiver: p.receiver }), dm);
      assert.deepEqual((await db.portals.listWithRooms()).map((p) => p.id), ['chat1']);
      assert.deepEqual((await db.portals.listByParent('space')).map((p) => p.id), ['chat1', 'group1']);
      assert.deepEqual((await db.portals.listByOtherUser('user9')).map((p) => p.id), ['chat1']);
      await db.portals.setMxid(dm, null);
      assert.deepEqual(await db.portals.listWithRooms(), []);
      assert.equal(await db.portals.delete(dm), true);
      assert.equal(await db.portals.get(dm), undefined);
      assert.equal(await db.portals.count(), 2);
    });

    it('room ids are unique across portals', async () => {
      await db.portals.upsert({ ...dm, roomType: 'dm', mxid: '!same' });
      await db.portals.upsert({ ...group, roomType: 'group' });
      await assert.rejects(db.portals.setMxid(group, '!same'), /unique|UNIQUE/i);
    });

    it('deleting the relay login clears relay_login_id', async () => {
      await db.users.getOrCreate(ALICE);
      await db.logins.upsert({ id: 'relay', userMxid: ALICE });
      await db.portals.upsert({ ...group, roomType: 'group', relayLoginId: 'relay' });
      await db.logins.delete('relay');
      assert.equal((await db.portals.get(group))?.relayLoginId, null);
    });
  });

  describe('ghosts', () => {
    it('upsert, get, update, list, getMany, delete', async () => {
      await db.ghosts.upsert({ id: 'u2', name: 'Zed' }, 10);
      await db.ghosts.upsert({ id: 'u1', name: 'Ann', identifiers: ['tel:+1'], metadata: { pushName: 'A' } }, 10);
      assert.deepEqual(await db.ghosts.get('u1'), {
        id: 'u1', name: 'Ann', avatarId: null, avatarMxc: null, nameSet: false, avatarSet: false, isBot: false,
        identifiers: ['tel:+1'], metadata: { pushName: 'A' }, updatedAt: 10,
      });
      assert.equal(await db.ghosts.update('u1', { nameSet: true, avatarId: 'av', avatarMxc: 'mxc://a/b', avatarSet: true }, 20), true);
      const u1 = await db.ghosts.get('u1');
      assert.equal(u1?.nameSet, true);
      assert.equal(u1?.avatarMxc, 'mxc://a/b');
      assert.equal(u1?.name, 'Ann');
      assert.equal(u1?.updatedAt, 20);
      assert.equal(await db.ghosts.update('nobody', { name: 'x' }), false);
      await db.ghosts.upsert({ id: 'u1', name: 'Ann B' }, 30);
      assert.equal((await db.ghosts.get('u1'))?.nameSet, false, 'upsert writes every column');
      assert.deepEqual((await db.ghosts.list()).map((g) => g.id), ['u1', 'u2']);
      assert.deepEqual((await db.ghosts.getMany(['u2', 'zz'])).map((g) => g.name), ['Zed']);
      assert.deepEqual(await db.ghosts.getMany([]), []);
      assert.equal(await db.ghosts.delete('u2'), true);
      assert.equal(await db.ghosts.get('u2'), undefined);
    });
  });

  describe('kv', () => {
    it('get, set (overwrites), delete', async () => {
      assert.equal(await db.kv.get('sync'), undefined);
      await db.kv.set('sync', 'a');
      await db.kv.set('sync', 'b');
      assert.equal(await db.kv.get('sync'), 'b');
      assert.equal(await db.kv.delete('sync'), true);
      assert.equal(await db.kv.delete('sync'), false);
      assert.equal(await db.kv.get('sync'), undefined);
    });
  });
});
