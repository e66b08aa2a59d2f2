/**
 * The real Meta connector, Matrix -> network, against the Meta emulator over an in-process sandbox
 * network: text, replies, edits (Meta's limits), reactions (one per person), unsend, read
 * receipts, typing, media both ways byte for byte, rename and picture, a DM started from Matrix,
 * and a group created from Matrix.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { SandboxClient, type WireEvent } from '../../bridges/sandbox/src/client/index.js';
import { generateTestPng } from '../../bridges/sandbox/src/server/index.js';
import {
  BridgeError, emojiId, partId, portalKey, type MatrixMessage, type MessageId,
} from '../../shared/src/network/index.js';
import { plain } from '../../shared/src/matrix/format/index.js';
import { recordingConvertContext } from '../helpers/fake-login.js';
import { MetaConnectorEnv, GROUP_1, USER, enc, matrixText, ofType, until, type ControlMessage } from '../helpers/meta-connector-env.js';

const ALICE_DM_CHAT = 'dm:alice:me';
const base = (portal: ReturnType<typeof portalKey>) => ({ portal, roomId: '!room:example.org', eventId: `$x${Math.random()}`, sender: '@alice:example.org', timestamp: Date.now() });

for (const platform of ['messenger', 'instagram'] as const) {
  describe(`Meta connector: Matrix to ${platform}`, function () {
    this.timeout(30_000);
    const env = new MetaConnectorEnv(platform);
    const dm = portalKey(USER.alice, USER.me);
    const messages = (chat = ALICE_DM_CHAT) => env.control<ControlMessage[]>('GET', `/chats/${enc(chat)}/messages`);
    beforeEach(() => env.start());
    afterEach(() => env.stop());

    it('text, a reply, an edit, a reaction (one per person) and an unsend reach the network', async () => {
      const { api, login } = await env.login();
      const theirs = await env.control<{ id: string }>('POST', `/chats/${enc(ALICE_DM_CHAT)}/messages`, { as: 'alice', text: 'question?' });
      const theirMsg = await until('their message', () => ofType(login, 'message').find((m) => m.sender.user === USER.alice));
      const res = await api.handleMatrixMessage(matrixText(dm, 'answer', { replyTo: { messageId: theirMsg.id, partId: partId('') } }));
      assert.match(res.id, /^mid\.\$/);
      const sent = (await messages()).at(-1)!;
      assert.deepEqual([sent.sender, sent.content.text], ['me', 'answer']);
      assert.equal((sent as unknown as { reply_to?: string }).reply_to, theirs.id);
      // The echo of our own send carries the Matrix transaction, so the core records it instead of bridging it again.
      const echo = await until('echo', () => ofType(login, 'message').find((m) => m.id === res.id));
      assert.ok(echo.echoOf?.startsWith('txn-'));
      assert.ok(echo.sender.isFromMe);

      await api.handleMatrixEdit({ ...base(dm), target: { messageId: res.id, partId: partId(''), editCount: 0, timestamp: Date.now() }, text: plain('answer, edited'), content: {} });
      assert.equal((await messages()).at(-1)!.content.text, 'answer, edited');
      await assert.rejects(
        api.handleMatrixEdit({ ...base(dm), target: { messageId: res.id, partId: partId(''), editCount: 5, timestamp: Date.now() }, text: plain('sixth'), content: {} }),
        (err: unknown) => err instanceof BridgeError && err.reason === 'm_unsupported');

      const target = { messageId: theirMsg.id, partId: partId('') };
      assert.throws(() => api.preHandleMatrixReaction({ ...base(dm), target, emoji: 'lol' }), (err: unknown) => err instanceof BridgeError);
      await api.handleMatrixReaction({ ...base(dm), target, emoji: '👍' }, emojiId('👍'));
      await api.handleMatrixReaction({ ...base(dm), target, emoji: '❤️' }, emojiId('❤️'));
      const reacted = await env.control<ControlMessage>('GET', `/messages/${enc(theirs.id)}`);
      assert.deepEqual(reacted.reactions.map((r) => [r.user_id, r.emoji]), [['me', '❤️']]);
      await api.handleMatrixReactionRemove({ ...base(dm), target, emojiId: emojiId('❤️'), emoji: '❤️' });
      assert.deepEqual((await env.control<ControlMessage>('GET', `/messages/${enc(theirs.id)}`)).reactions, []);

      await api.handleMatrixMessageRemove({ ...base(dm), target: { messageId: res.id, partId: partId(''), timestamp: Date.now() } });
      assert.equal((await messages()).filter((m) => m.sender === 'me').at(-1)!.deleted, true);
      // A message the network does not know: refused, as not found.
      await assert.rejects(api.handleMatrixMessageRemove({ ...base(dm), target: { messageId: 'mid.$bm90LWEtbWVzc2FnZS8x' as MessageId, partId: partId(''), timestamp: Date.now() } }),
        (err: unknown) => err instanceof BridgeError && err.reason === 'm_not_found');
    });

    it('read receipts and typing reach the network', async () => {
      const { api } = await env.login();
      const alice = new SandboxClient({ url: env.server.url, token: await env.token('alice') });
      const seen: WireEvent[] = [];
      alice.on('event', (e) => seen.push(e));
      await alice.connect();
      try {
        await api.handleMatrixTyping({ portal: dm, roomId: '!room:example.org', sender: '@alice:example.org', typing: true });
        await until('alice sees me typing', () => seen.find((e) => e.type === 'typing' && e.user_id === 'me' && e.typing));
      } finally {
        await alice.close();
      }
      const theirs = await env.control<{ id: string; ts: number }>('POST', `/chats/${enc(ALICE_DM_CHAT)}/messages`, { as: 'alice', text: 'read me' });
      const msg = await until('message', () => ofType(env.logins[0]!, 'message').find((m) => m.sender.user === USER.alice));
      await api.handleMatrixReadReceipt({ ...base(dm), target: { messageId: msg.id, timestamp: msg.timestamp } });
      assert.ok((await messages()).find((m) => m.id === theirs.id)!.read_by!.includes('me'));
    });

    it('an image goes out and comes back byte for byte', async () => {
      const { api, login } = await env.login();
      const png = generateTestPng(12, 9);
      const media = { kind: 'image' as const, open: async () => Readable.from([png]), mimetype: 'image/png', size: png.length, filename: 'pic.png', width: 12, height: 9 };
      const msg: MatrixMessage = { ...matrixText(dm, 'pic.png'), msgtype: 'm.image', media, content: { msgtype: 'm.image', body: 'pic.png' } };
      await api.handleMatrixMessage(msg);
      const sent = (await messages()).at(-1)!;
      assert.equal(sent.content.kind, 'image');
      const onNetwork = Buffer.from(await (await fetch(`${env.server.url}/media/${enc(sent.content.media_id!)}`)).arrayBuffer());
      assert.ok(onNetwork.equals(png), 'the network got the exact bytes');
      await env.control('POST', `/chats/${enc(ALICE_DM_CHAT)}/messages`, { as: 'alice', image: { base64: png.toString('base64'), mimetype: 'image/png', caption: 'look' } });
      const incoming = await until('image', () => ofType(login, 'message').find((m) => m.sender.user === USER.alice));
      const ctx = recordingConvertContext(incoming.portal, true);
      const converted = await incoming.convert(ctx);
      assert.equal(converted.parts[0]!.content.msgtype, 'm.image');
      assert.equal(converted.parts[0]!.content.body, 'look');
      assert.ok(ctx.uploads[0]!.bytes.equals(png), 'Matrix got the exact bytes');
    });

    it('renames a group and sets its picture; a DM cannot be renamed', async () => {
      const { api } = await env.login();
      await until('chats', () => env.dir(api).threads.size >= 3);
      await api.handleMatrixRoomName({ ...base(portalKey(GROUP_1)), name: 'Renamed from Matrix' });
      const png = generateTestPng(6, 6);
      await api.handleMatrixRoomAvatar({ ...base(portalKey(GROUP_1)), avatar: { kind: 'image', open: async () => Readable.from([png]), mimetype: 'image/png', filename: 'a.png' } });
      const chat = await env.control<{ name: string; avatar: string | null }>('GET', `/chats/${enc('g:1')}`);
      assert.equal(chat.name, 'Renamed from Matrix');
      assert.ok(chat.avatar);
      await assert.rejects(api.handleMatrixRoomName({ ...base(dm), name: 'x' }), (err: unknown) => err instanceof BridgeError && err.reason === 'm_unsupported');
    });

    it('starts a DM with a contact by their id, and creates a group', async () => {
      const { api } = await env.login();
      const res = await api.resolveIdentifier(USER.carol, true);
      assert.equal(res!.user, USER.carol);
      assert.deepEqual(res!.chat!.portal, portalKey(USER.carol, USER.me));
      const chats = await env.control<Array<{ id: string; type: string; members: Array<{ user_id: string }> }>>('GET', '/chats');
      assert.ok(chats.some((c) => c.type === 'dm' && c.members.map((m) => m.user_id).sort().join() === 'carol,me'), 'the DM exists on the network');
      assert.equal((await api.resolveIdentifier('Bob Builder', false))?.user ?? null, (await api.resolveIdentifier(USER.bob, false))!.user);
      assert.equal(await api.resolveIdentifier(USER.me, true), null, 'no DM with oneself');
      const group = await api.createGroup({ name: 'Made in Matrix', members: [USER.alice, USER.bob] as never });
      assert.equal(group.portal.receiver, '');
      assert.equal(group.info!.type, 'group');
      assert.equal(group.info!.name, 'Made in Matrix');
      assert.deepEqual(group.info!.members!.map((m) => m.user).sort(), [USER.alice, USER.bob, USER.me].sort());
    });
  });
}
