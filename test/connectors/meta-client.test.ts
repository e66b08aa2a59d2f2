/**
 * The real MetaClient against the Meta emulator over a real sandbox network: cookie login and
 * page config, sending and receiving, reactions, edits (Meta's limits), unsend, typing, reads.
 * More in meta-client-session.test.ts (backfill, groups, media, reconnects, logout, logs).
 */
import assert from 'node:assert/strict';
import { SandboxClient, type WireEvent } from '../../bridges/sandbox/src/client/index.js';
import { MetaCookies } from '../../bridges/meta/src/cookies.js';
import { MetaPageError } from '../../bridges/meta/src/page-config.js';
import { MetaTaskError } from '../../bridges/meta/src/client/errors.js';
import type { MetaEvent } from '../../bridges/meta/src/client/events.js';
import {
  editMessageTask, markReadTask, sendMessageTask, sendReactionTask, typingTask, unsendMessageTask,
} from '../../bridges/meta/src/lightspeed/tasks.js';
import { deriveOtid } from '../../bridges/meta/src/lightspeed/ids.js';
import { MetaEnv, USER, GROUP_1, until } from '../helpers/meta-env.js';

const ALICE_DM = 'dm:alice:me';
const enc = encodeURIComponent;

interface ControlMessage { id: string; sender: string; content: { kind: string; text?: string }; deleted: boolean; edit_count: number; reactions: Array<{ user_id: string; emoji: string }>; read_by?: string[] }

describe('MetaClient against the Meta emulator (messenger)', function () {
  this.timeout(30_000);
  const env = new MetaEnv('messenger');
  let n = 0;
  const otid = () => deriveOtid(`$event-${++n}`, Date.now());
  const messages = (chat = ALICE_DM) => env.control<ControlMessage[]>('GET', `/chats/${enc(chat)}/messages`);
  const sendText = async (client: Awaited<ReturnType<MetaEnv['connected']>>['client'], text: string, threadId: string = USER.alice) => {
    const { tables } = await client.sendTask(sendMessageTask({ threadId, otid: otid(), text }));
    return tables.LSInsertMessage![0]!.messageId;
  };
  const eventOf = <T extends MetaEvent['type']>(events: MetaEvent[], type: T, pred: (e: Extract<MetaEvent, { type: T }>) => boolean) =>
    until(`a ${type} event`, () => events.find((e): e is Extract<MetaEvent, { type: T }> => e.type === type && pred(e as Extract<MetaEvent, { type: T }>)));

  beforeEach(() => env.start());
  afterEach(() => env.stop());

  it('logs in with cookies and reads the page config, its embedded threads and Set-Cookie', async () => {
    const { client } = await env.connected();
    assert.equal(client.state.state, 'connected');
    const page = client.pageConfig!;
    assert.equal(page.accountId, USER.me);
    assert.equal(page.userName, 'Me (sandbox)');
    assert.match(page.fbDtsg, /^[\w-]{10,}$/);
    assert.equal(page.syncParams.mailbox, '{"locale":"en_US"}');
    const keys = (page.initialTables?.LSDeleteThenInsertThread ?? []).map((t) => t.threadKey).sort();
    assert.deepEqual(keys, [USER.alice, USER.bob, GROUP_1].sort());
    assert.ok(client.cookies.has('wd'), 'the Set-Cookie of the page updated the jar');
    assert.ok(client.getCursor(1), 'the first mailbox sync set a cursor');
  });

  it('classifies cookies that are not a session as a login page and ends logged out', async () => {
    const cookies = MetaCookies.load(`xs=not-a-token; c_user=${USER.me}; datr=x`, 'messenger');
    const client = env.client(cookies);
    await assert.rejects(client.connect(), (err: unknown) => err instanceof MetaPageError && err.code === 'login-required');
    assert.equal(client.state.state, 'logged-out');
    // The right token under someone else's id is no session either.
    const wrong = env.client(MetaCookies.load(`xs=${await env.token()}; c_user=${USER.alice}; datr=x`, 'messenger'));
    await assert.rejects(wrong.connect(), (err: unknown) => err instanceof MetaPageError && err.code === 'login-required');
  });

  it('sends text that shows up on the network, with the otid echoed for dedup', async () => {
    const { client, events } = await env.connected();
    const id = otid();
    const { tables } = await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: id, text: 'hello from Matrix' }));
    const row = tables.LSInsertMessage![0]!;
    assert.equal(row.offlineThreadingId, id.toString());
    assert.equal(row.senderId, USER.me);
    assert.equal(tables.LSRemoveTask?.length, 1);
    const sent = (await messages()).at(-1)!;
    assert.equal(sent.sender, 'me');
    assert.equal(sent.content.text, 'hello from Matrix');
    // A resend with the same otid is deduplicated by the network.
    await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: id, text: 'hello from Matrix' }));
    assert.equal((await messages()).filter((m) => m.content.text === 'hello from Matrix').length, 1);
    // Our own message comes back as a push too (other devices see it), carrying the otid.
    const echo = await eventOf(events, 'message', (e) => e.message.messageId === row.messageId);
    assert.equal(echo.message.offlineThreadingId, id.toString());
  });

  it('turns a network message into a typed message event', async () => {
    const { events } = await env.connected();
    await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'hi from alice' });
    const e = await eventOf(events, 'message', (x) => x.message.text === 'hi from alice');
    assert.equal(e.message.threadKey, USER.alice);
    assert.equal(e.message.senderId, USER.alice);
    assert.match(e.message.messageId, /^mid\.\$/);
    await env.control('POST', `/chats/${enc('g:1')}/messages`, { as: 'bob', text: 'group hello' });
    const g = await eventOf(events, 'message', (x) => x.message.text === 'group hello');
    assert.equal(g.message.threadKey, GROUP_1);
  });

  it('reacts (one reaction per person) and receives reactions', async () => {
    const { client, events } = await env.connected();
    const sent = await env.control<{ id: string }>('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'react to me' });
    const mid = (await eventOf(events, 'message', (x) => x.message.text === 'react to me')).message.messageId;
    await client.sendTask(sendReactionTask({ threadId: USER.alice, messageId: mid, actorId: USER.me, reaction: '👍', timestampMs: Date.now() }));
    await client.sendTask(sendReactionTask({ threadId: USER.alice, messageId: mid, actorId: USER.me, reaction: '❤️', timestampMs: Date.now() }));
    const after = await env.control<ControlMessage>('GET', `/messages/${enc(sent.id)}`);
    assert.deepEqual(after.reactions.map((r) => [r.user_id, r.emoji]), [['me', '❤️']]);
    await env.control('POST', `/messages/${enc(sent.id)}/reactions`, { as: 'alice', emoji: '😂' });
    const r = await eventOf(events, 'reaction', (x) => x.reaction.actorId === USER.alice);
    assert.equal(r.reaction.reaction, '😂');
    assert.equal(r.reaction.messageId, mid);
    await client.sendTask(sendReactionTask({ threadId: USER.alice, messageId: mid, actorId: USER.me, reaction: '', timestampMs: Date.now() }));
    assert.deepEqual((await env.control<ControlMessage>('GET', `/messages/${enc(sent.id)}`)).reactions.map((x) => x.user_id), ['alice']);
    await eventOf(events, 'reaction-removed', (x) => x.actorId === USER.me && x.messageId === mid);
  });

  it('edits within Meta limits: at most 5 edits, only within 15 minutes', async () => {
    const { client, events } = await env.connected();
    const mid = await sendText(client, 'v0');
    for (let i = 1; i <= 5; i++) {
      const { tables } = await client.sendTask(editMessageTask({ messageId: mid, text: `v${i}` }));
      assert.equal(tables.LSEditMessage![0]!.editCount, i);
    }
    await assert.rejects(client.sendTask(editMessageTask({ messageId: mid, text: 'v6' })), (err: unknown) =>
      err instanceof MetaTaskError && err.failures[0]!.code === 'edit-limit-reached' && err.failures[0]!.task === 'editMessage');
    assert.equal((await messages()).at(-1)!.content.text, 'v5');
    const late = await sendText(client, 'late');
    env.clockOffsetMs = 16 * 60_000;
    await assert.rejects(client.sendTask(editMessageTask({ messageId: late, text: 'too late' })), (err: unknown) =>
      err instanceof MetaTaskError && err.failures[0]!.code === 'edit-window-passed');
    env.clockOffsetMs = 0;
    // Someone else's edit arrives as an edit event.
    const theirs = await env.control<{ id: string }>('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'typo' });
    await env.control('POST', `/messages/${enc(theirs.id)}/edit`, { as: 'alice', text: 'fixed' });
    const e = await eventOf(events, 'edit', (x) => x.edit.text === 'fixed');
    assert.equal(e.edit.editCount, 1);
  });

  it('unsends, and reports network deletions as unsend events', async () => {
    const { client, events } = await env.connected();
    const mid = await sendText(client, 'oops');
    await client.sendTask(unsendMessageTask({ messageId: mid }));
    assert.equal((await messages()).at(-1)!.deleted, true);
    const theirs = await env.control<{ id: string }>('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'never mind' });
    const seen = await eventOf(events, 'message', (x) => x.message.text === 'never mind');
    await env.control('DELETE', `/messages/${enc(theirs.id)}`, { as: 'alice' });
    const u = await eventOf(events, 'unsend', (x) => x.messageId === seen.message.messageId);
    assert.equal(u.threadKey, USER.alice);
    // A task on a message that does not exist is refused, not dropped.
    await assert.rejects(client.sendTask(unsendMessageTask({ messageId: 'mid.$bm90LWEtbWVzc2FnZS8x' })), MetaTaskError);
  });

  it('sends and receives typing', async () => {
    const { client, events } = await env.connected();
    const alice = new SandboxClient({ url: env.server.url, token: await env.token('alice') });
    const seen: WireEvent[] = [];
    alice.on('event', (e) => seen.push(e));
    await alice.connect();
    try {
      await client.sendTask(typingTask({ threadId: USER.alice, isGroup: false, isTyping: true, threadType: 1 }));
      await until('alice sees me typing', () => seen.find((e) => e.type === 'typing' && e.user_id === 'me' && e.typing));
      await env.control('POST', `/chats/${enc(ALICE_DM)}/typing`, { as: 'alice', typing: true });
      const t = await eventOf(events, 'typing', (x) => x.senderId === USER.alice);
      assert.equal(t.isTyping, true);
      assert.equal(t.threadKey, USER.alice);
    } finally {
      await alice.close();
    }
  });

  it('marks read and receives read receipts', async () => {
    const { client, events } = await env.connected();
    const theirs = await env.control<{ id: string; ts: number }>('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'read me' });
    await client.sendTask(markReadTask({ threadId: USER.alice, watermarkTimestampMs: theirs.ts }));
    const msgs = await messages();
    assert.ok(msgs.find((m) => m.id === theirs.id)!.read_by!.includes('me'));
    const mine = await sendText(client, 'did you read this?');
    const row = (await messages()).at(-1)!;
    await env.control('POST', `/chats/${enc(ALICE_DM)}/read`, { as: 'alice', message: row.id });
    const r = await eventOf(events, 'read', (x) => x.receipt.contactId === USER.alice);
    const echo = await eventOf(events, 'message', (x) => x.message.messageId === mine);
    assert.equal(r.receipt.readWatermarkTimestampMs, echo.message.timestampMs);
  });
});

