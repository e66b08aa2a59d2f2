/**
 * The real MetaClient (platform instagram) against the emulator's Instagram flavour: mark read,
 * history, single media sends, rename, group creation and the thread list travel as Instagram's GraphQL documents,
 * never as LightSpeed tasks, and the emulator refuses those LightSpeed tasks outright. Sends that
 * Instagram's documents cannot carry (a caption, a sticker) still go as LightSpeed tasks.
 */
import assert from 'node:assert/strict';
import { MetaTaskError } from '../../bridges/meta/src/client/errors.js';
import { graphqlForm, type IGGraphQLDoc } from '../../bridges/meta/src/instagram/graphql.js';
import { InstagramPath } from '../../bridges/meta/src/instagram/ig-path.js';
import { deriveOtid, makeEpochId } from '../../bridges/meta/src/lightspeed/ids.js';
import {
  createGroupTask, fetchMessagesTask, fetchThreadsTask, markReadTask, renameThreadTask, sendMessageTask, sendReactionTask,
} from '../../bridges/meta/src/lightspeed/tasks.js';
import { generateTestPng } from '../../bridges/sandbox/src/server/test-png.js';
import { MetaEnv, USER, until } from '../helpers/meta-env.js';
import { recordInstagramCalls } from '../helpers/instagram-calls.js';

const ALICE_DM = 'dm:alice:me';
const enc = encodeURIComponent;
let n = 0;
const otid = () => deriveOtid(`$ig-ops-${++n}`, Date.now());
type Stored = { id: string; ts: number; content: { kind: string; text?: string; media_id?: string }; read_by: string[]; client_txn_id: string | null };

describe('Instagram: mark read, history, media, rename and new groups over GraphQL', function () {
  this.timeout(30_000);
  const env = new MetaEnv('instagram');
  const calls = recordInstagramCalls(env);

  const connect = () => env.connected({ fetch: calls.fetch });
  const stored = () => env.control<Stored[]>('GET', `/chats/${enc(ALICE_DM)}/messages`);
  const fromAlice = async (count: number) => {
    for (let i = 1; i <= count; i++) await env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', text: `h${i}` });
  };
  const docs = () => calls.graphql.filter((d) => d !== 'PolarisDirectInboxQuery' && d !== 'IGDThreadDetailQuery');

  it('mark read names the newest message at the watermark, then validates it; no LightSpeed', async () => {
    const { client } = await connect();
    await fromAlice(3);
    const [m1, m2, m3] = (await stored()).slice(-3) as [Stored, Stored, Stored];
    const { tables } = await client.sendTask(markReadTask({ threadId: USER.alice, watermarkTimestampMs: m2.ts }));
    assert.deepEqual(docs(), ['IGDMessageListOffMsysQuery', 'useIGDMarkThreadAsReadMutation', 'useIGDMarkThreadAsReadValidationMutation']);
    assert.equal(calls.lightspeed, 0);
    assert.deepEqual(tables.LSUpdateReadReceipt!.map((r) => [r.threadKey, r.contactId, r.readWatermarkTimestampMs]), [[USER.alice, USER.me, m2.ts]]);
    const after = await stored();
    const readBy = (id: string) => after.find((m) => m.id === id)!.read_by;
    assert.ok(readBy(m1.id).includes('me') && readBy(m2.id).includes('me'), 'read up to the watermark');
    assert.ok(!readBy(m3.id).includes('me'), 'not beyond it');
    // A watermark before every message marks nothing and calls nothing but the list.
    calls.graphql = [];
    const none = await client.sendTask(markReadTask({ threadId: USER.alice, watermarkTimestampMs: 1 }));
    assert.deepEqual(none.tables, {});
    assert.ok(docs().length >= 1 && docs().every((d) => d === 'IGDMessageListOffMsysQuery'), 'no mark read mutation');
  });

  it('FetchMessages pages back through the message list query: newest page, then from a message', async () => {
    const { client } = await connect();
    await fromAlice(25);
    const all = (await stored()).filter((m) => m.content.kind === 'text');
    const { tables: newest } = await client.sendTask(fetchMessagesTask({ threadId: USER.alice, referenceTimestampMs: Date.now() + 60_000, referenceMessageId: 'none' }));
    const page1 = newest.LSInsertMessage!.map((m) => m.text);
    assert.equal(page1.length, 20);
    assert.deepEqual(new Set(page1), new Set(all.slice(-20).map((m) => m.content.text)));
    assert.ok(newest.LSInsertMessage!.every((m) => m.threadKey === USER.alice && m.senderId === USER.alice));
    const oldest = [...newest.LSInsertMessage!].sort((a, b) => a.timestampMs - b.timestampMs)[0]!;
    const { tables: older } = await client.sendTask(fetchMessagesTask({ threadId: USER.alice, referenceTimestampMs: oldest.timestampMs, referenceMessageId: oldest.messageId }));
    assert.deepEqual(new Set(older.LSInsertMessage!.map((m) => m.text)), new Set(all.slice(0, -20).map((m) => m.content.text)));
    // A reference time with no message id keeps only what is older than it.
    const { tables: before } = await client.sendTask(fetchMessagesTask({ threadId: USER.alice, referenceTimestampMs: oldest.timestampMs, referenceMessageId: 'none' }));
    assert.ok(before.LSInsertMessage === undefined || before.LSInsertMessage.every((m) => m.timestampMs < oldest.timestampMs));
    assert.deepEqual(docs(), ['IGDMessageListOffMsysQuery', 'IGDMessageListOffMsysQuery', 'IGDMessageListOffMsysQuery']);
    assert.equal(calls.lightspeed, 0);
    // An unknown reference message is a MetaTaskError, as a refused task is.
    await assert.rejects(client.sendTask(fetchMessagesTask({ threadId: USER.alice, referenceTimestampMs: 1, referenceMessageId: 'mid.$bm90LWEtbWVzc2FnZS8x' })),
      (err: unknown) => err instanceof MetaTaskError && err.failures[0]!.task === 'fetchMessages' && err.failures[0]!.code === 'not_found');
    // An end-to-end encrypted thread lists no messages (its slide thread has none either).
    await env.emulator.setEncrypted(ALICE_DM, true);
    const { tables: sealed } = await client.sendTask(fetchMessagesTask({ threadId: USER.alice, referenceTimestampMs: Date.now() + 60_000, referenceMessageId: 'none' }));
    assert.equal(sealed.LSInsertMessage, undefined);
  });

  it('one captionless attachment goes through IGDirectMediaSendMutation; a captioned one stays on LightSpeed', async () => {
    const { client, events } = await connect();
    const png = generateTestPng(6, 6);
    const up = await client.uploadMedia(png, 'image/png', 'p.png');
    const id = otid();
    const { tables } = await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: id, attachmentFbids: [up.fbid] }));
    assert.deepEqual(docs(), ['IGDirectMediaSendMutation']);
    assert.equal(calls.lightspeed, 0);
    const row = tables.LSInsertMessage![0]!;
    assert.deepEqual([row.threadKey, row.senderId, row.offlineThreadingId], [USER.alice, USER.me, String(id)]);
    const last = (await stored()).at(-1)!;
    assert.deepEqual([last.content.kind, last.client_txn_id], ['image', `otid:${id}`]);
    const echo = await until('echo with the attachment', () => events.find((e) => e.type === 'message' && e.message.messageId === row.messageId && e.attachments.length === 1));
    assert.ok(echo.type === 'message' && Buffer.from((await client.downloadMedia(echo.attachments[0]!.previewUrl!)).bytes).equals(png));
    // A resend with the same otid is the same message.
    const again = await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: id, attachmentFbids: [up.fbid] }));
    assert.equal(again.tables.LSInsertMessage![0]!.messageId, row.messageId);
    calls.lightspeed = 0;
    await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: otid(), attachmentFbids: [up.fbid], text: 'with a caption' }));
    assert.equal(calls.lightspeed, 1, 'a caption has no place in the media send: LightSpeed carries it');
    assert.equal((await stored()).at(-1)!.content.kind, 'image');
  });

  it('creating a group and renaming it go over GraphQL; the new thread comes back as rows', async () => {
    const { client, events } = await connect();
    const { tables } = await client.sendTask(createGroupTask({ participantIds: [USER.alice, USER.bob], offlineThreadKey: makeEpochId(Date.now()), otid: otid() }));
    const thread = tables.LSDeleteThenInsertThread![0]!;
    assert.equal(thread.threadType, 2);
    const members = tables.LSAddParticipantIdToGroupThread!.filter((p) => p.threadKey === thread.threadKey).map((p) => p.contactId).sort();
    assert.deepEqual(members, [USER.me, USER.alice, USER.bob].sort());
    const { tables: renamed } = await client.sendTask(renameThreadTask({ threadId: thread.threadKey, name: 'Climbing' }));
    assert.deepEqual(renamed.LSSyncUpdateThreadName, [{ threadKey: thread.threadKey, threadName: 'Climbing' }]);
    const chatId = `g:${BigInt(thread.threadKey) - 10n ** 15n}`;
    assert.equal((await env.control<{ name: string }>('GET', `/chats/${enc(chatId)}`)).name, 'Climbing');
    await until('the rename arrives as a delta', () => events.find((e) => e.type === 'thread' && e.change === 'name' && e.name === 'Climbing'));
    assert.deepEqual(docs(), ['useCreateOpenGroupThreadOffMsysMutation', 'IGDEditThreadNameDialogOffMsysMutation']);
    assert.equal(calls.lightspeed, 0);
    // A one-to-one thread cannot be renamed: a MetaTaskError, nothing changed.
    await assert.rejects(client.sendTask(renameThreadTask({ threadId: USER.alice, name: 'Nope' })), (err: unknown) => err instanceof MetaTaskError && err.failures[0]!.task === 'renameThread');
  });

  it('FetchThreads is the inbox query, then the pagination query from its cursor, without messages', async () => {
    const { client } = await connect();
    const made: string[] = [];
    for (let i = 1; i <= 22; i++) made.push((await env.control<{ id: string }>('POST', '/groups', { creator: 'alice', name: `Crew ${i}`, members: ['me'] })).id);
    calls.graphql = [];
    const { tables } = await client.sendTask(fetchThreadsTask());
    // (Thread detail queries are the stream's, for the new groups' deltas.)
    assert.deepEqual(calls.graphql.filter((d) => d !== 'IGDThreadDetailQuery'), ['PolarisDirectInboxQuery', 'IGDThreadListOffMsysPaginationQuery']);
    assert.equal(calls.lightspeed, 0);
    const keys = tables.LSDeleteThenInsertThread!.map((t) => t.threadKey);
    assert.equal(new Set(keys).size, 25, 'every thread once: 3 seeded and 22 new');
    for (const id of made) assert.ok(keys.includes((10n ** 15n + BigInt(id.slice(2))).toString()), id);
    assert.ok(tables.LSVerifyContactRowExists!.some((c) => c.contactId === USER.carol));
    assert.equal(tables.LSInsertMessage, undefined, 'a list is not history');
    assert.equal(tables.LSUpsertSyncGroupThreadsRange![0]!.hasMoreBefore, false);
    // A first connect's snapshot pages the same way: every thread arrives.
    calls.graphql = [];
    const second = await connect();
    assert.deepEqual(calls.graphql, ['PolarisDirectInboxQuery', 'IGDThreadListOffMsysPaginationQuery']);
    const upserts = new Set(second.events.flatMap((e) => (e.type === 'thread' && e.change === 'upsert' ? [e.thread.threadKey] : [])));
    assert.equal(upserts.size, 25);
  });

  it('the emulator answers bad variables with a clear GraphQL error and changes nothing', async () => {
    const { client } = await connect();
    await fromAlice(1);
    const raw = async (doc: IGGraphQLDoc, vars: unknown) => {
      const res = await fetch(`${env.emulator.url}/api/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: client.cookies.toCookieHeader() },
        body: graphqlForm(client.pageConfig!, doc, vars).toString(),
      });
      return (await res.json()) as { data?: unknown; errors?: Array<{ code?: string; message: string }> };
    };
    const groupMsg = await env.control<Stored>('POST', `/chats/${enc('g:1')}/messages`, { as: 'bob', text: 'in the group' });
    const before = JSON.stringify(await stored());
    const groupMid = `mid.$${Buffer.from(groupMsg.id).toString('base64url')}`;
    const cases: Array<[IGGraphQLDoc, unknown, string]> = [
      ['useIGDMarkThreadAsReadMutation', { metadata: { ig_thread_igid: USER.alice }, data: { message_id: groupMid, item_id: '' } }, 'not_found'],
      ['IGDMessageListOffMsysQuery', { id: USER.alice, first: 0 }, 'bad_request'],
      ['IGDMessageListOffMsysQuery', { id: USER.alice, first: 5, older_than_message_id: groupMid }, 'not_found'],
      ['IGDirectMediaSendMutation', { thread_id: USER.alice, attachment_fbid: '123456789', offline_threading_id: '42' }, 'not_found'],
      ['IGDEditThreadNameDialogOffMsysMutation', { thread_fbid: '1000000000000001', new_title: 7 }, 'bad_request'],
      ['useCreateOpenGroupThreadOffMsysMutation', { recipient_eimu_fbids: [], offline_threading_id: '42' }, 'bad_request'],
      ['IGDThreadListOffMsysPaginationQuery', { id: USER.alice, cursor: '', count: 5, folder: 'INBOX' }, 'forbidden'],
    ];
    for (const [doc, vars, code] of cases) {
      const got = await raw(doc, vars);
      assert.equal(got.data, undefined, doc);
      assert.equal(got.errors?.[0]?.code, code, `${doc}: ${got.errors?.[0]?.message}`);
    }
    assert.equal(JSON.stringify(await stored()), before, 'nothing changed in the DM');
    assert.equal((await env.control<{ name: string }>('GET', `/chats/${enc('g:1')}`)).name, 'Sandbox friends');
    assert.ok(!(await env.control<Stored[]>('GET', `/chats/${enc('g:1')}/messages`)).at(-1)!.read_by.includes('me'), 'the group message was not marked read');
  });

  it('the emulator refuses those operations as LightSpeed tasks (the old path is closed)', async () => {
    const { client } = await connect();
    await fromAlice(1);
    const original = InstagramPath.prototype.trySend;
    InstagramPath.prototype.trySend = () => Promise.resolve(undefined);
    try {
      const refused = async (task: Parameters<typeof client.sendTask>[0], name: string) => {
        await assert.rejects(client.sendTask(task), (err: unknown) => err instanceof MetaTaskError && err.failures[0]!.task === name && err.failures[0]!.code === 'not-on-lightspeed');
      };
      const up = await client.uploadMedia(generateTestPng(2, 2), 'image/png', 'q.png');
      await refused(markReadTask({ threadId: USER.alice, watermarkTimestampMs: Date.now() }), 'threadMarkRead');
      await refused(fetchMessagesTask({ threadId: USER.alice, referenceTimestampMs: Date.now(), referenceMessageId: 'none' }), 'fetchMessages');
      await refused(sendMessageTask({ threadId: USER.alice, otid: otid(), text: 'plain text' }), 'sendMessage');
      await refused(sendMessageTask({ threadId: USER.alice, otid: otid(), attachmentFbids: [up.fbid] }), 'sendMessage');
      await refused(renameThreadTask({ threadId: '1000000000000001', name: 'x' }), 'renameThread');
      await refused(createGroupTask({ participantIds: [USER.alice], offlineThreadKey: makeEpochId(Date.now()), otid: otid() }), 'createGroup');
      await refused(fetchThreadsTask(), 'fetchThreads');
      const mid = (await stored()).at(-1)!.id;
      await refused(sendReactionTask({ threadId: USER.alice, messageId: `mid.$${Buffer.from(mid).toString('base64url')}`, actorId: USER.me, reaction: '👍', timestampMs: Date.now() }), 'sendReaction');
      const names = (await stored()).map((m) => m.content.text);
      assert.ok(!names.includes('plain text'), 'nothing was sent');
      // What Instagram's documents cannot carry still goes: a captioned attachment.
      await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: otid(), attachmentFbids: [up.fbid], text: 'caption' }));
    } finally {
      InstagramPath.prototype.trySend = original;
    }
  });
});
