/**
 * The real MetaClient against the Meta emulator over a real sandbox network, second part:
 * backfill (fetch threads and messages), groups, media both ways, reconnects without loss,
 * logged-out states without reconnect, the Instagram flavour, and that no cookie reaches a log.
 */
import assert from 'node:assert/strict';
import { generateTestPng } from '../../bridges/sandbox/src/server/index.js';
import type { MetaClientState } from '../../bridges/meta/src/client/meta-client.js';
import type { MetaEvent } from '../../bridges/meta/src/client/events.js';
import {
  addParticipantsTask, createGroupTask, fetchMessagesTask, fetchThreadsTask, removeParticipantTask, renameThreadTask, sendMessageTask, setThreadImageTask,
} from '../../bridges/meta/src/lightspeed/tasks.js';
import { deriveOtid, makeEpochId } from '../../bridges/meta/src/lightspeed/ids.js';
import { MetaEnv, USER, GROUP_1, until } from '../helpers/meta-env.js';

const ALICE_DM = 'dm:alice:me';
const enc = encodeURIComponent;
let n = 0;
const otid = () => deriveOtid(`$session-${++n}`, Date.now());
const texts = (events: MetaEvent[], text: string) => events.filter((e) => e.type === 'message' && e.message.text === text);

describe('MetaClient against the Meta emulator: sessions, backfill, groups, media', function () {
  this.timeout(30_000);
  const env = new MetaEnv('messenger');
  beforeEach(() => env.start());
  afterEach(() => env.stop());

  it('fetches threads and pages of older messages (backfill)', async () => {
    for (let i = 1; i <= 25; i++) await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: `old ${i}` });
    const { client } = await env.connected();
    const threads = await client.sendTask(fetchThreadsTask());
    const keys = threads.tables.LSDeleteThenInsertThread!.map((t) => t.threadKey).sort();
    assert.deepEqual(keys, [USER.alice, USER.bob, GROUP_1].sort());
    const group = threads.tables.LSDeleteThenInsertThread!.find((t) => t.threadKey === GROUP_1)!;
    assert.equal(group.threadName, 'Sandbox friends');
    assert.equal(group.threadType, 2);
    assert.ok(threads.tables.LSVerifyContactRowExists!.some((c) => c.contactId === USER.carol && c.name === 'Carol Danvers'));
    assert.equal(threads.tables.LSUpsertSyncGroupThreadsRange?.[0]?.hasMoreBefore, false);
    // The first sync carried the newest message; page back from it.
    const { tables: latest } = await client.sendTask(fetchMessagesTask({ threadId: USER.alice, referenceTimestampMs: Date.now() + 1000, referenceMessageId: 'none' }));
    const newest = latest.LSInsertMessage!.at(-1)!;
    assert.equal(newest.text, 'old 25');
    const { tables: page } = await client.sendTask(fetchMessagesTask({ threadId: USER.alice, referenceTimestampMs: newest.timestampMs, referenceMessageId: newest.messageId }));
    assert.deepEqual(page.LSInsertMessage!.map((m) => m.text), Array.from({ length: 20 }, (_, i) => `old ${i + 5}`));
    const oldest = page.LSInsertMessage![0]!;
    const { tables: rest } = await client.sendTask(fetchMessagesTask({ threadId: USER.alice, referenceTimestampMs: oldest.timestampMs, referenceMessageId: oldest.messageId }));
    assert.deepEqual(rest.LSInsertMessage!.map((m) => m.text), ['old 1', 'old 2', 'old 3', 'old 4']);
  });

  it('creates a group, renames it, sets its image and changes its members', async () => {
    const { client, events } = await env.connected();
    const { tables } = await client.sendTask(createGroupTask({ participantIds: [USER.alice, USER.bob], offlineThreadKey: makeEpochId(Date.now()), otid: otid() }));
    const thread = tables.LSDeleteThenInsertThread![0]!;
    assert.equal(thread.threadType, 2);
    const members = tables.LSAddParticipantIdToGroupThread!.filter((p) => p.threadKey === thread.threadKey).map((p) => p.contactId).sort();
    assert.deepEqual(members, [USER.me, USER.alice, USER.bob].sort());
    const chatId = `g:${BigInt(thread.threadKey) - 10n ** 15n}`;
    await client.sendTask(renameThreadTask({ threadId: thread.threadKey, name: 'Climbing' }));
    await client.sendTask(addParticipantsTask({ threadId: thread.threadKey, userIds: [USER.carol] }));
    await client.sendTask(removeParticipantTask({ threadId: thread.threadKey, userId: USER.bob }));
    const png = generateTestPng(8, 8);
    const image = await client.uploadMedia(png, 'image/png', 'group.png');
    assert.equal(image.kind, 'image');
    await client.sendTask(setThreadImageTask({ threadId: thread.threadKey, imageId: image.fbid }));
    const chat = await env.control<{ name: string; avatar: string | null; members: Array<{ user_id: string }> }>('GET', `/chats/${enc(chatId)}`);
    assert.equal(chat.name, 'Climbing');
    assert.deepEqual(chat.members.map((m) => m.user_id).sort(), ['alice', 'carol', 'me']);
    assert.ok(chat.avatar);
    // Changes made on the network arrive as thread events.
    await env.control('PATCH', `/chats/${enc(chatId)}`, { as: 'alice', name: 'Bouldering' });
    await until('a rename event', () => events.find((e) => e.type === 'thread' && e.change === 'name' && e.name === 'Bouldering'));
    await env.control('POST', `/chats/${enc(chatId)}/members`, { as: 'alice', remove: 'alice' });
    await until('a removal event', () => events.find((e) => e.type === 'thread' && e.change === 'participant-removed' && e.participantId === USER.alice));
  });

  it('uploads and downloads media byte for byte, both ways', async () => {
    const { client, events } = await env.connected();
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    const up = await client.uploadMedia(bytes, 'application/octet-stream', 'data.bin');
    assert.equal(up.kind, 'file');
    const { tables } = await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: otid(), attachmentFbids: [up.fbid], text: 'a file' }));
    const att = tables.LSInsertBlobAttachment![0]!;
    assert.equal(att.filename, 'data.bin');
    const sandboxCopy = await env.control<Array<{ content: { media_id?: string; caption?: { text: string } } }>>('GET', `/chats/${enc(ALICE_DM)}/messages`);
    const mediaId = sandboxCopy.at(-1)!.content.media_id!;
    assert.equal(sandboxCopy.at(-1)!.content.caption?.text, 'a file');
    assert.deepEqual(new Uint8Array(await (await fetch(`${env.server.url}/media/${enc(mediaId)}`)).arrayBuffer()), bytes);
    const back = await client.downloadMedia(att.playableUrl!);
    assert.deepEqual(back.bytes, bytes);
    // A network image arrives with an attachment the client can download.
    await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', image: { generate: { width: 16, height: 12 }, caption: 'look' } });
    const e = await until('an image message', () => events.find((x): x is Extract<MetaEvent, { type: 'message' }> => x.type === 'message' && x.message.text === 'look'));
    const a = e.attachments[0]!;
    assert.equal(a.attachmentMimeType, 'image/png');
    assert.equal(a.previewWidth, 16);
    const img = await client.downloadMedia(a.previewUrl!);
    const original = new Uint8Array(await (await fetch(`${env.server.url}/media/${enc(a.attachmentFbid!)}`)).arrayBuffer());
    assert.deepEqual(img.bytes, original);
    await assert.rejects(client.downloadMedia(a.previewUrl!, { maxBytes: 10 }), (err: unknown) => (err as { code?: string }).code === 'too-large');
  });

  it('reconnects after the gateway drops the socket and loses nothing sent meanwhile, without duplicates', async () => {
    const { client, events } = await env.connected();
    const states: MetaClientState[] = [];
    client.on('state', (s) => states.push(s));
    await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'before the drop' });
    await until('first message', () => texts(events, 'before the drop').length === 1);
    // Refused sandbox connections for a moment: the emulator cannot resync until then.
    await env.control('POST', '/accounts/me/disconnect', { refuse_ms: 300 });
    assert.ok(env.emulator.dropConnections(USER.me) >= 0);
    await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'during the drop' });
    await until('reconnected', () => states.some((s) => s.state === 'reconnecting') && client.state.state === 'connected');
    await until('the missed message', () => texts(events, 'during the drop').length === 1);
    env.emulator.dropConnections(USER.me);
    await until('reconnected again', () => states.filter((s) => s.state === 'connected').length >= 2);
    await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'after' });
    await until('a live message after reconnecting', () => texts(events, 'after').length === 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(texts(events, 'before the drop').length, 1);
    assert.equal(texts(events, 'during the drop').length, 1);
  });

  it('close code 4003 ends in the logged-out state without a reconnect', async () => {
    const { client } = await env.connected();
    const states: MetaClientState[] = [];
    client.on('state', (s) => states.push(s));
    env.emulator.dropConnections(USER.me, 4003);
    await until('logged out', () => client.state.state === 'logged-out');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(states.map((s) => s.state), ['logged-out']);
    assert.equal((client.state as Extract<MetaClientState, { state: 'logged-out' }>).reason, 'unauthorized');
    await assert.rejects(client.sendTask(fetchThreadsTask()), (err: unknown) => (err as { code?: string }).code === 'logged-out');
  });

  it('a logout on the network (Deauth) ends logged out, with the page saying why', async () => {
    const { client } = await env.connected();
    const states: MetaClientState[] = [];
    client.on('state', (s) => states.push(s));
    await env.control('POST', '/accounts/me/logout', { reason: 'session revoked' });
    await until('logged out', () => client.state.state === 'logged-out');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!states.some((s) => s.state === 'reconnecting'));
    // The token is void, so the reloaded page is the login page.
    assert.equal((client.state as Extract<MetaClientState, { state: 'logged-out' }>).reason, 'login-required');
  });

  it('a checkpoint on the account is reported as such', async () => {
    env.emulator.setCheckpoint(USER.me, true);
    const client = env.client(await env.cookies());
    await assert.rejects(client.connect(), (err: unknown) => (err as { code?: string }).code === 'checkpoint');
    assert.equal(client.state.state, 'logged-out');
  });

  it('never writes cookie values or session tokens to the logs', async () => {
    const { client } = await env.connected();
    await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: otid(), text: 'log check' }));
    await client.uploadMedia(generateTestPng(4, 4), 'image/png', 'x.png');
    env.emulator.dropConnections(USER.me);
    await until('reconnected', () => client.state.state === 'connected');
    const token = await env.token();
    assert.ok(env.logs.length > 1000, 'the client and emulator logged at trace level');
    for (const secret of [token, 'datr-value-123', client.pageConfig!.fbDtsg, client.cookies.exportValues().wd!]) {
      assert.ok(!env.logs.includes(secret), 'a cookie or token value reached the logs');
    }
    assert.ok(!JSON.stringify(client.cookies).includes(token));
  });
});

describe('MetaClient against the Meta emulator (instagram flavour)', function () {
  this.timeout(30_000);
  const env = new MetaEnv('instagram');
  beforeEach(() => env.start());
  afterEach(() => env.stop());

  it('logs in with Instagram cookies, sends and receives over the same LightSpeed path', async () => {
    const { client, events } = await env.connected();
    assert.equal(client.pageConfig!.accountId, USER.me);
    await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: otid(), text: 'hi on instagram' }));
    const msgs = await env.control<Array<{ content: { text?: string } }>>('GET', `/chats/${enc(ALICE_DM)}/messages`);
    assert.equal(msgs.at(-1)!.content.text, 'hi on instagram');
    await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: 'ig reply' });
    await until('the reply', () => texts(events, 'ig reply').length === 1);
  });
});
