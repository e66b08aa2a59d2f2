import assert from 'node:assert/strict';
import type { Database, MessageInput, PortalKey, ReactionInput } from '../../shared/src/db/index.js';
import { describeBothEngines } from '../helpers/postgres.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

const PORTAL: PortalKey = { id: 'chat1', receiver: 'login1' };
const OTHER: PortalKey = { id: 'chat2', receiver: '' };
const T0 = 1_893_456_000_000; // 2030: beyond 32 bits

function msg(id: string, over: Partial<MessageInput> = {}): MessageInput {
  return {
    id, portalId: PORTAL.id, portalReceiver: PORTAL.receiver, mxid: `$${id}${over.partId ?? ''}`, roomId: '!room:example.org',
    senderId: 'remote-bob', senderMxid: '@wa_bob:example.org', timestamp: T0, ...over,
  };
}

function reaction(messageId: string, senderId: string, emojiId: string, over: Partial<ReactionInput> = {}): ReactionInput {
  return {
    portalId: PORTAL.id, portalReceiver: PORTAL.receiver, messageId, senderId, emojiId, emoji: emojiId || '👍',
    mxid: `$react-${messageId}-${senderId}-${emojiId}`, timestamp: T0 + 5, ...over,
  };
}

describeBothEngines('db messages and reactions', (ctx) => {
  let db: Database;
  beforeEach(async () => {
    db = await ctx.openMigrated();
    await db.portals.upsert({ ...PORTAL, roomType: 'dm', mxid: '!room:example.org' });
    await db.portals.upsert({ ...OTHER, roomType: 'group' });
  });

  describe('messages', () => {
    it('insert returns increasing rowids; getPart and getByMxid return typed rows', async () => {
      const r1 = await db.messages.insert(msg('m1', { replyToId: 'm0', threadRootId: 'root', metadata: { mediaKey: 'abc', n: 1 } }));
      const r2 = await db.messages.insert(msg('m2'));
      assert.equal(typeof r1, 'number');
      assert.ok(r2 > r1);
      const row = await db.messages.getPart(PORTAL, 'm1', '');
      assert.deepEqual(row, {
        rowid: r1, id: 'm1', partId: '', portalId: 'chat1', portalReceiver: 'login1', mxid: '$m1', roomId: '!room:example.org',
        senderId: 'remote-bob', senderMxid: '@wa_bob:example.org', timestamp: T0, editCount: 0, replyToId: 'm0',
        threadRootId: 'root', metadata: { mediaKey: 'abc', n: 1 },
      });
      assert.equal(typeof row?.timestamp, 'number');
      assert.deepEqual(await db.messages.getByMxid('$m1'), row);
      assert.equal(await db.messages.getByMxid('$nope'), undefined);
      assert.equal(await db.messages.getPart(OTHER, 'm1', ''), undefined, 'scoped by portal');
    });

    it('insert throws on a duplicate (portal, id, part) and on a duplicate mxid', async () => {
      await db.messages.insert(msg('m1'));
      await assert.rejects(db.messages.insert(msg('m1', { mxid: '$different' })), /unique|UNIQUE/i);
      await assert.rejects(db.messages.insert(msg('m9', { mxid: '$m1' })), /unique|UNIQUE/i);
      assert.equal(await db.messages.countInPortal(PORTAL), 1);
    });

    it('insertIfAbsent inserts once and returns false on either duplicate', async () => {
      assert.equal(await db.messages.insertIfAbsent(msg('m1')), true);
      assert.equal(await db.messages.insertIfAbsent(msg('m1', { mxid: '$other-event' })), false, 'same portal/id/part');
      assert.equal(await db.messages.insertIfAbsent(msg('m2', { mxid: '$m1' })), false, 'same mxid');
      assert.equal(await db.messages.insertIfAbsent(msg('m1', { portalId: OTHER.id, portalReceiver: '', mxid: '$m1-other' })), true,
        'same remote id in another portal is a different message');
      assert.equal(await db.messages.countInPortal(PORTAL), 1);
      assert.equal(await db.messages.countInPortal(OTHER), 1);
    });

    it('getAllParts in insertion order; deleteAllParts removes them all', async () => {
      await db.messages.insert(msg('m1', { partId: 'b' }));
      await db.messages.insert(msg('m1', { partId: 'a' }));
      await db.messages.insert(msg('m2'));
      assert.deepEqual((await db.messages.getAllParts(PORTAL, 'm1')).map((m) => m.partId), ['b', 'a']);
      assert.equal(await db.messages.deleteAllParts(PORTAL, 'm1'), 2);
      assert.deepEqual(await db.messages.getAllParts(PORTAL, 'm1'), []);
      assert.equal(await db.messages.countInPortal(PORTAL), 1);
    });

    it('getLast orders by timestamp, then rowid', async () => {
      assert.equal(await db.messages.getLast(PORTAL), undefined);
      await db.messages.insert(msg('late', { timestamp: T0 + 100 }));
      await db.messages.insert(msg('early', { timestamp: T0 }));
      assert.equal((await db.messages.getLast(PORTAL))?.id, 'late');
      await db.messages.insert(msg('tie', { timestamp: T0 + 100 }));
      assert.equal((await db.messages.getLast(PORTAL))?.id, 'tie');
    });

    it('updateEdit sets the edit count and optionally the metadata', async () => {
      await db.messages.insert(msg('m1', { metadata: { v: 1 } }));
      assert.equal(await db.messages.updateEdit('$m1', 1), true);
      let row = await db.messages.getByMxid('$m1');
      assert.equal(row?.editCount, 1);
      assert.deepEqual(row?.metadata, { v: 1 });
      await db.messages.updateEdit('$m1', 2, { v: 2, edited: true });
      row = await db.messages.getByMxid('$m1');
      assert.equal(row?.editCount, 2);
      assert.deepEqual(row?.metadata, { v: 2, edited: true });
      assert.equal(await db.messages.updateEdit('$missing', 1), false);
    });

    it('deleteByMxid removes one part', async () => {
      await db.messages.insert(msg('m1', { partId: 'a' }));
      await db.messages.insert(msg('m1', { partId: 'b' }));
      assert.equal(await db.messages.deleteByMxid('$m1a'), true);
      assert.equal(await db.messages.deleteByMxid('$m1a'), false);
      assert.deepEqual((await db.messages.getAllParts(PORTAL, 'm1')).map((m) => m.partId), ['b']);
    });

    it('listBetween returns a window oldest first', async () => {
      for (let i = 0; i < 6; i++) await db.messages.insert(msg(`m${i}`, { timestamp: T0 + i * 10 }));
      const ids = (rows: Array<{ id: string }>): string[] => rows.map((r) => r.id);
      assert.deepEqual(ids(await db.messages.listBetween(PORTAL, { limit: 3 })), ['m0', 'm1', 'm2']);
      assert.deepEqual(ids(await db.messages.listBetween(PORTAL, { afterTs: T0 + 10, limit: 2 })), ['m2', 'm3']);
      assert.deepEqual(ids(await db.messages.listBetween(PORTAL, { beforeTs: T0 + 40, limit: 2 })), ['m2', 'm3'],
        'only beforeTs: the newest rows before it');
      assert.deepEqual(ids(await db.messages.listBetween(PORTAL, { afterTs: T0 + 10, beforeTs: T0 + 40, limit: 10 })), ['m2', 'm3']);
      assert.deepEqual(await db.messages.listBetween(OTHER, { limit: 10 }), []);
    });

    it('messages need their portal, and go with it', async () => {
      await assert.rejects(db.messages.insert(msg('m1', { portalId: 'ghost-portal' })), /foreign key|FOREIGN KEY/i);
      await db.messages.insert(msg('m1'));
      await db.reactions.upsert(reaction('m1', 'alice', '❤️'));
      await db.portals.delete(PORTAL);
      assert.equal(await db.messages.getByMxid('$m1'), undefined);
      assert.equal(await db.reactions.getByMxid('$react-m1-alice-❤️'), undefined);
    });
  });

  describe('reactions', () => {
    beforeEach(async () => {
      await db.messages.insert(msg('m1'));
      await db.messages.insert(msg('m1', { partId: 'p2' }));
      await db.messages.insert(msg('m2'));
    });

    it('upsert, get, getByMxid with typed values', async () => {
      await db.reactions.upsert(reaction('m1', 'alice', 'heart', { emoji: '❤️', metadata: { count: 1 } }));
      const row = await db.reactions.get(PORTAL, 'm1', '', 'alice', 'heart');
      assert.deepEqual(row, {
        portalId: 'chat1', portalReceiver: 'login1', messageId: 'm1', partId: '', senderId: 'alice', emojiId: 'heart',
        emoji: '❤️', mxid: '$react-m1-alice-heart', timestamp: T0 + 5, metadata: { count: 1 },
      });
      assert.deepEqual(await db.reactions.getByMxid('$react-m1-alice-heart'), row);
      // One reaction per user network: the same key gets a new emoji and a new event.
      await db.reactions.upsert(reaction('m1', 'alice', 'heart', { emoji: '💔', mxid: '$replaced' }));
      const replaced = await db.reactions.get(PORTAL, 'm1', '', 'alice', 'heart');
      assert.equal(replaced?.emoji, '💔');
      assert.equal(replaced?.mxid, '$replaced');
      assert.equal(await db.reactions.getByMxid('$react-m1-alice-heart'), undefined);
    });

    it('listForMessage covers all parts; listBySender filters by sender', async () => {
      await db.reactions.upsert(reaction('m1', 'alice', 'a', { timestamp: T0 + 1 }));
      await db.reactions.upsert(reaction('m1', 'bob', 'b', { timestamp: T0 + 2 }));
      await db.reactions.upsert(reaction('m1', 'alice', 'c', { partId: 'p2', timestamp: T0 + 3 }));
      await db.reactions.upsert(reaction('m2', 'alice', 'd'));
      assert.deepEqual((await db.reactions.listForMessage(PORTAL, 'm1')).map((r) => r.emojiId), ['a', 'b', 'c']);
      assert.deepEqual((await db.reactions.listBySender(PORTAL, 'm1', 'alice')).map((r) => r.emojiId), ['a', 'c']);
      assert.deepEqual(await db.reactions.listBySender(PORTAL, 'm1', 'carol'), []);
    });

    it('delete and deleteByMxid; deleting the message deletes its reactions', async () => {
      await db.reactions.upsert(reaction('m1', 'alice', 'a'));
      await db.reactions.upsert(reaction('m1', 'bob', 'b'));
      await db.reactions.upsert(reaction('m2', 'bob', 'b'));
      assert.equal(await db.reactions.delete(PORTAL, 'm1', '', 'alice', 'a'), true);
      assert.equal(await db.reactions.delete(PORTAL, 'm1', '', 'alice', 'a'), false);
      assert.equal(await db.reactions.deleteByMxid('$react-m2-bob-b'), true);
      assert.equal(await db.reactions.deleteByMxid('$react-m2-bob-b'), false);
      await db.messages.deleteAllParts(PORTAL, 'm1');
      assert.deepEqual(await db.reactions.listForMessage(PORTAL, 'm1'), []);
    });

    it('a reaction needs an existing message part', async () => {
      await assert.rejects(db.reactions.upsert(reaction('missing', 'alice', 'a')), /foreign key|FOREIGN KEY/i);
    });
  });
});
