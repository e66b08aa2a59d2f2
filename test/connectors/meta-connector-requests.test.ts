/**
 * Message requests on Messenger (database 95) through the real connector and client against the
 * emulator: a stranger's DM arrives as a request portal that says so (topic and one notice), its
 * messages come through database 95 with its own cursor (also across a reconnect), `accept` moves
 * it to the inbox, replying from Matrix accepts it first, and `decline` deletes it.
 */
import assert from 'node:assert/strict';
import { BridgeError, portalKey, type RemoteMessage } from '../../shared/src/network/index.js';
import { recordingConvertContext } from '../helpers/fake-login.js';
import { MetaConnectorEnv, USER, enc, matrixText, ofType, until, type ControlMessage } from '../helpers/meta-connector-env.js';

const DAVE = '15550000009';
const DAVE_CHAT = 'dm:dave:me';
const bodyOf = async (m: RemoteMessage) => (await m.convert(recordingConvertContext(m.portal, true))).parts.map((p) => p.content.body).join('|');

describe('Meta connector: message requests (Messenger)', function () {
  this.timeout(30_000);
  const env = new MetaConnectorEnv('messenger');
  const dave = portalKey(DAVE, USER.me);
  const fromDave = (login: Parameters<typeof ofType>[0]) => ofType(login, 'message').filter((m) => m.portal.id === DAVE && m.sender.user === DAVE);
  const daveWrites = (text: string) => env.control('POST', `/chats/${enc(DAVE_CHAT)}/messages`, { as: 'dave', text });

  beforeEach(async () => {
    await env.start();
    env.emulator.setStranger('dave', true);
    await env.control('POST', '/accounts', { id: 'dave', name: 'Dave Stranger', phone: '+15550000009' });
    await env.control('POST', '/dms', { a: 'dave', b: 'me' });
  });
  afterEach(() => env.stop());

  it('a stranger\'s DM is a request portal (topic and exactly one notice); its messages come through database 95, none lost', async () => {
    await daveWrites('hello, we met at the conference');
    const { login, api } = await env.login();
    await until('request portal', () => ofType(login, 'chat_resync').find((e) => e.portal.id === DAVE && e.createPortal));
    assert.equal(env.dir(api).isMessageRequest(DAVE), true);
    assert.equal(env.dir(api).threads.get(DAVE)?.folderName, 'pending');
    const notices = ofType(login, 'message').filter((m) => m.id === `tributary.request.${DAVE}`);
    assert.equal(notices.length, 1, 'one notice');
    assert.equal(notices[0]!.sender.isBridgeBot, true);
    assert.match(await bodyOf(notices[0]!), /message request on Messenger.*"!messenger accept".*"!messenger decline"/s);
    assert.match((await api.getChatInfo(dave)).topic ?? '', /message request on Messenger/);
    const first = await until('first message', () => fromDave(login)[0]);
    assert.equal(await bodyOf(first), 'hello, we met at the conference');
    assert.ok(api.client().getCursor(95) !== null, 'database 95 has its own cursor');
    await until('the database 95 cursor saved with the login', () => (login.metadata.cursors as Record<string, unknown> | undefined)?.['95'] === api.client().getCursor(95));

    // Live, then while disconnected: connecting again resyncs database 95 from its cursor.
    await daveWrites('are you there?');
    await until('live request message', () => fromDave(login).length === 2);
    const cursor = api.client().getCursor(95);
    await api.disconnect();
    await daveWrites('sent while you were away');
    api.connect();
    await until('message from the gap', () => fromDave(login).length === 3);
    await until('reconnected', () => login.lastState() === 'CONNECTED');
    assert.notEqual(api.client().getCursor(95), cursor, 'the cursor moved past the gap');
    // A dropped socket (the client reconnects by itself) loses nothing either.
    env.emulator.dropConnections(USER.me);
    await daveWrites('after a dropped socket');
    await until('message after the drop', () => fromDave(login).length === 4);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await Promise.all(fromDave(login).map(bodyOf)), ['hello, we met at the conference', 'are you there?', 'sent while you were away', 'after a dropped socket'], 'each once, in order');
    assert.equal(ofType(login, 'message').filter((m) => m.id === `tributary.request.${DAVE}`).length, 1, 'still one notice');
  });

  it('accept moves the request to the inbox: the topic drops the request line and later messages come through the mailbox', async () => {
    await daveWrites('hi');
    const { login, api } = await env.login();
    await until('request portal', () => fromDave(login)[0]);
    const resyncsBefore = ofType(login, 'chat_resync').filter((e) => e.portal.id === DAVE).length;
    const mailboxBefore = api.client().getCursor(1);
    await api.acceptMessageRequest(dave);
    assert.equal(env.dir(api).isMessageRequest(DAVE), false);
    assert.equal(env.dir(api).threads.get(DAVE)?.folderName, 'inbox');
    assert.ok(ofType(login, 'chat_resync').filter((e) => e.portal.id === DAVE).length > resyncsBefore, 'the portal info is fetched again');
    assert.doesNotMatch((await api.getChatInfo(dave)).topic ?? '', /message request/);
    await daveWrites('thanks for accepting');
    const later = await until('message after accepting', () => fromDave(login)[1]);
    assert.equal(await bodyOf(later), 'thanks for accepting');
    await until('mailbox cursor moved', () => api.client().getCursor(1) !== mailboxBefore);
    // Accepting again is refused by Meta's side and said plainly; nothing changes.
    await assert.rejects(api.acceptMessageRequest(dave), (err: unknown) => err instanceof BridgeError);
    // A fresh session lists the chat in the inbox (mailbox), not as a request.
    const second = await env.login();
    await until('thread in the new session', () => env.dir(second.api).threads.get(DAVE));
    assert.equal(env.dir(second.api).isMessageRequest(DAVE), false);
  });

  it('replying from Matrix accepts the request first and the message reaches the stranger', async () => {
    await daveWrites('hi');
    const { login, api } = await env.login();
    await until('request', () => fromDave(login)[0]);
    await api.handleMatrixMessage(matrixText(dave, 'hello Dave'));
    assert.equal(env.dir(api).isMessageRequest(DAVE), false);
    const msgs = await env.control<ControlMessage[]>('GET', `/chats/${enc(DAVE_CHAT)}/messages`);
    assert.equal(msgs.at(-1)?.content.text, 'hello Dave');
    assert.equal(msgs.at(-1)?.sender, 'me');
  });

  it('decline deletes the request: a new session does not list it, until the stranger writes again', async () => {
    await daveWrites('buy my stuff');
    const { login, api } = await env.login();
    await until('request', () => fromDave(login)[0]);
    await api.declineMessageRequest(dave);
    assert.equal(env.dir(api).threads.has(DAVE), false);
    const second = await env.login();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(env.dir(second.api).threads.has(DAVE), false, 'not listed any more');
    assert.equal(fromDave(second.login).length, 0);
    await daveWrites('hello again');
    const back = await until('request again', () => fromDave(second.login)[0]);
    assert.equal(await bodyOf(back), 'hello again');
    assert.equal(env.dir(second.api).isMessageRequest(DAVE), true);
    // A chat that is not a request cannot be declined or accepted.
    await assert.rejects(api.declineMessageRequest(portalKey(USER.alice, USER.me)), (err: unknown) => err instanceof BridgeError);
  });
});
