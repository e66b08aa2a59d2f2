import assert from 'node:assert/strict';
import {
  addParticipantsTask,
  createGroupTask,
  createThreadTask,
  editMessageTask,
  fetchMessagesTask,
  fetchThreadsTask,
  markReadTask,
  removeParticipantTask,
  renameThreadTask,
  sendMessageTask,
  sendReactionTask,
  setThreadImageTask,
  typingTask,
  unsendMessageTask,
  type LSTask,
} from '../../bridges/meta/src/lightspeed/tasks.js';
import { buildStatelessTaskRequest, buildSyncRequest, buildTaskRequest, encodeLSRequest } from '../../bridges/meta/src/lightspeed/requests.js';
import { EpochIdGenerator, LSRequestError, RequestIdCounter, deriveOtid, makeEpochId, stringifyLS } from '../../bridges/meta/src/lightspeed/ids.js';

const THREAD = '9007199254740993'; // 2^53 + 1: must survive exactly
const USER = '100012345678901';
const wire = (t: LSTask) => ({ label: t.label, queue: t.queueName, payload: stringifyLS(t.payload) });

function requestError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof LSRequestError && err.code === 'invalid-input' && re.test(err.message));
}

describe('meta LightSpeed requests', () => {
  describe('task builders (exact JSON)', () => {
    it('SendMessage 46: text with a reply and mentions sorted by offset, queued on the thread', () => {
      const t = sendMessageTask({
        threadId: THREAD,
        otid: 7_000_000_000_000_000_001n,
        text: 'hi @b @a',
        replyToMessageId: 'mid.$abc',
        mentions: [{ userId: '2', offset: 6, length: 2 }, { userId: 1n, offset: 3, length: 2, type: 's' }],
      });
      assert.deepEqual(wire(t), {
        label: '46',
        queue: THREAD,
        payload:
          `{"thread_id":${THREAD},"otid":"7000000000000000001","source":65537,"send_type":1,"sync_group":1,` +
          `"reply_metadata":{"reply_source_id":"mid.$abc","reply_source_type":1,"reply_type":0},` +
          `"mention_data":{"mention_ids":"1,2","mention_offsets":"3,6","mention_lengths":"2,2","mention_types":"s,p"},` +
          `"text":"hi @b @a","initiating_source":1,"skip_url_preview_gen":0,"text_has_links":0,"multitab_env":0}`,
      });
    });

    it('SendMessage: media and sticker sends pick their send_type', () => {
      const media = sendMessageTask({ threadId: 5, otid: 6, attachmentFbids: ['123', '456'] });
      assert.equal(stringifyLS(media.payload), '{"thread_id":5,"otid":"6","source":65537,"send_type":3,"attachment_fbids":[123,456],"sync_group":1,"initiating_source":1,"skip_url_preview_gen":0,"text_has_links":0,"multitab_env":0}');
      const sticker = sendMessageTask({ threadId: 5, otid: 6, stickerId: '369239263222822' });
      assert.equal(sticker.payload.send_type, 2);
      assert.match(stringifyLS(sticker.payload), /"sticker_id":369239263222822/);
    });

    it('SendReaction 29: queue ["reaction", message id]; an empty reaction removes', () => {
      const t = sendReactionTask({ threadId: THREAD, messageId: 'mid.$x', actorId: USER, reaction: '', timestampMs: 1_700_000_000_000 });
      assert.deepEqual(wire(t), {
        label: '29',
        queue: '["reaction","mid.$x"]',
        payload: `{"thread_key":${THREAD},"timestamp_ms":1700000000000,"message_id":"mid.$x","actor_id":${USER},"reaction":"","reaction_style":null,"sync_group":1,"send_attribution":65537}`,
      });
    });

    it('unsend 33 on queue unsend_message, EditMessage 742 on edit_message', () => {
      assert.deepEqual(wire(unsendMessageTask({ messageId: 'mid.$x' })), { label: '33', queue: 'unsend_message', payload: '{"message_id":"mid.$x"}' });
      assert.deepEqual(wire(editMessageTask({ messageId: 'mid.$x', text: 'fixed' })), { label: '742', queue: 'edit_message', payload: '{"message_id":"mid.$x","text":"fixed"}' });
    });

    it('ThreadMarkRead 21 and typing (label 3, stateless)', () => {
      assert.deepEqual(wire(markReadTask({ threadId: THREAD, watermarkTimestampMs: 1_700_000_000_123 })), {
        label: '21',
        queue: THREAD,
        payload: `{"thread_id":${THREAD},"last_read_watermark_ts":1700000000123,"sync_group":1}`,
      });
      assert.deepEqual(wire(typingTask({ threadId: THREAD, isGroup: true, isTyping: true, threadType: 2 })), {
        label: '3',
        queue: '',
        payload: `{"thread_key":${THREAD},"is_group_thread":1,"is_typing":1,"attribution":0,"sync_group":1,"thread_type":2}`,
      });
    });

    it('FetchThreads 145 (defaults: inbox root, newest first) and FetchMessages 228', () => {
      assert.deepEqual(wire(fetchThreadsTask()), {
        label: '145',
        queue: 'trq',
        payload: '{"is_after":0,"parent_thread_key":-1,"reference_thread_key":0,"reference_activity_timestamp":9999999999999,"additional_pages_to_fetch":0,"cursor":null,"messaging_tag":null,"sync_group":1}',
      });
      assert.deepEqual(wire(fetchThreadsTask({ syncGroup: 95, cursor: 'c1' })).payload.endsWith('"cursor":"c1","messaging_tag":null,"sync_group":95}'), true);
      assert.deepEqual(wire(fetchMessagesTask({ threadId: THREAD, referenceTimestampMs: 1_700_000_000_000, referenceMessageId: 'mid.$old' })), {
        label: '228',
        queue: `mrq.${THREAD}`,
        payload: `{"thread_key":${THREAD},"direction":0,"reference_timestamp_ms":1700000000000,"reference_message_id":"mid.$old","sync_group":1,"cursor":null}`,
      });
    });

    it('CreateThread 209 and CreateGroup 130', () => {
      assert.deepEqual(wire(createThreadTask({ userId: USER })), {
        label: '209',
        queue: USER,
        payload: `{"thread_fbid":${USER},"force_upsert":0,"use_open_messenger_transport":0,"sync_group":1,"metadata_only":0,"preview_only":0}`,
      });
      assert.deepEqual(wire(createGroupTask({ participantIds: [USER, '4'], offlineThreadKey: '7123', otid: '7124' })), {
        label: '130',
        queue: '7123',
        payload: `{"participants":[${USER},4],"send_payload":{"thread_id":7123,"otid":"7124","source":0,"send_type":8}}`,
      });
    });

    it('AddParticipants 23, RemoveParticipant 140, RenameThread 32, SetThreadImage 37', () => {
      assert.deepEqual(wire(addParticipantsTask({ threadId: THREAD, userIds: [USER] })), { label: '23', queue: THREAD, payload: `{"thread_key":${THREAD},"contact_ids":[${USER}],"sync_group":1}` });
      assert.deepEqual(wire(removeParticipantTask({ threadId: THREAD, userId: USER })), { label: '140', queue: 'remove_participant_v2', payload: `{"thread_id":${THREAD},"contact_id":${USER}}` });
      assert.deepEqual(wire(renameThreadTask({ threadId: THREAD, name: 'Team "A"' })), { label: '32', queue: THREAD, payload: `{"thread_key":${THREAD},"thread_name":"Team \\"A\\"","sync_group":1}` });
      assert.deepEqual(wire(setThreadImageTask({ threadId: THREAD, imageId: '555' })), { label: '37', queue: 'thread_image', payload: `{"thread_key":${THREAD},"image_id":555,"sync_group":1}` });
    });

    it('refuses bad input with the field named and no value echoed', () => {
      requestError(() => sendMessageTask({ threadId: 'abc', otid: 1, text: 'x' }), /^SendMessage: threadId must be a decimal integer/);
      requestError(() => sendMessageTask({ threadId: '99999999999999999999', otid: 1, text: 'x' }), /threadId/);
      requestError(() => sendMessageTask({ threadId: 1, otid: 1 }), /text, attachmentFbids or stickerId/);
      requestError(() => sendMessageTask({ threadId: 1, otid: 1, text: 'x', mentions: [{ userId: 1, offset: -1, length: 1 }] }), /mentions\.0\.offset/);
      requestError(() => editMessageTask({ messageId: 'm', text: '' }), /^EditMessage: text/);
      requestError(() => createGroupTask({ participantIds: [], offlineThreadKey: 1, otid: 1 }), /participantIds/);
      requestError(() => sendReactionTask({ threadId: 1, messageId: '', actorId: 1, reaction: 'x', timestampMs: 1 }), /messageId/);
    });
  });

  describe('envelopes', () => {
    const env = { appId: '2220391788200892', requestId: 7 };

    it('type 3 wraps tasks with epoch, ids and the version', () => {
      const req = buildTaskRequest({ ...env, epochId: makeEpochId(1_700_000_000_000, 1), versionId: '9876543210123456789', firstTaskId: 40, tasks: [unsendMessageTask({ messageId: 'm1' }), editMessageTask({ messageId: 'm2', text: 't' })] });
      assert.deepEqual(Object.keys(req), ['app_id', 'payload', 'request_id', 'type']);
      assert.equal(req.type, 3);
      assert.equal(req.payload,
        `{"epoch_id":${(1_700_000_000_000n << 22n) | (1n << 12n) | 42n},"tasks":[` +
        `{"failure_count":null,"label":"33","payload":"{\\"message_id\\":\\"m1\\"}","queue_name":"unsend_message","task_id":40},` +
        `{"failure_count":null,"label":"742","payload":"{\\"message_id\\":\\"m2\\",\\"text\\":\\"t\\"}","queue_name":"edit_message","task_id":41}` +
        `],"version_id":"9876543210123456789"}`);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(encodeLSRequest(req))), req);
    });

    it('typing goes out as a stateless type 4 request; queued tasks cannot', () => {
      const req = buildStatelessTaskRequest({ ...env, versionId: '1', task: typingTask({ threadId: 1, isGroup: false, isTyping: false, threadType: 1 }) });
      assert.equal(req.type, 4);
      assert.equal(req.payload, '{"label":"3","payload":"{\\"thread_key\\":1,\\"is_group_thread\\":0,\\"is_typing\\":0,\\"attribution\\":0,\\"sync_group\\":1,\\"thread_type\\":1}","version":"1"}');
      requestError(() => buildTaskRequest({ ...env, epochId: 1n, versionId: '1', firstTaskId: 0, tasks: [typingTask({ threadId: 1, isGroup: false, isTyping: true, threadType: 1 })] }), /stateless/);
      requestError(() => buildStatelessTaskRequest({ ...env, versionId: '1', task: unsendMessageTask({ messageId: 'm' }) }), /queued/);
    });

    it('database sync: type 2 resumes from the cursor, type 1 sends sync params', () => {
      const resume = buildSyncRequest({ ...env, database: 95, cursor: 'CURSOR', epochId: 42n, versionId: '7876543210123456789' });
      assert.equal(resume.type, 2);
      assert.equal(resume.payload, '{"database":95,"last_applied_cursor":"CURSOR","sync_params":null,"epoch_id":42,"version":7876543210123456789,"failure_count":null}');
      const fresh = buildSyncRequest({ ...env, database: 1, cursor: null, syncParams: '{"locale":"en_US"}', epochId: 42n, versionId: '5' });
      assert.equal(fresh.type, 1);
      assert.equal(fresh.payload, '{"database":1,"last_applied_cursor":null,"sync_params":"{\\"locale\\":\\"en_US\\"}","epoch_id":42,"version":5,"failure_count":null}');
    });

    it('validates the envelope fields', () => {
      requestError(() => buildSyncRequest({ ...env, requestId: 0, database: 1, cursor: null, epochId: 1n, versionId: '1' }), /requestId/);
      requestError(() => buildSyncRequest({ ...env, appId: 'x', database: 1, cursor: null, epochId: 1n, versionId: '1' }), /appId/);
      requestError(() => buildSyncRequest({ ...env, database: 1, cursor: null, syncParams: '{', epochId: 1n, versionId: '1' }), /syncParams/);
      requestError(() => buildTaskRequest({ ...env, epochId: 1n, versionId: '1', firstTaskId: 0, tasks: [] }), /at least one/);
      requestError(() => buildTaskRequest({ ...env, epochId: 1n, versionId: 'v1', firstTaskId: 0, tasks: [unsendMessageTask({ messageId: 'm' })] }), /versionId/);
    });
  });

  describe('ids', () => {
    it('otids are deterministic per caller id and timestamp, with the time in the high bits', () => {
      const a = deriveOtid('$event1:example.org', 1_700_000_000_000);
      assert.equal(a, deriveOtid('$event1:example.org', 1_700_000_000_000));
      assert.notEqual(a, deriveOtid('$event2:example.org', 1_700_000_000_000));
      assert.equal(a >> 22n, 1_700_000_000_000n);
      assert.throws(() => deriveOtid('', 1), LSRequestError);
    });

    it('epoch ids follow the (ms << 22 | counter << 12 | 42) shape and never repeat within a millisecond', () => {
      let now = 1_700_000_000_000;
      const gen = new EpochIdGenerator(() => now);
      const first = gen.next();
      const second = gen.next();
      now++;
      const third = gen.next();
      assert.deepEqual([first & 0xfffn, first >> 22n, (second >> 12n) & 0x3ffn, (third >> 12n) & 0x3ffn], [42n, 1_700_000_000_000n, 1n, 0n]);
    });

    it('request ids are uint16, wrap and skip 0', () => {
      const c = new RequestIdCounter();
      const ids = Array.from({ length: 65_536 }, () => c.next());
      assert.deepEqual([ids[0], ids[65_534], ids[65_535]], [1, 65_535, 1]);
    });

    it('stringifyLS keeps int64 exact and leaves look-alike strings alone', () => {
      assert.equal(stringifyLS({ a: 2n ** 63n - 1n, s: '\u0000i64:0\u0000', u: undefined, l: [undefined, -1n] }), '{"a":9223372036854775807,"s":"\\u0000i64:0\\u0000","l":[null,-1]}');
      assert.throws(() => stringifyLS({ d: new Date(0) }), LSRequestError);
      assert.throws(() => stringifyLS({ n: NaN }), LSRequestError);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      assert.throws(() => stringifyLS(cyclic), LSRequestError);
    });
  });
});
