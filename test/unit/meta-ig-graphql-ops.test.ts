/**
 * The request and answer shapes of the GraphQL documents that replaced Instagram's remaining
 * LightSpeed tasks (keys as instameow sends and reads them), which sends the client routes to
 * them, and which LightSpeed tasks the emulator's Instagram flavour refuses.
 */
import assert from 'node:assert/strict';
import { IG_GRAPHQL_DOCS, IG_GRAPHQL_FIELD } from '../../bridges/meta/src/instagram/graphql.js';
import {
  createGroupVariables, markReadValidationVariables, markReadVariables, mediaSendVariables, messageListVariables, parseCreatedGroup,
  acceptRequestVariables, hideThreadVariables, parseMessagePage, parseReadReceipt, parseThreadPage, renameVariables, threadListVariables,
} from '../../bridges/meta/src/instagram/graphql-threads.js';
import { mediaSendOf } from '../../bridges/meta/src/instagram/ig-threads.js';
import { folderNameOf, parseSlideThread, tablesFromDeltas, tablesFromMessages, tablesFromThreads } from '../../bridges/meta/src/instagram/slide-tables.js';
import { parseSlideDelta } from '../../bridges/meta/src/instagram/slide.js';
import { InstagramError } from '../../bridges/meta/src/instagram/errors.js';
import { sendMessageTask } from '../../bridges/meta/src/lightspeed/tasks.js';
import { instagramRefusal } from '../../bridges/meta/src/emulator/instagram-moved.js';

const message = (id: string, ts: number, text: string) => ({
  __typename: 'SlideMessage', id, message_id: id, thread_fbid: '17', sender_fbid: '5', timestamp_ms: String(ts),
  content_type: 'SlideMessageText', content: { __typename: 'SlideMessageText', text_body: text }, text_body: text, mentions: [], reactions: [],
});

describe('Instagram GraphQL documents for read, history, media, rename and groups', () => {
  it('doc ids and answer fields are the facts; the rename has no known field', () => {
    assert.equal(IG_GRAPHQL_DOCS.useIGDMarkThreadAsReadMutation, '27356881703909995');
    assert.equal(IG_GRAPHQL_DOCS.useIGDMarkThreadAsReadValidationMutation, '35211594988486314');
    assert.equal(IG_GRAPHQL_DOCS.IGDMessageListOffMsysQuery, '27502152406082940');
    assert.equal(IG_GRAPHQL_DOCS.IGDirectMediaSendMutation, '25766288509716264');
    assert.equal(IG_GRAPHQL_DOCS.IGDEditThreadNameDialogOffMsysMutation, '26508340268868683');
    assert.equal(IG_GRAPHQL_DOCS.useCreateOpenGroupThreadOffMsysMutation, '27529949946640544');
    assert.equal(IG_GRAPHQL_DOCS.IGDThreadListOffMsysPaginationQuery, '27712934271665380');
    assert.equal(IG_GRAPHQL_FIELD.IGDThreadListOffMsysPaginationQuery, 'fetch__SlideMailbox');
    assert.equal(IG_GRAPHQL_FIELD.useIGDMarkThreadAsReadMutation, 'xig_direct_item_seen_mutation_with_slide_messaging_response');
    assert.equal(IG_GRAPHQL_FIELD.IGDMessageListOffMsysQuery, 'fetch__SlideThread');
    assert.equal(IG_GRAPHQL_FIELD.IGDirectMediaSendMutation, 'xig_direct_media_send_with_slide_messaging_response');
    assert.equal(IG_GRAPHQL_FIELD.useCreateOpenGroupThreadOffMsysMutation, 'xig_ig_direct_create_thread');
    assert.equal(IG_GRAPHQL_FIELD.IGDEditThreadNameDialogOffMsysMutation, null);
  });

  it('variables carry the keys instameow sends', () => {
    assert.deepEqual(markReadVariables({ threadId: '17', messageId: 'mid.$a' }), { metadata: { ig_thread_igid: '17' }, data: { message_id: 'mid.$a', item_id: '' } });
    assert.deepEqual(markReadValidationVariables({ threadId: '17', messageId: 'mid.$a', timestampMs: 1700000000123 }),
      { metadata: { ig_thread_igid: '17' }, data: { message_id: 'mid.$a', message_timestamp_ms: '1700000000123' } });
    assert.deepEqual(messageListVariables({ threadId: '17', olderThanMessageId: 'mid.$b' }), {
      after: null, before: null, first: 20, last: null, newer_than_message_id: null, older_than_message_id: 'mid.$b', id: '17',
      __relay_internal__pv__IGDInitialMessagePageCountrelayprovider: 20,
    });
    assert.equal(messageListVariables({ threadId: '17', after: 'cur' }).after, 'cur');
    assert.deepEqual(mediaSendVariables({ threadId: '17', attachmentFbid: '99', otid: '123' }), {
      attachment_fbid: '99', thread_id: '17', offline_threading_id: '123', reply_to_message_id: null, forwarded_from_thread_id: null, is_forwarded_from_own_message: null,
    });
    assert.equal(mediaSendVariables({ threadId: '17', attachmentFbid: '99', otid: '123', replyToMessageId: 'mid.$r' }).reply_to_message_id, 'mid.$r');
    assert.deepEqual(renameVariables({ threadId: '17', name: 'Crew' }), { thread_fbid: '17', new_title: 'Crew' });
    assert.deepEqual(threadListVariables({ viewerId: '5', cursor: 'c1', count: 20 }), {
      count: 20, cursor: 'c1', folder: 'INBOX', newer_than_timestamp_ms: null, id: '5',
      __relay_internal__pv__IGDPinnedThreadsRenderEnabledGKrelayprovider: true, __relay_internal__pv__IGDMaxUnreadMessagesCountrelayprovider: 5,
      __relay_internal__pv__PolarisAIGMAccountLabelEnabledrelayprovider: false, __relay_internal__pv__IGDThreadListActionsEnabledGKrelayprovider: true,
    });
    assert.deepEqual(createGroupVariables({ userIds: ['5', '6'], otid: '123' }), { recipient_eimu_fbids: ['5', '6'], offline_threading_id: '123', entry_point: null });
  });

  it('a message page is read newest first with its cursor; its rows carry messages and nothing else', () => {
    const page = parseMessagePage({
      id: '17', as_ig_direct_thread: { id: '17', slide_messages: { edges: [{ node: message('mid.$2', 2000, 'two') }, { node: message('mid.$1', 1000, 'one') }], page_info: { end_cursor: 'mid.$1', has_next_page: true } } },
    });
    assert.deepEqual(page.messages.map((m) => [m.messageId, m.timestampMs, m.text]), [['mid.$2', 2000, 'two'], ['mid.$1', 1000, 'one']]);
    assert.deepEqual([page.endCursor, page.hasNextPage], ['mid.$1', true]);
    const tables = tablesFromMessages(page.messages);
    assert.deepEqual(Object.keys(tables), ['LSInsertMessage']);
    assert.deepEqual(tables.LSInsertMessage!.map((r) => [r.threadKey, r.senderId, r.text]), [['17', '5', 'two'], ['17', '5', 'one']]);
    const last = parseMessagePage({ as_ig_direct_thread: { slide_messages: { edges: [] } } });
    assert.deepEqual(last, { messages: [], hasNextPage: false });
  });

  it('a thread page is read with its cursor', () => {
    const thread = { thread_fbid: '17', is_group: true, thread_title: 'Crew', users: [{ id: '6', interop_messaging_user_fbid: '6', full_name: 'Six' }] };
    const page = parseThreadPage({ threads_by_folder: { edges: [{ node: { id: '17', as_ig_direct_thread: thread }, cursor: '17' }], page_info: { end_cursor: '17', has_next_page: true } } });
    assert.deepEqual([page.threads.map((t) => [t.threadId, t.title, t.isGroup]), page.endCursor, page.hasNextPage], [[['17', 'Crew', true]], '17', true]);
    assert.throws(() => parseThreadPage({ threads_by_folder: { edges: [{ node: {} }] } }), InstagramError);
    assert.throws(() => parseThreadPage({}), InstagramError);
  });

  it('message requests: accept and hide variables, the PENDING folder, and the folder delta', () => {
    assert.equal(IG_GRAPHQL_DOCS.useIGDirectAcceptMessageRequestMutation, '36571001125823973');
    assert.equal(IG_GRAPHQL_DOCS.IGDInboxInfoDeleteThreadDialogOffMsysMutation, '35352443081068612');
    assert.equal(IG_GRAPHQL_FIELD.useIGDirectAcceptMessageRequestMutation, 'ig_direct_accept_message_request');
    assert.equal(IG_GRAPHQL_FIELD.IGDInboxInfoDeleteThreadDialogOffMsysMutation, 'ig_direct_hide_thread');
    assert.deepEqual(acceptRequestVariables({ threadId: '17', otid: '9' }), { thread_fbid: '17', ig_inbox_folder: null, offline_threading_id: '9' });
    assert.deepEqual(hideThreadVariables({ threadId: '17' }), { thread_fbid: '17', should_move_future_requests_to_spam: false });
    assert.deepEqual(['PENDING', 'SPAM', 'INBOX', undefined].map(folderNameOf), ['pending', 'spam', 'inbox', 'inbox']);
    const pending = parseSlideThread({ thread_fbid: '17', system_folder: 'PENDING', users: [] });
    assert.equal(tablesFromThreads([pending], '1').LSDeleteThenInsertThread![0]!.folderName, 'pending');
    assert.equal(tablesFromThreads([parseSlideThread({ thread_fbid: '17', users: [] })], '1').LSDeleteThenInsertThread![0]!.folderName, 'inbox');
    const delta = parseSlideDelta({ __typename: 'SlideUQPPUpdateThreadFolder', uq_seq_id: '5', thread_fbid: '17', folder: 'PENDING' });
    assert.deepEqual([delta.kind, delta.threadId, delta.kind === 'folder' && delta.folder], ['folder', '17', 'PENDING']);
    assert.deepEqual(tablesFromDeltas([delta], '1', 0), {}, 'the thread fetch says the folder, not the delta');
    assert.throws(() => parseSlideDelta({ __typename: 'SlideUQPPUpdateThreadFolder', uq_seq_id: '5', thread_fbid: '17' }), InstagramError);
  });

  it('bad answers are InstagramErrors, not guesses', () => {
    assert.throws(() => parseMessagePage({ as_ig_direct_thread: {} }), (e: unknown) => e instanceof InstagramError && e.code === 'graphql');
    assert.throws(() => parseMessagePage(null), InstagramError);
    assert.throws(() => parseMessagePage({ as_ig_direct_thread: { slide_messages: { edges: [{ node: { id: 'x' } }] } } }), InstagramError);
    assert.equal(parseCreatedGroup({ id: '1000000000000002', as_ig_direct_thread: {} }), '1000000000000002');
    for (const bad of [{}, { id: 12 }, { id: 'g:1' }, null]) assert.throws(() => parseCreatedGroup(bad), InstagramError);
    assert.deepEqual(parseReadReceipt({ participant_fbid: '5', watermark_timestamp_ms: '1000' }), { participantId: '5', watermarkMs: 1000 });
    assert.equal(parseReadReceipt({ participant_fbid: '5' }), undefined);
    assert.equal(parseReadReceipt(true), undefined);
  });

  it('only a single captionless attachment is a GraphQL media send', () => {
    const base = { threadId: '17', otid: '123' };
    assert.deepEqual(mediaSendOf(sendMessageTask({ ...base, attachmentFbids: ['99'], replyToMessageId: 'mid.$r' })),
      { threadId: '17', otid: '123', attachmentFbid: '99', replyToMessageId: 'mid.$r' });
    assert.equal(mediaSendOf(sendMessageTask({ ...base, attachmentFbids: ['99'], text: 'caption' })), undefined);
    assert.equal(mediaSendOf(sendMessageTask({ ...base, attachmentFbids: ['99', '98'] })), undefined);
    assert.equal(mediaSendOf(sendMessageTask({ ...base, stickerId: '5' })), undefined);
    assert.equal(mediaSendOf(sendMessageTask({ ...base, text: 'hi' })), undefined);
  });

  it('the emulator refuses moved tasks on LightSpeed and takes the rest', () => {
    const payload = (input: Parameters<typeof sendMessageTask>[0]) => sendMessageTask(input).payload;
    const base = { threadId: '17', otid: '123' };
    assert.match(instagramRefusal('sendMessage', payload({ ...base, text: 'hi' })) ?? '', /IGDirectTextSendMutation/);
    assert.match(instagramRefusal('sendMessage', payload({ ...base, attachmentFbids: ['99'] })) ?? '', /IGDirectMediaSendMutation/);
    assert.equal(instagramRefusal('sendMessage', payload({ ...base, attachmentFbids: ['99'], text: 'caption' })), undefined);
    assert.equal(instagramRefusal('sendMessage', payload({ ...base, stickerId: '5' })), undefined);
    for (const name of ['threadMarkRead', 'fetchMessages', 'fetchThreads', 'renameThread', 'createGroup', 'sendReaction', 'updatePresence', 'acceptMessageRequest', 'deleteThread']) assert.ok(instagramRefusal(name, {}), name);
    for (const name of ['editMessage', 'deleteMessage', 'addParticipants', 'removeParticipant', 'setThreadImage', 'createThread']) assert.equal(instagramRefusal(name, {}), undefined, name);
  });
});
