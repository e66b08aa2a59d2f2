/**
 * Matrix -> Meta: what each Matrix action becomes as the input of Meta's tasks, checked through the
 * real task builders (so every input here is one Meta's SendMessage etc. accept), plus Meta's
 * edit limits and the refusals that must reach the person as clear errors.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { editMessageTask, markReadTask, sendMessageTask, sendReactionTask, typingTask, unsendMessageTask } from '../../bridges/meta/src/lightspeed/tasks.js';
import {
  META_EDIT_WINDOW_MS, matrixEditToMeta, matrixReactionRemoveToMeta, matrixReactionToMeta, matrixReadReceiptToMeta, matrixRedactionToMeta,
  matrixTypingToMeta, preHandleMetaReaction,
} from '../../bridges/meta/src/msgconv/from-matrix-actions.js';
import { META_MEDIA_LIMITS, type MetaUploadFile } from '../../bridges/meta/src/msgconv/from-matrix-media.js';
import { matrixMessageToMeta } from '../../bridges/meta/src/msgconv/from-matrix.js';
import { STICKER_ID_KEY } from '../../bridges/meta/src/msgconv/to-matrix-common.js';
import type { FormattedText } from '../../shared/src/matrix/format/index.js';
import {
  isBridgeError, messageId, partId, portalKey, type MatrixEdit, type MatrixMedia, type MatrixMessage,
} from '../../shared/src/network/index.js';
import { ALICE, BOB, THREAD } from '../helpers/meta-msgconv-fixtures.js';

const group = { threadId: THREAD, isGroup: true };
const dm = { threadId: THREAD, isGroup: false };
const base = { portal: portalKey(THREAD), roomId: '!r:example.org', eventId: '$ev1', sender: '@me:example.org', timestamp: 1_700_000_000_000 };

function message(over: Partial<MatrixMessage>): MatrixMessage {
  return { ...base, msgtype: 'm.text', txnId: 'txn-1', content: {}, ...over };
}

function media(over: Partial<MatrixMedia> & { bytes?: number } = {}): MatrixMedia {
  const bytes = over.bytes ?? 10;
  return { kind: 'image', mimetype: 'image/png', filename: 'pic.png', open: async () => Readable.from([Buffer.alloc(bytes, 1)]), ...over };
}

function recordingUploader() {
  const files: Array<Omit<MetaUploadFile, 'stream'> & { bytes: number }> = [];
  const upload = async (file: MetaUploadFile): Promise<string> => {
    let bytes = 0;
    for await (const chunk of file.stream) bytes += (chunk as Buffer).length;
    const { stream: _s, ...rest } = file;
    files.push({ ...rest, bytes });
    return String(5550 + files.length);
  };
  return { files, upload };
}

async function rejects(p: Promise<unknown> | (() => unknown), reason: string, text: RegExp): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    assert.ok(isBridgeError(err), String(err));
    assert.equal(err.reason, reason);
    assert.match(err.userMessage, text);
    return;
  }
  assert.fail('expected a BridgeError');
}

describe('Matrix -> Meta messages', () => {
  it('text with formatting, a mention (UTF-16 offsets past emoji) and a reply', async () => {
    const text: FormattedText = {
      text: '😀😀 Bob: look at this',
      entities: [{ type: 'mention', offset: 5, length: 3, userId: BOB }, { type: 'bold', offset: 10, length: 4 }],
    };
    const input = await matrixMessageToMeta(message({ text, replyTo: { messageId: messageId('mid.$orig'), partId: partId('') } }), group, recordingUploader());
    const task = sendMessageTask(input);
    assert.equal(task.payload.text, '😀😀 @Bob: *look* at this');
    assert.deepEqual(task.payload.mention_data, { mention_ids: BOB, mention_offsets: '5', mention_lengths: '4', mention_types: 'p' });
    assert.deepEqual(task.payload.reply_metadata, { reply_source_id: 'mid.$orig', reply_source_type: 1, reply_type: 0 });
    assert.equal(task.payload.send_type, 1);
    // The same Matrix event gives the same otid (Meta drops the resend).
    const again = await matrixMessageToMeta(message({ text }), group, recordingUploader());
    assert.equal(again.otid, input.otid);
  });

  it('an emote gets "/me ", a link is written out, and an empty message is refused quietly', async () => {
    const emote = await matrixMessageToMeta(message({ msgtype: 'm.emote', text: { text: 'waves', entities: [] } }), dm, recordingUploader());
    assert.equal(emote.text, '/me waves');
    const link = await matrixMessageToMeta(message({ text: { text: 'docs', entities: [{ type: 'link', offset: 0, length: 4, url: 'https://e.org/d' }] } }), dm, recordingUploader());
    assert.equal(link.text, 'docs (https://e.org/d)');
    assert.equal(sendMessageTask(link).payload.text_has_links, 1);
    await rejects(matrixMessageToMeta(message({ text: { text: '  ', entities: [] } }), dm, recordingUploader()), 'm_bad_format', /empty/);
    await rejects(matrixMessageToMeta(message({ text: { text: 'x'.repeat(20_001), entities: [] } }), dm, recordingUploader()), 'm_too_large', /20000/);
  });

  it('media is uploaded first and sent by fbid, with its caption and mentions', async () => {
    const up = recordingUploader();
    const input = await matrixMessageToMeta(message({ msgtype: 'm.image', media: media(), text: { text: 'Alice!', entities: [{ type: 'mention', offset: 0, length: 5, userId: ALICE }] } }), group, up);
    const task = sendMessageTask(input);
    assert.deepEqual(up.files, [{ kind: 'image', mimetype: 'image/png', filename: 'pic.png', voice: false, bytes: 10 }]);
    assert.deepEqual(task.payload.attachment_fbids, [5551n]);
    assert.equal(task.payload.send_type, 3);
    assert.equal(task.payload.text, '@Alice!');
    const voice = recordingUploader();
    await matrixMessageToMeta(message({ msgtype: 'm.audio', media: media({ kind: 'audio', mimetype: 'audio/ogg', filename: 'v.ogg', voice: {}, durationMs: 2000 }) }), dm, voice);
    assert.deepEqual(voice.files.map((f) => [f.kind, f.voice, f.durationMs]), [['audio', true, 2000]]);
  });

  it('refuses media over Meta’s limits before or while reading it', async () => {
    const up = recordingUploader();
    await rejects(matrixMessageToMeta(message({ media: media({ size: META_MEDIA_LIMITS.image + 1 }) }), dm, up), 'm_too_large', /8 MiB/);
    await rejects(matrixMessageToMeta(message({ media: media({ bytes: META_MEDIA_LIMITS.image + 1 }) }), dm, up), 'm_too_large', /8 MiB/);
    assert.equal(up.files.length, 0);
  });

  it('a sticker that came from Meta goes back as that sticker; another is sent as an image', async () => {
    const up = recordingUploader();
    const meta = await matrixMessageToMeta(message({ msgtype: 'm.sticker', media: media({ kind: 'sticker' }), content: { [STICKER_ID_KEY]: '12345' } }), dm, up);
    assert.equal(sendMessageTask(meta).payload.send_type, 2);
    assert.equal(meta.stickerId, '12345');
    const other = await matrixMessageToMeta(message({ msgtype: 'm.sticker', media: media({ kind: 'sticker', mimetype: 'image/webp' }), text: { text: 'sticker name', entities: [] } }), dm, up);
    assert.deepEqual(other.attachmentFbids, ['5551']);
    assert.equal(other.text, undefined);
  });

  it('a location is sent as a map link; a bad one is refused', async () => {
    const loc = await matrixMessageToMeta(message({ msgtype: 'm.location', location: { latitude: 48.85, longitude: 2.35, description: 'Paris' } }), dm, recordingUploader());
    assert.equal(loc.text, '📍 Paris\nhttps://www.openstreetmap.org/?mlat=48.85&mlon=2.35');
    await rejects(matrixMessageToMeta(message({ location: { latitude: 91, longitude: 0 } }), dm, recordingUploader()), 'm_bad_format', /malformed/);
  });
});

describe('Matrix -> Meta actions', () => {
  const now = base.timestamp + 60_000;
  function edit(editCount: number, sentAt: number): MatrixEdit {
    return { ...base, target: { messageId: messageId('mid.$m1'), partId: partId(''), editCount, timestamp: sentAt }, text: { text: 'fixed typo', entities: [{ type: 'italic', offset: 6, length: 4 }] }, content: {} };
  }

  it('an edit within the limits becomes EditMessage with Meta markup', () => {
    const input = matrixEditToMeta(edit(4, base.timestamp), dm, now);
    assert.deepEqual(editMessageTask(input).payload, { message_id: 'mid.$m1', text: 'fixed _typo_' });
  });

  it('refuses a sixth edit and an edit after 15 minutes, with a clear message', async () => {
    await rejects(() => matrixEditToMeta(edit(5, base.timestamp), dm, now), 'm_unsupported', /at most 5 edits/);
    await rejects(() => matrixEditToMeta(edit(0, now - META_EDIT_WINDOW_MS - 1), dm, now), 'm_too_old', /15 minutes/);
    assert.doesNotThrow(() => matrixEditToMeta(edit(0, now - META_EDIT_WINDOW_MS), dm, now));
  });

  it('reactions: emoji only, one per person, removed with an empty reaction', async () => {
    const reaction = { ...base, target: { messageId: messageId('mid.$m1'), partId: partId('') }, emoji: '👍🏽' };
    assert.deepEqual(preHandleMetaReaction(reaction), { emojiId: '👍🏽', emoji: '👍🏽', onePerUser: true });
    const task = sendReactionTask(matrixReactionToMeta(reaction, dm, ALICE));
    assert.equal(task.payload.reaction, '👍🏽');
    assert.equal(task.payload.actor_id, BigInt(ALICE));
    const removal = sendReactionTask(matrixReactionRemoveToMeta({ ...reaction, emojiId: '👍🏽' as never }, dm, ALICE));
    assert.equal(removal.payload.reaction, '');
    await rejects(() => preHandleMetaReaction({ emoji: '+1' }), 'm_unsupported', /only emoji/);
    await rejects(() => preHandleMetaReaction({ emoji: '' }), 'm_unsupported', /only emoji/);
  });

  it('redaction -> unsend, read receipt -> mark read at the message time, typing -> presence', () => {
    const target = { messageId: messageId('mid.$m1'), partId: partId(''), timestamp: 1234 };
    assert.deepEqual(unsendMessageTask(matrixRedactionToMeta({ ...base, target })).payload, { message_id: 'mid.$m1' });
    assert.equal(markReadTask(matrixReadReceiptToMeta({ ...base, target }, dm)).payload.last_read_watermark_ts, 1234);
    assert.equal(markReadTask(matrixReadReceiptToMeta({ ...base }, dm)).payload.last_read_watermark_ts, base.timestamp);
    const typing = typingTask(matrixTypingToMeta({ portal: base.portal, roomId: base.roomId, sender: base.sender, typing: true }, group));
    assert.deepEqual([typing.payload.is_typing, typing.payload.is_group_thread, typing.payload.thread_type], [1, 1, 2]);
  });

  it('a target that cannot be a Meta message id is not found', async () => {
    await rejects(() => matrixRedactionToMeta({ ...base, target: { messageId: messageId('bad id with spaces'), partId: partId(''), timestamp: 1 } }), 'm_not_found', /not found/);
  });
});
