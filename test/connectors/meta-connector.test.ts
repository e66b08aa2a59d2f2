/**
 * The real Meta connector (bridges/meta/src/connector) with the real MetaClient against the Meta
 * emulator over an in-process sandbox network: the cookie login, connection states, network events
 * becoming RemoteEvents, chat info, backfill and catch-up, for both flavours where they differ.
 * Matrix -> network is in meta-connector-matrix.test.ts.
 */
import assert from 'node:assert/strict';
import { portalKey, type ChatInfo, type LoginStep } from '../../shared/src/network/index.js';
import { recordingConvertContext } from '../helpers/fake-login.js';
import { MetaConnectorEnv, GROUP_1, USER, enc, ofType, until } from '../helpers/meta-connector-env.js';

const ALICE_DM_CHAT = 'dm:alice:me';
const bodyOf = (c: { parts: Array<{ content: Record<string, unknown> }> }) => c.parts.map((p) => p.content.body).join('|');

describe('Meta connector: login, states and network events (messenger)', function () {
  this.timeout(30_000);
  const env = new MetaConnectorEnv('messenger');
  beforeEach(() => env.start());
  afterEach(() => env.stop());

  it('logs in with cookies: the account from the page, the cookies stored, none of them in the logs', async () => {
    const { login, api } = await env.login();
    assert.equal(login.id, USER.me);
    assert.equal(login.remoteName, 'Me (sandbox)');
    const stored = login.metadata.cookies as Array<{ name: string; value: string }>;
    assert.deepEqual(['c_user', 'datr', 'xs'].filter((n) => stored.some((c) => c.name === n)), ['c_user', 'datr', 'xs']);
    assert.ok(api.isLoggedIn());
    const token = await env.token();
    assert.ok(env.logs.length > 1000, 'the client logged at trace level');
    assert.ok(!env.logs.includes(token) && !env.logs.includes('datr-value-123'), 'a cookie value reached the logs');
  });

  it('refuses cookies that miss one, naming it, and expired ones, naming them; nothing is stored', async () => {
    const proc = env.connector.createLogin(env.user, 'cookies');
    const step = await proc.start();
    assert.equal((step as Extract<LoginStep, { type: 'user_input' }>).fields[0]!.type, 'token', 'the cookies are a secret the core redacts');
    const header = (await env.cookieHeader()).replace(/; datr=[^;]+/, '');
    await assert.rejects(proc.submitUserInput!({ cookies: header }), (err: Error) => /missing Messenger cookie: datr/i.test(err.message));
    const past = Math.floor(Date.now() / 1000) - 3600;
    const json = JSON.stringify([
      { name: 'xs', value: await env.token(), expirationDate: past }, { name: 'c_user', value: USER.me }, { name: 'datr', value: 'd', expirationDate: past },
    ]);
    await assert.rejects(proc.submitUserInput!({ cookies: json }), (err: Error) => /expired Messenger cookies: xs \(expired .*\), datr/i.test(err.message));
    // Cookies that parse but are no session: Meta shows its login page.
    await assert.rejects(proc.submitUserInput!({ cookies: `xs=not-a-session; c_user=${USER.me}; datr=x` }), (err: Error) => /did not accept these cookies/.test(err.message));
    assert.equal(env.logins.length, 0);
  });

  it('a login whose stored cookies have expired reports BAD_CREDENTIALS naming them, without connecting', async () => {
    const { login } = await env.login();
    const stored = login.metadata.cookies as Array<Record<string, unknown>>;
    (login.metadata as Record<string, unknown>).cookies = stored.map((c) => (c.name === 'xs' ? { ...c, expirationDate: Date.now() / 1000 - 10 } : c));
    const api = env.connector.loadUserLogin(login);
    api.connect();
    const state = login.states.at(-1)!;
    assert.equal(state.stateEvent, 'BAD_CREDENTIALS');
    assert.equal(state.error, 'meta-cookies-expired');
    assert.match(state.message!, /xs/);
    assert.equal(api.isLoggedIn(), false);
  });

  it('close code 4003 ends in BAD_CREDENTIALS with a clear message and no reconnect', async () => {
    const { login, api } = await env.login();
    const before = login.states.length;
    env.emulator.dropConnections(USER.me, 4003);
    await until('bad credentials', () => login.lastState() === 'BAD_CREDENTIALS');
    await new Promise((r) => setTimeout(r, 300));
    const after = login.states.slice(before);
    assert.deepEqual(after.map((s) => s.stateEvent), ['BAD_CREDENTIALS']);
    assert.equal(after[0]!.error, 'meta-unauthorized');
    assert.match(after[0]!.message!, /Messenger .*fresh cookies/);
    assert.equal(api.isLoggedIn(), false);
  });

  it('a dropped socket is TRANSIENT_DISCONNECT, then CONNECTED, and the sync cursor is persisted', async () => {
    const { login } = await env.login();
    await until('cursor saved', () => (login.metadata.cursors as Record<string, string> | undefined)?.['1']);
    const before = login.states.length;
    env.emulator.dropConnections(USER.me);
    await until('reconnected', () => login.states.slice(before).some((s) => s.stateEvent === 'TRANSIENT_DISCONNECT') && login.lastState() === 'CONNECTED');
    assert.equal(login.states.slice(before).find((s) => s.stateEvent === 'TRANSIENT_DISCONNECT')!.error, 'meta-connection-lost');
  });

  it('creates portals for existing chats, with DM and group chat info', async () => {
    const { login, api } = await env.login();
    const resyncs = await until('three chats', () => {
      const r = ofType(login, 'chat_resync');
      return r.length >= 3 && r;
    });
    const keys = resyncs.map((r) => `${r.portal.id}/${r.portal.receiver}`).sort();
    assert.deepEqual(keys, [`${GROUP_1}/`, `${USER.alice}/${USER.me}`, `${USER.bob}/${USER.me}`].sort());
    assert.ok(resyncs.every((r) => r.createPortal));
    const dm = await api.getChatInfo(portalKey(USER.alice, USER.me));
    assert.equal(dm.type, 'dm');
    assert.equal(dm.otherUser, USER.alice);
    const group: ChatInfo = await api.getChatInfo(portalKey(GROUP_1));
    assert.equal(group.type, 'group');
    assert.equal(group.name, 'Sandbox friends');
    const levels = Object.fromEntries(group.members!.map((m) => [m.user, m.powerLevel]));
    assert.deepEqual(levels, { [USER.alice]: 75, [USER.me]: 0, [USER.bob]: 0, [USER.carol]: 0 });
    assert.ok(group.members!.find((m) => m.user === USER.me)!.isFromMe);
    const carol = await api.getUserInfo(USER.carol as never);
    assert.equal(carol.name, 'Carol Danvers');
  });

  it('a network message becomes a converted remote message in the right portal', async () => {
    const { login } = await env.login();
    await env.control('POST', `/chats/${enc(ALICE_DM_CHAT)}/messages`, { as: 'alice', text: 'hi from alice' });
    const msg = await until('message', () => ofType(login, 'message').find((m) => m.portal.id === USER.alice && m.sender.user === USER.alice));
    assert.deepEqual(msg.portal, portalKey(USER.alice, USER.me));
    assert.equal(msg.sender.isFromMe, false);
    assert.match(msg.id, /^mid\.\$/);
    const converted = await msg.convert(recordingConvertContext(msg.portal, true));
    assert.equal(bodyOf(converted), 'hi from alice');
    await env.control('POST', `/chats/${enc('g:1')}/messages`, { as: 'bob', text: 'group hello' });
    const g = await until('group message', () => ofType(login, 'message').find((m) => m.portal.id === GROUP_1));
    assert.equal(g.portal.receiver, '');
    assert.equal(g.sender.user, USER.bob);
  });

  it('network edits, unsends, reactions, typing and reads become remote events on the right message', async () => {
    const { login } = await env.login();
    const sent = await env.control<{ id: string }>('POST', `/chats/${enc(ALICE_DM_CHAT)}/messages`, { as: 'alice', text: 'typo' });
    const msg = await until('message', () => ofType(login, 'message').find((m) => m.sender.user === USER.alice));
    await env.control('POST', `/messages/${enc(sent.id)}/edit`, { as: 'alice', text: 'fixed' });
    const edit = await until('edit', () => ofType(login, 'edit')[0]);
    assert.equal(edit.target, msg.id);
    assert.equal(edit.sender.user, USER.alice);
    assert.equal(edit.editCount, 1);
    const ctx = recordingConvertContext(edit.portal, true);
    assert.equal((await edit.convert(ctx, ['' as never])).modifiedParts[0]!.content.body, 'fixed');
    await env.control('POST', `/messages/${enc(sent.id)}/reactions`, { as: 'alice', emoji: '😂' });
    const r = await until('reaction', () => ofType(login, 'reaction')[0]);
    assert.deepEqual([r.target, r.emoji, r.replacesOthers, r.sender.user], [msg.id, '😂', true, USER.alice]);
    await env.control('POST', `/chats/${enc(ALICE_DM_CHAT)}/typing`, { as: 'alice', typing: true });
    const t = await until('typing', () => ofType(login, 'typing')[0]);
    assert.ok(t.timeoutMs > 0);
    assert.equal(t.sender.user, USER.alice);
    await env.control('POST', `/chats/${enc(ALICE_DM_CHAT)}/read`, { as: 'alice', message: sent.id });
    const read = await until('read', () => ofType(login, 'read_receipt').find((x) => x.sender.user === USER.alice));
    assert.equal(read.target, msg.id);
    await env.control('DELETE', `/messages/${enc(sent.id)}`, { as: 'alice' });
    const gone = await until('unsend', () => ofType(login, 'message_remove')[0]);
    assert.deepEqual([gone.target, gone.sender.user], [msg.id, USER.alice]);
  });

  it('group renames and member changes become chat_info_change events', async () => {
    const { login } = await env.login();
    await until('chats', () => ofType(login, 'chat_resync').length >= 3);
    await env.control('PATCH', `/chats/${enc('g:1')}`, { as: 'alice', name: 'Climbing' });
    const name = await until('rename', () => ofType(login, 'chat_info_change').find((c) => c.change.name));
    assert.deepEqual([name.portal, name.change.name], [portalKey(GROUP_1), 'Climbing']);
    await env.control('POST', `/chats/${enc('g:1')}/members`, { as: 'alice', remove: 'carol' });
    const removed = await until('removal', () => ofType(login, 'chat_info_change').find((c) => c.change.members?.removed));
    assert.equal(removed.change.members!.removed![0]!.user, USER.carol);
  });

  it('backfills history oldest first and catches up forward from an anchor', async () => {
    for (let i = 1; i <= 25; i++) await env.control('POST', `/chats/${enc(ALICE_DM_CHAT)}/messages`, { as: 'alice', text: `old ${i}` });
    const { api } = await env.login();
    const portal = portalKey(USER.alice, USER.me);
    const res = await api.fetchMessages({ portal, forward: false, count: 25 });
    const texts = async (list: typeof res.messages) => Promise.all(list.map(async (m) => bodyOf(await m.convert(recordingConvertContext(portal, true)))));
    assert.deepEqual(await texts(res.messages), Array.from({ length: 25 }, (_, i) => `old ${i + 1}`));
    assert.ok(res.messages.every((m, i) => i === 0 || m.timestamp >= res.messages[i - 1]!.timestamp));
    const anchor = res.messages[19]!;
    const forward = await api.fetchMessages({ portal, forward: true, anchor: { id: anchor.id, timestamp: anchor.timestamp }, count: 100 });
    assert.deepEqual(await texts(forward.messages), ['old 21', 'old 22', 'old 23', 'old 24', 'old 25']);
    assert.equal(forward.hasMore, false);
    const older = await api.fetchMessages({ portal, forward: false, anchor: { id: anchor.id, timestamp: anchor.timestamp }, count: 5 });
    assert.deepEqual(await texts(older.messages), ['old 15', 'old 16', 'old 17', 'old 18', 'old 19']);
  });
});

describe('Meta connector: instagram flavour', function () {
  this.timeout(30_000);
  const env = new MetaConnectorEnv('instagram');
  beforeEach(() => env.start());
  afterEach(() => env.stop());

  it('logs in with Instagram cookies (missing ones named), bridges a message and a group', async () => {
    const proc = env.connector.createLogin(env.user, 'cookies');
    await proc.start();
    const header = (await env.cookieHeader()).replace(/; mid=[^;]+/, '');
    await assert.rejects(proc.submitUserInput!({ cookies: header }), (err: Error) => /missing Instagram cookie: mid/i.test(err.message));
    const { login, api } = await env.login();
    assert.equal(env.connector.getLoginFlows()[0]!.description.includes('instagram.com'), true);
    await env.control('POST', `/chats/${enc(ALICE_DM_CHAT)}/messages`, { as: 'alice', text: 'ig hello' });
    const msg = await until('message', () => ofType(login, 'message').find((m) => m.sender.user === USER.alice));
    assert.equal(bodyOf(await msg.convert(recordingConvertContext(msg.portal, true))), 'ig hello');
    const group = await api.getChatInfo(portalKey(GROUP_1));
    assert.equal(group.name, 'Sandbox friends');
    assert.equal(group.members!.length, 4);
  });
});
