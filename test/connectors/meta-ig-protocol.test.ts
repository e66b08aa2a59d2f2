/**
 * The real MetaClient (platform instagram) against the emulator's Instagram flavour: Instagram's
 * own protocol end to end. The first connect takes the inbox over GraphQL and streams database 223
 * from its seq_id (never a LightSpeed mailbox sync); a contact's message, edit, reaction and unsend
 * arrive as slide deltas; a text send goes over GraphQL and typing over mqttbypass (no LightSpeed
 * request for either), typing from others over streamcontroller; a reconnect resumes from the stored
 * seq_id with nothing lost or doubled; an unknown seq_id gets a resnapshot and a fresh start.
 */
import assert from 'node:assert/strict';
import { SandboxClient, type WireEvent } from '../../bridges/sandbox/src/client/index.js';
import type { MetaEvent } from '../../bridges/meta/src/client/events.js';
import { MetaTaskError } from '../../bridges/meta/src/client/errors.js';
import { editMessageTask, sendMessageTask, sendReactionTask, typingTask, unsendMessageTask } from '../../bridges/meta/src/lightspeed/tasks.js';
import { deriveOtid } from '../../bridges/meta/src/lightspeed/ids.js';
import { MetaEnv, USER, GROUP_1, until } from '../helpers/meta-env.js';
import { recordInstagramCalls } from '../helpers/instagram-calls.js';

const ALICE_DM = 'dm:alice:me';
const enc = encodeURIComponent;
let n = 0;
const otid = () => deriveOtid(`$ig-${++n}`, Date.now());
const IG = 223;
type Of<T extends MetaEvent['type']> = Extract<MetaEvent, { type: T }>;
const find = <T extends MetaEvent['type']>(events: MetaEvent[], type: T, pred: (e: Of<T>) => boolean) => events.find((e): e is Of<T> => e.type === type && pred(e as Of<T>));
const texts = (events: MetaEvent[], text: string) => events.filter((e) => e.type === 'message' && e.message.text === text);

describe('MetaClient on Instagram\'s own protocol (database 223, GraphQL, mqttbypass, streamcontroller)', function () {
  this.timeout(30_000);
  const env = new MetaEnv('instagram');
  const calls = recordInstagramCalls(env);

  const connect = (cursors: Record<number, string | null> = {}) => env.connected({ fetch: calls.fetch, cursors });

  it('first connect: the inbox over GraphQL, then database 223 from its seq_id; no LightSpeed sync', async () => {
    const cursors: Array<{ database: number; cursor: string | null }> = [];
    const { client, events } = await env.connected({ fetch: calls.fetch });
    client.on('cursor', (c) => cursors.push(c));
    assert.deepEqual(calls.graphql, ['PolarisDirectInboxQuery']);
    assert.equal(calls.lightspeed, 0, 'no LightSpeed request: no mailbox sync');
    assert.equal(client.getCursor(1), null);
    const seq = client.getCursor(IG);
    assert.match(seq ?? '', /^\d+$/);
    const threads = events.filter((e) => e.type === 'thread' && e.change === 'upsert').map((e) => e.type === 'thread' && e.change === 'upsert' && e.thread.threadKey);
    assert.deepEqual([...threads].sort(), [USER.alice, USER.bob, GROUP_1].sort());
    const group = find(events, 'thread', (e) => e.change === 'upsert' && e.thread.threadKey === GROUP_1);
    assert.ok(group?.change === 'upsert' && group.thread.threadName === 'Sandbox friends' && group.thread.threadType === 2);
    const members = events.filter((e): e is Extract<MetaEvent, { type: 'thread'; change: 'participant-added' }> => e.type === 'thread' && e.change === 'participant-added' && e.participant.threadKey === GROUP_1);
    assert.equal(members.length, 4);
    const owner = await env.control<{ members: Array<{ user_id: string; role: string }> }>('GET', `/chats/${enc('g:1')}`);
    const ownerId = { me: USER.me, alice: USER.alice, bob: USER.bob, carol: USER.carol }[owner.members.find((m) => m.role === 'owner')!.user_id as 'me'];
    assert.deepEqual(members.filter((m) => m.participant.isSuperAdmin).map((m) => m.participant.contactId), [ownerId], 'the group creator is its super admin');
    // A new message moves the seq_id forward, announced as the cursor of database 223.
    await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'seq moves' });
    await until('the message', () => texts(events, 'seq moves').length === 1);
    const moved = await until('cursor event', () => cursors.find((c) => c.database === IG));
    assert.ok(BigInt(moved.cursor!) > BigInt(seq!));
    assert.equal(client.getCursor(IG), moved.cursor);
    // The GraphQL form carries fb_dtsg and the cookies carry the session: neither reaches a log.
    assert.ok(env.logs.length > 1000, 'client and emulator logged at trace level');
    for (const secret of [await env.token(), client.pageConfig!.fbDtsg]) assert.ok(!env.logs.includes(secret), 'a secret reached the logs');
  });

  it("a contact's message, edit, reaction and unsend arrive as events on the right message", async () => {
    const { events } = await connect();
    const sent = await env.control<{ id: string }>('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'from alice' });
    const msg = await until('message', () => find(events, 'message', (e) => e.message.text === 'from alice'));
    assert.equal(msg.message.senderId, USER.alice);
    assert.equal(msg.message.threadKey, USER.alice);
    const mid = msg.message.messageId;
    await env.control('POST', `/messages/${enc(sent.id)}/edit`, { as: 'alice', text: 'from alice, edited' });
    await until('edit', () => find(events, 'edit', (e) => e.edit.messageId === mid && e.edit.text === 'from alice, edited'));
    await env.control('POST', `/messages/${enc(sent.id)}/reactions`, { as: 'alice', emoji: '😂' });
    const r = await until('reaction', () => find(events, 'reaction', (e) => e.reaction.messageId === mid));
    assert.deepEqual([r.reaction.actorId, r.reaction.reaction, r.reaction.threadKey], [USER.alice, '😂', USER.alice]);
    await env.control('DELETE', `/messages/${enc(sent.id)}`, { as: 'alice' });
    await until('unsend', () => find(events, 'unsend', (e) => e.messageId === mid && e.threadKey === USER.alice));
    assert.equal(calls.lightspeed, 0);
  });

  it('a text send goes over GraphQL (not LightSpeed), the contact sees it, and its echo carries our otid', async () => {
    const { client, events } = await connect();
    const id = otid();
    const { tables } = await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: id, text: 'via graphql' }));
    assert.deepEqual(calls.graphql, ['PolarisDirectInboxQuery', 'IGDirectTextSendMutation']);
    assert.equal(calls.lightspeed, 0);
    const row = tables.LSInsertMessage![0]!;
    assert.equal(row.offlineThreadingId, String(id));
    assert.match(row.messageId, /^mid\.\$/);
    const msgs = await env.control<Array<{ content: { text?: string }; client_txn_id: string | null }>>('GET', `/chats/${enc(ALICE_DM)}/messages`);
    assert.deepEqual([msgs.at(-1)!.content.text, msgs.at(-1)!.client_txn_id], ['via graphql', `otid:${id}`]);
    const echo = await until('echo', () => find(events, 'message', (e) => e.message.messageId === row.messageId));
    assert.equal(echo.message.offlineThreadingId, String(id));
  });

  it('a reaction goes over GraphQL (one per person, empty removes); a refusal is a MetaTaskError with its code', async () => {
    const { client, events } = await connect();
    const sent = await env.control<{ id: string }>('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'react here' });
    const mid = (await until('message', () => find(events, 'message', (e) => e.message.text === 'react here'))).message.messageId;
    const react = (reaction: string, messageId = mid) => client.sendTask(sendReactionTask({ threadId: USER.alice, messageId, actorId: USER.me, reaction, timestampMs: Date.now() }));
    const reactions = async () => (await env.control<{ reactions: Array<{ user_id: string; emoji: string }> }>('GET', `/messages/${enc(sent.id)}`)).reactions.map((r) => [r.user_id, r.emoji]);
    await react('👍');
    await react('❤️');
    assert.deepEqual(await reactions(), [['me', '❤️']]);
    await until('our reaction comes back as a delta', () => find(events, 'reaction', (e) => e.reaction.actorId === USER.me && e.reaction.reaction === '❤️'));
    await react('');
    assert.deepEqual(await reactions(), []);
    await until('its removal too', () => find(events, 'reaction-removed', (e) => e.actorId === USER.me && e.messageId === mid));
    await assert.rejects(react('👍', 'mid.$bm90LWEtbWVzc2FnZS8x'), (err: unknown) =>
      err instanceof MetaTaskError && err.failures[0]!.task === 'sendReaction' && err.failures[0]!.code === 'not_found');
    assert.equal(calls.lightspeed, 0);
    assert.deepEqual(calls.graphql.filter((d) => d === 'IGDirectReactionSendMutation').length, 4);
  });

  it('edits (within Meta limits) and unsends go over GraphQL; a message the session never saw stays on LightSpeed', async () => {
    const { client } = await connect();
    const msgs = () => env.control<Array<{ id: string; content: { text?: string }; deleted: boolean; edit_count: number }>>('GET', `/chats/${enc(ALICE_DM)}/messages`);
    const { tables } = await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: otid(), text: 'v0' }));
    const mid = tables.LSInsertMessage![0]!.messageId;
    for (let i = 1; i <= 5; i++) {
      const { tables: t } = await client.sendTask(editMessageTask({ messageId: mid, text: `v${i}` }));
      assert.deepEqual(t.LSEditMessage, [{ messageId: mid, text: `v${i}` }]);
    }
    await assert.rejects(client.sendTask(editMessageTask({ messageId: mid, text: 'v6' })), (err: unknown) =>
      err instanceof MetaTaskError && err.failures[0]!.task === 'editMessage' && err.failures[0]!.code === 'edit-limit-reached');
    assert.deepEqual([(await msgs()).at(-1)!.content.text, (await msgs()).at(-1)!.edit_count], ['v5', 5]);
    const late = (await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: otid(), text: 'late' }))).tables.LSInsertMessage![0]!.messageId;
    env.clockOffsetMs = 16 * 60_000;
    await assert.rejects(client.sendTask(editMessageTask({ messageId: late, text: 'too late' })), (err: unknown) =>
      err instanceof MetaTaskError && err.failures[0]!.code === 'edit-window-passed');
    env.clockOffsetMs = 0;
    await client.sendTask(unsendMessageTask({ messageId: mid }));
    assert.equal((await msgs()).find((m) => m.content.text === 'v5' || m.deleted)!.deleted, true);
    assert.equal(calls.lightspeed, 0);
    assert.equal(calls.graphql.filter((d) => d === 'IGDirectEditMessageMutation').length, 7);
    assert.equal(calls.graphql.filter((d) => d === 'IGDMessageUnsendDialogOffMsysMutation').length, 1);
    // An older message (before this session's snapshot, not its thread's last): its thread is unknown.
    const old = await env.control<{ id: string }>('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'me', text: 'older' });
    await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'newer' });
    const other = await connect();
    const oldMid = `mid.$${Buffer.from(old.id).toString('base64url')}`;
    calls.lightspeed = 0;
    await other.client.sendTask(editMessageTask({ messageId: oldMid, text: 'older, edited' }));
    assert.equal(calls.lightspeed, 1, 'the edit of a message whose thread is unknown went as a LightSpeed task');
    assert.equal((await env.control<{ content: { text: string } }>('GET', `/messages/${enc(old.id)}`)).content.text, 'older, edited');
  });

  it('typing goes out over mqttbypass and comes in over streamcontroller', async () => {
    const { client, events } = await connect();
    const alice = new SandboxClient({ url: env.server.url, token: await env.token('alice') });
    const seen: WireEvent[] = [];
    alice.on('event', (e) => seen.push(e));
    await alice.connect();
    try {
      await client.sendTask(typingTask({ threadId: USER.alice, isGroup: false, isTyping: true, threadType: 1 }));
      await until('alice sees me typing', () => seen.find((e) => e.type === 'typing' && e.user_id === 'me' && e.typing));
      assert.equal(calls.lightspeed, 0, 'typing did not use LightSpeed');
      // The subscription opens right after connecting; give it a moment, then alice types.
      await until('typing arrives', async () => {
        await env.control('POST', `/chats/${enc(ALICE_DM)}/typing`, { as: 'alice', typing: true });
        await new Promise((r) => setTimeout(r, 50));
        return find(events, 'typing', (e) => e.senderId === USER.alice);
      });
      const t = find(events, 'typing', (e) => e.senderId === USER.alice)!;
      assert.deepEqual([t.threadKey, t.isTyping], [USER.alice, true]);
    } finally {
      await alice.close();
    }
  });

  it('a reconnect resumes from the stored seq_id: nothing lost, nothing doubled, no new inbox query', async () => {
    const first = await connect();
    await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'before' });
    await until('before', () => texts(first.events, 'before').length === 1);
    // A dropped socket reconnects by itself and resumes.
    env.emulator.dropConnections(USER.me);
    await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'while dropped' });
    await until('while dropped', () => texts(first.events, 'while dropped').length === 1);
    const stored = first.client.getCursor(IG)!;
    await first.client.disconnect();
    assert.deepEqual(calls.graphql, ['PolarisDirectInboxQuery'], 'the reconnect streamed from its seq_id');

    // A restart: a new client with the stored seq_id gets exactly what happened meanwhile.
    for (const text of ['missed 1', 'missed 2']) await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text });
    await env.control('POST', `/chats/${enc('g:1')}/messages`, { as: 'bob', text: 'missed in group' });
    calls.graphql = [];
    const second = await connect({ [IG]: stored });
    await until('all missed', () => ['missed 1', 'missed 2', 'missed in group'].every((t) => texts(second.events, t).length >= 1));
    await new Promise((r) => setTimeout(r, 200));
    for (const t of ['missed 1', 'missed 2', 'missed in group']) assert.equal(texts(second.events, t).length, 1, `${t} once`);
    for (const t of ['before', 'while dropped']) assert.equal(texts(second.events, t).length, 0, `${t} not again`);
    assert.ok(!calls.graphql.includes('PolarisDirectInboxQuery'), 'no inbox snapshot on resume');
    assert.ok(BigInt(second.client.getCursor(IG)!) > BigInt(stored));
  });

  it('an unknown seq_id gets a resnapshot: the seq_id is cleared, the inbox fetched again, and the stream resumes', async () => {
    const cursors: Array<string | null> = [];
    const client = env.client(await env.cookies(), { fetch: calls.fetch, cursors: { [IG]: '999999999' } });
    const events: MetaEvent[] = [];
    client.on('event', (e) => events.push(e));
    client.on('cursor', (c) => c.database === IG && cursors.push(c.cursor));
    await client.connect();
    await until('resnapshot and a fresh seq_id', () => cursors.length >= 2 && client.state.state === 'connected' && client.getCursor(IG) !== null);
    assert.equal(cursors[0], null, 'the resnapshot cleared the seq_id first');
    assert.ok(BigInt(client.getCursor(IG)!) < 999999999n);
    assert.deepEqual(calls.graphql, ['PolarisDirectInboxQuery']);
    await until('threads from the new snapshot', () => find(events, 'thread', (e) => e.change === 'upsert' && e.thread.threadKey === GROUP_1));
    await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'after resnapshot' });
    await until('live again', () => texts(events, 'after resnapshot').length === 1);
  });
});
