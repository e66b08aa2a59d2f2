/**
 * Slide deltas (Instagram's database 223 payloads) into the client's typed events: every delta
 * kind Tributary maps, through the same LightSpeed rows and eventsFromTables the connector reads;
 * threads of the inbox snapshot; and bad input refused with a clear bad-slide error.
 */
import assert from 'node:assert/strict';
import { eventsFromTables, type MetaEvent } from '../../bridges/meta/src/client/events.js';
import { parseSlideDelta, parseSlideDeltaBatch, type SlideDelta } from '../../bridges/meta/src/instagram/slide.js';
import { parseSlideThread, tablesFromDeltas, tablesFromThreads } from '../../bridges/meta/src/instagram/slide-tables.js';
import { igErrorCode } from '../helpers/instagram-errors.js';

const ME = '15550000000';
const ALICE = '15550000001';
const T = '1000000000000001';
const NOW = 1_700_000_000_000;
const base = (typeName: string, extra: Record<string, unknown> = {}) => ({ __typename: typeName, uq_seq_id: '41', thread_fbid: T, ...extra });
const message = (extra: Record<string, unknown> = {}) => ({
  message_id: 'mid.$abc', sender_fbid: ALICE, thread_fbid: T, timestamp_ms: String(NOW), text_body: 'hello',
  content: { __typename: 'SlideMessageText', text_body: 'hello' }, offline_threading_id: '7000000000000000001', ...extra,
});
const events = (...deltas: unknown[]): MetaEvent[] => eventsFromTables(tablesFromDeltas(deltas.map(parseSlideDelta), ME, NOW));
const code = igErrorCode;

describe('Instagram slide deltas -> MetaEvents', () => {
  it('a new message, with its otid, mentions and reply', () => {
    const [e] = events(base('SlideUQPPNewMessage', {
      message: message({ mentions: [{ offset: 0, length: 5, profile_range_type: 'PROFILE', user_fbid: ME }], replied_to_message_id: 'mid.$older' }),
    }));
    assert.deepEqual(e, {
      type: 'message', attachments: [],
      message: {
        threadKey: T, timestampMs: NOW, messageId: 'mid.$abc', senderId: ALICE, text: 'hello', offlineThreadingId: '7000000000000000001',
        replySourceId: 'mid.$older', replySourceType: 1, editCount: 0, mentionIds: ME, mentionOffsets: '0', mentionLengths: '5', mentionTypes: 'p',
      },
    });
  });

  it('media messages become attachments (image, video, voice), raven and multi-media too', () => {
    const img = events(base('SlideUQPPNewMessage', { message: message({ text_body: 'look', content: {
      __typename: 'SlideMessageImageContent', attachments: [{ attachment_fbid: '9', attachment_cdn_url: 'https://cdn/i.jpg', preview_width: 12, preview_height: 9 }],
    } }) }))[0]!;
    assert.equal(img.type, 'message');
    if (img.type !== 'message') return;
    assert.equal(img.message.text, 'look');
    assert.deepEqual(img.attachments, [{
      threadKey: T, messageId: 'mid.$abc', timestampMs: NOW, attachmentIndex: 0, attachmentType: 2, hasMedia: true,
      playableUrl: 'https://cdn/i.jpg', attachmentFbid: '9', previewUrl: 'https://cdn/i.jpg', previewWidth: 12, previewHeight: 9,
    }]);
    const kinds = (content: Record<string, unknown>) => {
      const e = events(base('SlideUQPPNewMessage', { message: message({ text_body: undefined, content }) }))[0]!;
      return e.type === 'message' ? e.attachments.map((a) => [a.attachmentType, a.playableUrl]) : [];
    };
    assert.deepEqual(kinds({ __typename: 'SlideMessageVideosContent', videos: [{ attachment_cdn_url: 'v' }] }), [[4, 'v']]);
    assert.deepEqual(kinds({ __typename: 'SlideMessageAudiosContent', audio_attachments: [{ attachment_cdn_url: 'a', playable_duration_ms: 900 }] }), [[5, 'a']]);
    assert.deepEqual(kinds({ __typename: 'SlideMessageRavenImageContent', attachment: { attachment_cdn_url: 'r' } }), [[2, 'r']]);
    assert.deepEqual(kinds({ __typename: 'SlideMessageMultiMediaContent', ordered_photo_video_attachments: [
      { __typename: 'SlideMessagingImageAttachment', attachment_cdn_url: 'p' }, { __typename: 'SlideMessagingVideoAttachment', attachment_cdn_url: 'q' },
    ] }), [[2, 'p'], [4, 'q']]);
    assert.deepEqual(kinds({ __typename: 'SlideMessageStoreStickerContent', preview_url: 's' }), [[1, 's']]);
  });

  it('a GIF plays from its mp4, an XMA share is a card with its link, stickers keep their id, files (ours) their name', () => {
    const one = (content: Record<string, unknown>) => {
      const e = events(base('SlideUQPPNewMessage', { message: message({ text_body: undefined, content }) }))[0]!;
      assert.equal(e.type, 'message');
      return e as Extract<MetaEvent, { type: 'message' }>;
    };
    const gif = one({ __typename: 'SlideMessageAnimatedMediaContent', animated_media: [{ attachment_mp4_url: 'g.mp4', attachment_webp_url: 'g.webp', preview_width: 120, is_sticker: false }] });
    assert.deepEqual(gif.attachments[0], {
      threadKey: T, messageId: 'mid.$abc', timestampMs: NOW, attachmentIndex: 0, attachmentType: 3, hasMedia: true, playableUrl: 'g.mp4', previewWidth: 120,
      attachmentMimeType: 'video/mp4', playableUrlMimeType: 'video/mp4',
    });
    const xma = one({ __typename: 'SlideMessageXMAContent', xma: { target_url: 'https://www.instagram.com/p/C1/', title_text: 'A post', subtitle_text: 'by alice', preview_image: { url: 'p.jpg' } } });
    assert.deepEqual(xma.attachments[0], {
      threadKey: T, messageId: 'mid.$abc', timestampMs: NOW, attachmentIndex: 0, attachmentType: 7, hasXma: true,
      actionUrl: 'https://www.instagram.com/p/C1/', titleText: 'A post', subtitleText: 'by alice', previewUrl: 'p.jpg',
    });
    assert.equal(xma.message.text, undefined);
    const sticker = one({ __typename: 'SlideMessageStoreStickerContent', preview_url: 's.png', tributary_sticker_id: '1234567890' });
    assert.equal(sticker.message.stickerId, '1234567890');
    assert.deepEqual([sticker.attachments[0]!.attachmentType, sticker.attachments[0]!.previewUrl], [1, 's.png']);
    const file = one({ __typename: 'TributaryFileContent', attachments: [{ attachment_cdn_url: 'f', filename: 'report.pdf', mimetype: 'application/pdf' }] });
    assert.deepEqual([file.attachments[0]!.attachmentType, file.attachments[0]!.filename, file.attachments[0]!.attachmentMimeType], [6, 'report.pdf', 'application/pdf']);
    // An XMA without a link, and content kinds we do not know, add no attachment.
    assert.deepEqual(one({ __typename: 'SlideMessageXMAContent', xma: { title_text: 'x' } }).attachments, []);
    assert.deepEqual(one({ __typename: 'SlideMessageSomethingNew', text_body: 'still text' }).attachments, []);
  });

  it('an admin text message is an admin message with the fragments as text', () => {
    const [e] = events(base('SlideUQPPAdminTextMessage', { message: message({ text_body: undefined, content: { __typename: 'SlideMessageAdminText', text_fragments: [{ plaintext: 'Alice ' }, { plaintext: 'named the group' }] } }) }));
    assert.ok(e?.type === 'message' && e.message.isAdminMessage === true && e.message.text === 'Alice named the group');
  });

  it('edit, unsend, reaction, reaction removed', () => {
    assert.deepEqual(events(
      base('SlideUQPPEditMessage', { message_id: 'mid.$abc', text_body: 'fixed', slide_edit_history_entry: { timestamp_ms: String(NOW) } }),
      base('SlideUQPPCreateReaction', { message_id: 'mid.$abc', reaction: { reaction: '❤', sender_fbid: ALICE, reaction_timestamp_ms: String(NOW) } }),
      base('SlideUQPPDeleteReaction', { message_id: 'mid.$abc', reaction: { reaction: '❤', sender_fbid: ME } }),
      base('SlideUQPPDeleteMessage', { message_id: 'mid.$abc' }),
    ), [
      { type: 'edit', edit: { messageId: 'mid.$abc', text: 'fixed' } },
      { type: 'reaction', reaction: { threadKey: T, messageId: 'mid.$abc', actorId: ALICE, reaction: '❤', timestampMs: NOW } },
      { type: 'reaction-removed', threadKey: T, messageId: 'mid.$abc', actorId: ME },
      { type: 'unsend', threadKey: T, messageId: 'mid.$abc' },
    ]);
  });

  it('read receipts of others and our own mark-read', () => {
    assert.deepEqual(events(
      base('SlideUQPPReadReceipt', { read_receipt: { participant_fbid: ALICE, watermark_timestamp_ms: String(NOW - 5) } }),
      base('SlideUQPPMarkRead', { read_timestamp_ms: String(NOW - 9) }),
    ), [
      { type: 'read', receipt: { threadKey: T, contactId: ALICE, readWatermarkTimestampMs: NOW - 5, readActionTimestampMs: NOW } },
      { type: 'read', receipt: { threadKey: T, contactId: ME, readWatermarkTimestampMs: NOW - 9, readActionTimestampMs: NOW } },
    ]);
  });

  it('thread name and image, members leaving and added, admins, and the (ours) cutover', () => {
    const out = events(
      base('SlideUQPPThreadName', { thread_name: 'Friends', message: null }),
      base('SlideUQPPThreadImage', { thread_image: { uri: 'https://cdn/g.jpg' } }),
      base('SlideUQPPParticipantLeftGroupThread', { left_participant_fbid: ALICE, actor_fbid: ME }),
      base('SlideUQPPParticipantsAddedToGroupThread', { thread: { as_ig_direct_thread: { thread_title: 'Friends', users: [{ interop_messaging_user_fbid: ALICE, full_name: 'Alice Liddell', username: 'alice' }] } } }),
      base('SlideUQPPGenericMapAdminsKeyMutation', { admin_igids: [ME] }),
      base('TributaryE2EECutover'),
    );
    assert.deepEqual(out, [
      { type: 'contact', contact: { contactId: ALICE, name: 'Alice Liddell', firstName: 'Alice', secondaryName: 'alice', contactType: 1, isSelf: false } },
      { type: 'thread', change: 'encrypted', threadKey: T },
      { type: 'thread', change: 'name', threadKey: T, name: 'Friends' },
      { type: 'thread', change: 'image', threadKey: T, imageUrl: 'https://cdn/g.jpg' },
      { type: 'thread', change: 'participant-added', participant: { threadKey: T, contactId: ALICE } },
      { type: 'thread', change: 'participant-added', participant: { threadKey: T, contactId: ME, isAdmin: true } },
      { type: 'thread', change: 'participant-removed', threadKey: T, participantId: ALICE },
    ]);
  });

  it('ignored and unknown types are typed but make no events', () => {
    const ignored = parseSlideDelta(base('SlideUQPPCreate1To1Thread'));
    const unknown = parseSlideDelta(base('SlideUQPPSomethingNew', { whatever: 1 }));
    assert.deepEqual([ignored.kind, unknown.kind], ['ignored', 'unknown']);
    assert.deepEqual(events(base('SlideUQPPNoOpMutation'), base('SlideUQPPSomethingNew')), []);
  });

  it('a batch is the wrapper list, in order, with each seq id', () => {
    const batch = JSON.stringify([
      { data: { slide_delta_processor: [base('SlideUQPPDeleteMessage', { message_id: 'a', uq_seq_id: '5' })] } },
      { data: { slide_delta_processor: [base('SlideUQPPDeleteMessage', { message_id: 'b', uq_seq_id: '9007199254740993' })] } },
    ]);
    const deltas = parseSlideDeltaBatch(batch);
    assert.deepEqual(deltas.map((d: SlideDelta) => [d.seqId, d.kind]), [['5', 'unsend'], ['9007199254740993', 'unsend']]);
  });

  it('bad input is a bad-slide error naming what is wrong', () => {
    const msgOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    assert.equal(code(() => parseSlideDeltaBatch('{')), 'bad-slide');
    assert.equal(code(() => parseSlideDeltaBatch('{}')), 'bad-slide');
    assert.equal(code(() => parseSlideDeltaBatch('[{"data":{}}]')), 'bad-slide');
    assert.equal(code(() => parseSlideDelta(null)), 'bad-slide');
    assert.equal(code(() => parseSlideDelta({ uq_seq_id: '1' })), 'bad-slide');
    assert.match(msgOf(() => parseSlideDelta({ __typename: 'SlideUQPPDeleteMessage', thread_fbid: T })), /uq_seq_id is not an id/);
    assert.match(msgOf(() => parseSlideDelta(base('SlideUQPPDeleteMessage', { thread_fbid: 'x', message_id: 'm' }))), /thread_fbid is not an id/);
    assert.match(msgOf(() => parseSlideDelta(base('SlideUQPPNewMessage', { message: message({ sender_fbid: 'alice' }) }))), /message\.sender_fbid is not an id/);
    assert.match(msgOf(() => parseSlideDelta(base('SlideUQPPNewMessage', { message: message({ content: {} }) }))), /content has no __typename/);
    assert.match(msgOf(() => parseSlideDelta(base('SlideUQPPCreateReaction', { message_id: 'm' }))), /reaction is not an object/);
    assert.match(msgOf(() => parseSlideDelta(base('SlideUQPPReadReceipt', { read_receipt: { participant_fbid: ALICE, watermark_timestamp_ms: 'soon' } }))), /watermark_timestamp_ms is not a time/);
    assert.match(msgOf(() => parseSlideDelta(base('SlideUQPPGenericMapAdminsKeyMutation', { admin_igids: ['x'] }))), /admin_igids holds a non-id/);
  });
});

describe('Instagram slide threads (the inbox snapshot)', () => {
  const thread = (extra: Record<string, unknown> = {}) => ({
    thread_fbid: T, is_group: true, thread_title: 'Sandbox friends', thread_image_url: 'https://cdn/t.jpg', last_activity_timestamp_ms: String(NOW),
    viewer: { interop_messaging_user_fbid: ME, full_name: 'Me Myself' },
    users: [{ interop_messaging_user_fbid: ALICE, full_name: 'Alice Liddell', profile_pic_url: 'https://cdn/a.jpg' }],
    admin_user_ids: [ME], slide_messages: { edges: [{ node: message() }] },
    slide_read_receipts: [{ participant_fbid: ALICE, watermark_timestamp_ms: String(NOW) }], ...extra,
  });

  it('a thread with its members (viewer included), admins, last message and receipts', () => {
    const out = eventsFromTables(tablesFromThreads([parseSlideThread(thread())], ME));
    assert.deepEqual(out.map((e) => e.type), ['contact', 'contact', 'thread', 'thread', 'thread', 'message', 'read']);
    const upsert = out.find((e) => e.type === 'thread' && e.change === 'upsert');
    assert.deepEqual(upsert, {
      type: 'thread', change: 'upsert', encrypted: false,
      thread: { threadKey: T, threadType: 2, parentThreadKey: '-1', folderName: 'inbox', memberCount: 2, lastActivityTimestampMs: NOW, threadName: 'Sandbox friends', threadPictureUrl: 'https://cdn/t.jpg' },
    });
    const members = out.filter((e) => e.type === 'thread' && e.change === 'participant-added')
      .map((e) => e.type === 'thread' && e.change === 'participant-added' && [e.participant.contactId, e.participant.isAdmin, e.participant.isSuperAdmin]);
    assert.deepEqual(members, [[ALICE, false, false], [ME, true, false]]);
    // The group's creator (group_creator, a fact) is its super admin (ours).
    const created = eventsFromTables(tablesFromThreads([parseSlideThread(thread({ group_creator: { interop_messaging_user_fbid: ALICE, full_name: 'Alice' } }))], ME));
    const alice = created.find((e) => e.type === 'thread' && e.change === 'participant-added' && e.participant.contactId === ALICE);
    assert.ok(alice?.type === 'thread' && alice.change === 'participant-added' && alice.participant.isSuperAdmin === true && alice.participant.isAdmin === true);
    assert.ok(out.some((e) => e.type === 'contact' && e.contact.contactId === ME && e.contact.isSelf === true));
  });

  it('a one-to-one thread is type 1; a thread flagged encrypted (ours) is type 15 without its messages', () => {
    const dm = eventsFromTables(tablesFromThreads([parseSlideThread(thread({ is_group: false }))], ME));
    assert.ok(dm.some((e) => e.type === 'thread' && e.change === 'upsert' && e.thread.threadType === 1 && !e.encrypted));
    const enc = eventsFromTables(tablesFromThreads([parseSlideThread(thread({ is_group: false, tributary_encrypted: true }))], ME));
    assert.ok(enc.some((e) => e.type === 'thread' && e.change === 'upsert' && e.thread.threadType === 15 && e.encrypted));
    assert.equal(enc.filter((e) => e.type === 'message').length, 0);
  });

  it('refuses a thread without a thread_fbid', () => {
    assert.equal(code(() => parseSlideThread({ users: [] })), 'bad-slide');
    assert.equal(code(() => parseSlideThread('x')), 'bad-slide');
  });
});
