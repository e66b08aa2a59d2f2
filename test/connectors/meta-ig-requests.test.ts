/**
 * Message requests on Instagram through the real connector and client against the emulator's
 * Instagram flavour: a stranger's DM is not in the inbox; the stranger's message arrives as a delta
 * for a thread whose `system_folder` is PENDING, so its portal is a request; `accept` goes through
 * useIGDirectAcceptMessageRequestMutation, `decline` through
 * IGDInboxInfoDeleteThreadDialogOffMsysMutation (never LightSpeed tasks, which the emulator refuses),
 * and a declined request comes back (a folder delta first) when the stranger writes again.
 */
import assert from 'node:assert/strict';
import { BridgeError, portalKey, type RemoteMessage } from '../../shared/src/network/index.js';
import { fetchThreadsTask } from '../../bridges/meta/src/lightspeed/tasks.js';
import { recordingConvertContext } from '../helpers/fake-login.js';
import { recordInstagramCalls } from '../helpers/instagram-calls.js';
import { MetaConnectorEnv, USER, enc, matrixText, ofType, until, type ControlMessage } from '../helpers/meta-connector-env.js';

const DAVE = '15550000009';
const DAVE_CHAT = 'dm:dave:me';
const bodyOf = async (m: RemoteMessage) => (await m.convert(recordingConvertContext(m.portal, true))).parts.map((p) => p.content.body).join('|');

describe('Meta connector: message requests (Instagram, over GraphQL)', function () {
  this.timeout(30_000);
  const env = new MetaConnectorEnv('instagram');
  const dave = portalKey(DAVE, USER.me);
  const fromDave = (login: Parameters<typeof ofType>[0]) => ofType(login, 'message').filter((m) => m.portal.id === DAVE && m.sender.user === DAVE);
  const daveWrites = (text: string) => env.control('POST', `/chats/${enc(DAVE_CHAT)}/messages`, { as: 'dave', text });
  const calls = recordInstagramCalls(env);

  beforeEach(async () => {
    env.emulator.setStranger('dave', true);
    await env.control('POST', '/accounts', { id: 'dave', name: 'Dave Stranger', phone: '+15550000009' });
    await env.control('POST', '/dms', { a: 'dave', b: 'me' });
  });

  it('a stranger\'s message makes a request portal; accept moves it to the inbox over GraphQL', async () => {
    await daveWrites('before you logged in');
    const { login, api } = await env.login();
    await until('connected', () => login.lastState() === 'CONNECTED');
    // (The emulator's page embeds its threads, the request among them, in the pending folder.)
    assert.ok(!env.dir(api).threads.has(DAVE) || env.dir(api).isMessageRequest(DAVE), 'a request is never listed in the inbox');
    await daveWrites('hello from a stranger');
    const first = await until('request message', () => fromDave(login)[0]);
    assert.equal(await bodyOf(first), 'hello from a stranger');
    assert.equal(env.dir(api).isMessageRequest(DAVE), true);
    assert.equal(env.dir(api).threads.get(DAVE)?.folderName, 'pending');
    assert.match((await api.getChatInfo(dave)).topic ?? '', /message request on Instagram/);
    await api.acceptMessageRequest(dave);
    assert.equal(env.dir(api).isMessageRequest(DAVE), false);
    await daveWrites('thanks for accepting');
    await until('message after accepting', () => fromDave(login).length === 2);
    // Accepting again is refused (no longer a request), said plainly.
    await assert.rejects(api.acceptMessageRequest(dave), (err: unknown) => err instanceof BridgeError);
    // A fresh session lists the chat in the inbox.
    const second = await env.login();
    await until('in the inbox of a new session', () => env.dir(second.api).threads.get(DAVE));
    assert.equal(env.dir(second.api).isMessageRequest(DAVE), false);
    assert.equal(calls.lightspeed, 0, 'no LightSpeed task');
  });

  it('the inbox and the thread list leave requests out; a thread fetch says PENDING', async () => {
    await daveWrites('hello');
    const { client, events } = await env.connected();
    const listed = (await client.sendTask(fetchThreadsTask())).tables.LSDeleteThenInsertThread!.map((t) => t.threadKey);
    assert.ok(listed.includes(USER.alice) && !listed.includes(DAVE));
    assert.ok(!events.some((e) => e.type === 'thread' && e.change === 'upsert' && e.thread.threadKey === DAVE), 'not in the snapshot');
    await daveWrites('again');
    const upsert = await until('the thread, fetched for the delta', () => events.find((e) => e.type === 'thread' && e.change === 'upsert' && e.thread.threadKey === DAVE));
    assert.ok(upsert.type === 'thread' && upsert.change === 'upsert' && upsert.thread.folderName === 'pending');
  });

  it('replying from Matrix accepts the request first, then sends', async () => {
    const { login, api } = await env.login();
    await until('connected', () => login.lastState() === 'CONNECTED');
    await daveWrites('hi');
    await until('request', () => fromDave(login)[0]);
    await api.handleMatrixMessage(matrixText(dave, 'hello Dave'));
    assert.equal(env.dir(api).isMessageRequest(DAVE), false);
    const msgs = await env.control<ControlMessage[]>('GET', `/chats/${enc(DAVE_CHAT)}/messages`);
    assert.deepEqual([msgs.at(-1)?.content.text, msgs.at(-1)?.sender], ['hello Dave', 'me']);
    assert.equal(calls.lightspeed, 0);
  });

  it('decline hides the request until the stranger writes again; a chat that is not a request cannot be declined', async () => {
    const { login, api } = await env.login();
    await until('connected', () => login.lastState() === 'CONNECTED');
    await daveWrites('buy my stuff');
    await until('request', () => fromDave(login)[0]);
    await api.declineMessageRequest(dave);
    assert.equal(env.dir(api).threads.has(DAVE), false);
    // Nothing of a declined chat is streamed: dave's reaction to his own message stays unseen.
    const daveMsgs = await env.control<ControlMessage[]>('GET', `/chats/${enc(DAVE_CHAT)}/messages`);
    await env.control('POST', `/messages/${enc(daveMsgs.at(-1)!.id)}/reactions`, { as: 'dave', emoji: '😂' });
    await daveWrites('hello again');
    const back = await until('request again', () => fromDave(login)[1]);
    assert.equal(await bodyOf(back), 'hello again');
    assert.equal(env.dir(api).isMessageRequest(DAVE), true, 'back as a request (its folder moved first)');
    assert.equal(ofType(login, 'reaction').filter((r) => r.portal.id === DAVE).length, 0);
    await assert.rejects(api.declineMessageRequest(portalKey(USER.alice, USER.me)), (err: unknown) => err instanceof BridgeError);
    assert.equal(calls.lightspeed, 0);
  });
});
