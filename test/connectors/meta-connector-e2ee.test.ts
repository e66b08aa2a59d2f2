/**
 * End-to-end encrypted Meta chats, which Tributary cannot bridge yet (docs/meta-emulator.md): the
 * emulator lists a chat marked encrypted with Meta's encrypted thread type and never sends its
 * messages over LightSpeed; the connector still opens its portal, the bridge bot says once why
 * nothing comes through, a send from Matrix fails with the same words, and a message row that does
 * arrive becomes that notice instead of vanishing.
 */
import assert from 'node:assert/strict';
import { BridgeError, emojiId, partId, portalKey, type RemoteEvent, type RemoteMessage } from '../../shared/src/network/index.js';
import { plain } from '../../shared/src/matrix/format/index.js';
import { META_THREAD_TYPE } from '../../bridges/meta/src/lightspeed/thread-types.js';
import { recordingConvertContext } from '../helpers/fake-login.js';
import { MetaConnectorEnv, GROUP_1, USER, enc, matrixText, ofType, until, type ControlMessage } from '../helpers/meta-connector-env.js';

const ALICE_DM_CHAT = 'dm:alice:me';
const GROUP_CHAT = 'g:1';
const noticeId = (threadKey: string) => `tributary.e2ee.${threadKey}`;
const bodyOf = async (m: RemoteMessage) => (await m.convert(recordingConvertContext(m.portal, true))).parts.map((p) => p.content.body).join('|');
const base = (portal: ReturnType<typeof portalKey>) => ({ portal, roomId: '!room:example.org', eventId: `$x${Math.random()}`, sender: '@alice:example.org', timestamp: Date.now() });

for (const platform of ['messenger', 'instagram'] as const) {
  const name = platform === 'messenger' ? 'Messenger' : 'Instagram';
  const NOTICE = `This chat is end-to-end encrypted on ${name} and cannot be bridged yet.`;

  describe(`Meta connector: end-to-end encrypted chats (${platform})`, function () {
    this.timeout(30_000);
    const env = new MetaConnectorEnv(platform);
    const dm = portalKey(USER.alice, USER.me);
    const dmMessages = () => env.control<ControlMessage[]>('GET', `/chats/${enc(ALICE_DM_CHAT)}/messages`);
    beforeEach(async () => {
      await env.start();
      await env.emulator.setEncrypted(ALICE_DM_CHAT, true);
    });
    afterEach(() => env.stop());

    it('an encrypted DM gets its portal and exactly one notice from the bridge bot; its messages never come', async () => {
      const { login, api } = await env.login();
      await until('portal of the encrypted DM', () => ofType(login, 'chat_resync').find((e) => e.portal.id === dm.id && e.createPortal));
      assert.equal(env.dir(api).threads.get(USER.alice)?.threadType, META_THREAD_TYPE.encryptedOverWaOneToOne, 'listed with the encrypted thread type');
      assert.equal(env.dir(api).isGroup(USER.alice), false, 'an encrypted one-to-one thread is still a DM');
      const notices = ofType(login, 'message').filter((m) => m.id === noticeId(USER.alice));
      assert.equal(notices.length, 1);
      const notice = notices[0]!;
      assert.deepEqual(notice.portal, dm);
      assert.equal(notice.sender.isBridgeBot, true, 'the bot speaks, not a ghost');
      const converted = await notice.convert(recordingConvertContext(dm, true));
      assert.deepEqual(converted.parts.map((p) => p.content), [{ msgtype: 'm.notice', body: NOTICE }]);
      // The chat info says it too (a topic stays where a notice scrolls away).
      assert.match((await api.getChatInfo(dm)).topic ?? '', new RegExp(NOTICE.replace(/\./g, '\\.')));

      // Alice writes in the encrypted chat, then in the group: pushes are ordered, so once the group
      // message is here, the DM message would have been too.
      await env.control('POST', `/chats/${enc(ALICE_DM_CHAT)}/messages`, { as: 'alice', text: 'secret hello' });
      await env.control('POST', `/chats/${enc(GROUP_CHAT)}/messages`, { as: 'alice', text: 'group hello' });
      const groupMsg = await until('group message', () => ofType(login, 'message').find((m) => m.portal.id === GROUP_1 && m.sender.user === USER.alice));
      assert.equal(await bodyOf(groupMsg), 'group hello', 'an ordinary chat next to it is bridged as before');
      assert.deepEqual(ofType(login, 'message').filter((m) => m.portal.id === dm.id).map((m) => m.id), [noticeId(USER.alice)], 'nothing but the notice in the DM');
      assert.ok(!env.logs.includes('secret hello'), 'the encrypted message never crossed LightSpeed');

      // The same thread listed again (a resync) queues no second notice in this session, and a new
      // session (a restart) names the notice with the same id, which the core keeps to one message.
      const again = await api.events.absorb({ type: 'thread', change: 'upsert', thread: { threadKey: USER.alice, threadType: META_THREAD_TYPE.encryptedOverWaOneToOne }, encrypted: true })();
      assert.deepEqual(again.map((e) => e.type), ['chat_resync']);
      const second = await env.login();
      const secondNotice = await until('notice after a restart', () => ofType(second.login, 'message').find((m) => m.portal.id === dm.id));
      assert.equal(secondNotice.id, notice.id);
    });

    it('a send from Matrix into the encrypted portal fails with the reason, and nothing reaches the network', async () => {
      const { login, api } = await env.login();
      await until('notice', () => ofType(login, 'message').find((m) => m.id === noticeId(USER.alice)));
      const before = (await dmMessages()).length;
      const refused = (err: unknown) => err instanceof BridgeError && err.status === 'fail' && err.reason === 'm_unsupported'
        && err.sendNotice && err.userMessage === NOTICE;
      await assert.rejects(api.handleMatrixMessage(matrixText(dm, 'hello?')), refused);
      const target = { messageId: 'mid.$x' as never, partId: partId('') };
      await assert.rejects(api.handleMatrixReaction({ ...base(dm), target, emoji: '👍' }, emojiId('👍')), refused);
      await assert.rejects(api.handleMatrixEdit({ ...base(dm), target: { ...target, editCount: 0, timestamp: Date.now() }, text: plain('x'), content: {} }), refused);
      await assert.rejects(api.handleMatrixMessageRemove({ ...base(dm), target: { ...target, timestamp: Date.now() } }), refused);
      // Typing and read receipts have nothing to tell the person: they are simply not sent.
      await api.handleMatrixTyping({ ...base(dm), typing: true });
      assert.equal((await dmMessages()).length, before);

      // An ordinary chat still sends.
      const ok = await api.handleMatrixMessage(matrixText(portalKey(GROUP_1, ''), 'to the group'));
      assert.match(ok.id, /^mid\.\$/);
    });

    it('a chat moved to encryption while connected: a resync, one notice, then its messages stop', async () => {
      const { login, api } = await env.login();
      await until('snapshot', () => ofType(login, 'message').some((m) => m.id === noticeId(USER.alice)));
      const from = login.queued.length;
      await env.emulator.setEncrypted(GROUP_CHAT, true);
      await until('group notice', () => ofType(login, 'message').find((m) => m.id === noticeId(GROUP_1)));
      const after = login.queued.slice(from);
      assert.deepEqual(after.map((e) => e.type), ['chat_resync', 'message']);
      assert.equal(env.dir(api).isEncrypted(GROUP_1), true);
      assert.equal(env.dir(api).isGroup(GROUP_1), true);
      assert.match((await api.getChatInfo(portalKey(GROUP_1, ''))).topic ?? '', /end-to-end encrypted/);
      await env.emulator.setEncrypted(GROUP_CHAT, true);
      await env.control('POST', `/chats/${enc(GROUP_CHAT)}/messages`, { as: 'alice', text: 'after the cutover' });
      await env.control('POST', `/chats/${enc('dm:bob:me')}/messages`, { as: 'bob', text: 'plain dm' });
      await until('bob', () => ofType(login, 'message').find((m) => m.sender.user === USER.bob));
      assert.deepEqual(login.queued.slice(from).filter((e) => e.portal.id === GROUP_1).map((e) => e.type), ['chat_resync', 'message'], 'one notice, no message');
    });

    it('a message row that does arrive for an encrypted thread becomes the notice, under its own id', async () => {
      const { login, api } = await env.login();
      await until('notice', () => ofType(login, 'message').find((m) => m.id === noticeId(USER.alice)));
      const row = { threadKey: USER.alice, messageId: 'mid.$placeholder1', senderId: USER.alice, timestampMs: Date.now(), text: 'whatever Meta put in it' };
      api.client().emit('event', { type: 'message', message: row, attachments: [] });
      const got = await until('the row', () => ofType(login, 'message').find((m) => m.id === row.messageId));
      assert.deepEqual(got.portal, dm);
      assert.equal(got.sender.isBridgeBot, true);
      const body = await bodyOf(got);
      assert.equal(body, `A message arrived in this chat on ${name}. ${NOTICE}`);
      assert.ok(!body.includes('whatever'), 'not shown as if it were bridged');
      const all: RemoteEvent[] = login.queued.filter((e) => e.portal.id === dm.id);
      assert.equal(all.filter((e) => e.type === 'message').length, 2, 'the notice and the row, nothing dropped');
    });
  });
}
