/**
 * Meta -> Matrix on fixture rows: every kind of message, the placeholders for what cannot be
 * shown (nothing is ever dropped), replies, edits, reactions and unsends.
 */
import assert from 'node:assert/strict';
import { ATTACHMENT_TYPE, groupMessages } from '../../bridges/meta/src/msgconv/meta-message.js';
import { convertMetaMessage, UNSENT_NOTICE } from '../../bridges/meta/src/msgconv/to-matrix.js';
import { GIF_KEY, LINK_PREVIEWS_KEY, STICKER_ID_KEY } from '../../bridges/meta/src/msgconv/to-matrix-common.js';
import { canonicalXmaUrl } from '../../bridges/meta/src/msgconv/to-matrix-xma.js';
import { editEvent, reactionEvent, reactionRemoveEvent, unsendEvent } from '../../bridges/meta/src/msgconv/to-remote-events.js';
import { partId, portalKey, userLoginId, type ConvertedPart } from '../../shared/src/network/index.js';
import { ALICE, BOB, THREAD, attachmentRow, blobRow, messageRow, recordingContext } from '../helpers/meta-msgconv-fixtures.js';

const body = (p: ConvertedPart | undefined): unknown => p?.content.body;

describe('Meta -> Matrix messages', () => {
  it('text with formatting and a mention pill, replying to a message', async () => {
    const { ctx, deps } = recordingContext();
    const row = messageRow({ text: '*hi* @Bob 😀', mentionOffsets: '5', mentionLengths: '4', mentionIds: BOB, mentionTypes: 'p', replySourceId: 'mid.$earlier', replySourceType: 1 });
    const out = await convertMetaMessage({ row, attachments: [] }, ctx, deps);
    assert.equal(out.parts.length, 1);
    const c = out.parts[0]!.content;
    assert.equal(c.msgtype, 'm.text');
    assert.equal(c.body, 'hi @Bob 😀');
    assert.equal(c.formatted_body, `<strong>hi</strong> <a href="https://matrix.to/#/%40meta_${BOB}%3Aexample.org">@Bob</a> 😀`);
    assert.deepEqual(c['m.mentions'], { user_ids: [`@meta_${BOB}:example.org`] });
    assert.deepEqual(out.replyTo, { messageId: 'mid.$earlier' });
  });

  it('a reply to a story is not a reply to a message; a forwarded message is marked', async () => {
    const { ctx, deps } = recordingContext();
    const out = await convertMetaMessage({ row: messageRow({ text: 'nice', replySourceId: 'story1', replySourceType: 5, isForwarded: true }), attachments: [] }, ctx, deps);
    assert.equal(out.replyTo, undefined);
    assert.equal(body(out.parts[0]), '↷ Forwarded\nnice');
  });

  it('an image with text is one image event with a caption; the download is streamed through the core', async () => {
    const { ctx, deps, uploads } = recordingContext();
    const att = blobRow({ attachmentType: ATTACHMENT_TYPE.image, previewUrl: 'https://cdn/img', previewUrlMimeType: 'image/jpeg', previewWidth: 640, previewHeight: 480, filename: 'cat.jpg' });
    const out = await convertMetaMessage({ row: messageRow({ text: 'look' }), attachments: [att] }, ctx, deps);
    assert.equal(out.parts.length, 1);
    const p = out.parts[0]!;
    assert.equal(p.id, '');
    assert.equal(p.content.msgtype, 'm.image');
    assert.equal(p.content.body, 'look');
    assert.equal(p.content.url, 'mxc://example.org/u1');
    assert.deepEqual(p.content.info, { mimetype: 'image/jpeg', size: 'bytes of https://cdn/img'.length, w: 640, h: 480 });
    assert.equal(uploads[0]?.bytes, 'bytes of https://cdn/img');
  });

  it('view-once photos and videos are never copied into Matrix: a notice says one was sent', async () => {
    const { ctx, deps, uploads } = recordingContext();
    for (const [type, what] of [[ATTACHMENT_TYPE.ephemeralImage, 'photo'], [ATTACHMENT_TYPE.ephemeralVideo, 'video']] as const) {
      const att = blobRow({ attachmentType: type, previewUrl: 'https://cdn/secret', previewUrlMimeType: 'image/jpeg', playableUrl: 'https://cdn/secret', playableUrlMimeType: 'video/mp4' });
      const out = await convertMetaMessage({ row: messageRow(), attachments: [att] }, ctx, deps);
      assert.equal(out.parts.length, 1);
      assert.equal(out.parts[0]!.content.msgtype, 'm.notice');
      assert.match(String(body(out.parts[0])), new RegExp(`A view-once ${what}`));
    }
    assert.equal(uploads.length, 0, 'view-once media was downloaded and uploaded');
  });

  it('video, GIF (as video/gif), voice (audio with the voice flag) and file, one part each', async () => {
    const { ctx, deps } = recordingContext();
    const attachments = [
      blobRow({ attachmentType: ATTACHMENT_TYPE.video, playableUrl: 'https://cdn/v', playableUrlMimeType: 'video/mp4', playableDurationMs: 4000, attachmentIndex: 0, attachmentFbid: '1' }),
      attachmentRow({ attachmentType: ATTACHMENT_TYPE.animatedImage, playableUrl: 'https://cdn/g', playableUrlMimeType: 'video/mp4', attachmentIndex: 1, attachmentFbid: '2' }),
      blobRow({ attachmentType: ATTACHMENT_TYPE.audio, playableUrl: 'https://cdn/a', playableUrlMimeType: 'audio/mpeg', playableDurationMs: 3000, attachmentIndex: 2, attachmentFbid: '3' }),
      blobRow({ attachmentType: ATTACHMENT_TYPE.file, playableUrl: 'https://cdn/f', attachmentMimeType: 'application/pdf', filename: 'report\u0000.pdf', filesize: 99, attachmentIndex: 3, attachmentFbid: '4' }),
    ];
    const out = await convertMetaMessage({ row: messageRow(), attachments }, ctx, deps);
    assert.deepEqual(out.parts.map((p) => [p.id, p.content.msgtype]), [['', 'm.video'], ['att1', 'm.video'], ['att2', 'm.audio'], ['att3', 'm.file']]);
    const [video, gif, voice, file] = out.parts.map((p) => p.content);
    assert.equal((video?.info as Record<string, unknown>).duration, 4000);
    assert.equal(gif?.[GIF_KEY], true);
    assert.equal((gif?.info as Record<string, unknown>)['fi.mau.loop'], true);
    assert.deepEqual(voice?.['org.matrix.msc3245.voice'], {});
    assert.deepEqual(voice?.['org.matrix.msc1767.audio'], { duration: 3000 });
    assert.equal(file?.body, 'report.pdf');
    assert.equal(video?.[GIF_KEY], undefined);
  });

  it('a sticker becomes m.sticker carrying its Meta id; the like button becomes 👍', async () => {
    const { ctx, deps, uploads } = recordingContext();
    const sticker = attachmentRow({ attachmentType: ATTACHMENT_TYPE.sticker, previewUrl: 'https://cdn/s', previewUrlMimeType: 'image/png' });
    const out = await convertMetaMessage({ row: messageRow({ stickerId: '12345' }), attachments: [sticker] }, ctx, deps);
    assert.equal(out.parts[0]?.type, 'm.sticker');
    assert.equal(out.parts[0]?.content[STICKER_ID_KEY], '12345');
    const like = await convertMetaMessage({ row: messageRow({ stickerId: '369239263222822' }), attachments: [{ ...sticker, previewUrl: 'https://cdn/like' }] }, ctx, deps);
    assert.deepEqual(like.parts.map((p) => [p.type, p.content.body]), [['m.room.message', '👍']]);
    assert.equal(uploads.length, 1);
    const bare = await convertMetaMessage({ row: messageRow({ stickerId: '999' }), attachments: [] }, ctx, deps);
    assert.match(String(body(bare.parts[0])), /^A sticker: open it in Messenger/);
  });

  it('shared posts, reels and stories become a link with a preview, never dropped', async () => {
    const { ctx, deps, uploads } = recordingContext({ platform: 'instagram' });
    const reel = attachmentRow({ hasXma: true, attachmentType: ATTACHMENT_TYPE.xma, actionUrl: 'https://www.instagram.com/reel/Cx1/', titleText: 'cat_account', subtitleText: 'A cat\njumps', previewUrl: 'https://cdn/thumb', previewUrlMimeType: 'image/jpeg' });
    const out = await convertMetaMessage({ row: messageRow(), attachments: [reel] }, ctx, deps);
    const c = out.parts[0]!.content;
    assert.equal(c.body, 'Shared reel: cat_account\nA cat jumps\nhttps://www.instagram.com/reel/Cx1/');
    assert.match(String(c.formatted_body), /<a href="https:\/\/www.instagram.com\/reel\/Cx1\/">/);
    const [preview] = c[LINK_PREVIEWS_KEY] as Array<Record<string, unknown>>;
    assert.equal(preview?.['og:url'], 'https://www.instagram.com/reel/Cx1/');
    assert.equal(preview?.['og:title'], 'cat_account');
    assert.equal(preview?.['og:image'], 'mxc://example.org/u1');
    assert.equal(uploads[0]?.bytes, 'bytes of https://cdn/thumb');
    const story = await convertMetaMessage({ row: messageRow(), attachments: [attachmentRow({ hasXma: true, actionUrl: '/stories/direct/123_456' })] }, ctx, deps);
    assert.equal(body(story.parts[0]), 'Shared story\nhttps://www.instagram.com/stories/direct/123_456');
    const post = await convertMetaMessage({ row: messageRow(), attachments: [attachmentRow({ attachmentType: 7, actionUrl: 'instagram://media/?shortcode=AbC_1' })] }, ctx, deps);
    assert.equal(body(post.parts[0]), 'Shared post\nhttps://www.instagram.com/p/AbC_1/');
  });

  it("a link preview Meta made for the text's URL goes on the text event", async () => {
    const { ctx, deps } = recordingContext();
    const preview = attachmentRow({ hasXma: true, actionUrl: 'https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.org%2Fa&h=x', titleText: 'Example', previewUrl: 'https://cdn/p' });
    const out = await convertMetaMessage({ row: messageRow({ text: 'read https://example.org/a' }), attachments: [preview] }, ctx, deps);
    assert.equal(out.parts.length, 1);
    assert.equal(out.parts[0]?.content.body, 'read https://example.org/a');
    assert.deepEqual((out.parts[0]?.content[LINK_PREVIEWS_KEY] as Array<Record<string, unknown>>)[0]?.['og:url'], 'https://example.org/a');
  });

  it('unknown or broken attachments become notices with what they have, and the caption survives', async () => {
    const { ctx, deps } = recordingContext({ failing: ['https://cdn/gone'] });
    const unknown = attachmentRow({ attachmentType: ATTACHMENT_TYPE.catalogItem, titleText: 'A lamp', subtitleText: '12 €' });
    const out = await convertMetaMessage({ row: messageRow(), attachments: [unknown] }, ctx, deps);
    assert.equal(out.parts.length, 1);
    assert.equal(out.parts[0]?.content.msgtype, 'm.notice');
    assert.match(String(body(out.parts[0])), /A lamp\n12 €\nOpen in Messenger: https:\/\/www\.messenger\.com\/t\/1000000000000001\//);
    const broken = await convertMetaMessage({ row: messageRow({ text: 'caption' }), attachments: [blobRow({ attachmentType: 2, previewUrl: 'https://cdn/gone', filename: 'x.jpg' })] }, ctx, deps);
    assert.deepEqual(broken.parts.map((p) => [p.id, p.content.msgtype]), [['att0', 'm.notice'], ['', 'm.text']]);
    assert.match(String(body(broken.parts[0])), /could not be downloaded/);
    assert.equal(body(broken.parts[1]), 'caption');
    const empty = await convertMetaMessage({ row: messageRow(), attachments: [] }, ctx, deps);
    assert.equal(empty.parts[0]?.content.msgtype, 'm.notice');
  });

  it('an unsent message is a placeholder notice; an admin message a notice', async () => {
    const { ctx, deps } = recordingContext();
    const unsent = await convertMetaMessage({ row: messageRow({ text: 'secret', isUnsent: true }), attachments: [blobRow({ previewUrl: 'https://cdn/x' })] }, ctx, deps);
    assert.deepEqual(unsent.parts.map((p) => [p.content.msgtype, p.content.body]), [['m.notice', UNSENT_NOTICE]]);
    const admin = await convertMetaMessage({ row: messageRow({ text: 'Alice named the group', isAdminMessage: true }), attachments: [] }, ctx, deps);
    assert.equal(admin.parts[0]?.content.msgtype, 'm.notice');
  });

  it('groups rows by message, in attachment order, without the duplicates Meta repeats', () => {
    const a0 = blobRow({ attachmentFbid: '7', attachmentIndex: 1 });
    const a1 = blobRow({ attachmentFbid: '8', attachmentIndex: 0 });
    const grouped = groupMessages({
      LSInsertMessage: [messageRow()],
      LSInsertBlobAttachment: [a0, a1, { ...a0 }, blobRow({ messageId: 'mid.$other' })],
    });
    assert.equal(grouped.messages.length, 1);
    assert.deepEqual(grouped.messages[0]?.attachments.map((a) => a.attachmentFbid), ['8', '7']);
    assert.deepEqual(grouped.orphanAttachments.map((a) => a.messageId), ['mid.$other']);
  });

  it('makes outside links absolute and refuses unsafe ones', () => {
    assert.equal(canonicalXmaUrl('https://l.facebook.com/l.php?u=javascript%3Aalert(1)', 'messenger'), undefined);
    assert.equal(canonicalXmaUrl('/groups/1/posts/2', 'messenger'), 'https://www.facebook.com/groups/1/posts/2');
    assert.equal(canonicalXmaUrl('//evil.example/x', 'messenger'), undefined);
  });
});

describe('Meta -> Matrix changes to earlier messages', () => {
  const portal = portalKey(THREAD);
  const self = { userId: ALICE, login: userLoginId(ALICE) };

  it('a reaction replaces the sender’s previous one; an empty one or a delete removes it', () => {
    const r = reactionEvent({ threadKey: THREAD, messageId: 'mid.$m1', actorId: BOB, reaction: '❤️', timestampMs: 5 }, portal, self, 9);
    assert.deepEqual(r, { type: 'reaction', portal, sender: { user: BOB, isFromMe: false }, timestamp: 5, target: 'mid.$m1', emojiId: '❤️', emoji: '❤️', replacesOthers: true });
    const own = reactionEvent({ threadKey: THREAD, messageId: 'mid.$m1', actorId: ALICE, reaction: '' }, portal, self, 9);
    assert.equal(own.type, 'reaction_remove');
    assert.deepEqual(own.sender, { user: ALICE, isFromMe: true, login: ALICE });
    assert.equal(own.timestamp, 9);
    const del = reactionRemoveEvent({ threadKey: THREAD, messageId: 'mid.$m1', actorId: BOB }, portal, self, 9);
    assert.equal(del.type, 'reaction_remove');
    assert.equal(del.emojiId, undefined);
  });

  it('an edit replaces the text part with the new formatted text, and counts edits', async () => {
    const { ctx } = recordingContext();
    const evt = editEvent({ messageId: 'mid.$m1', text: 'now *bold*', editCount: 2 }, portal, { user: BOB as never, isFromMe: false }, 9);
    assert.equal(evt.editCount, 2);
    const edit = await evt.convert(ctx, [partId('att0'), partId('')]);
    assert.deepEqual(edit.modifiedParts.map((m) => [m.partId, m.content.body, m.content.formatted_body]), [['', 'now bold', 'now <strong>bold</strong>']]);
    const onMedia = await evt.convert(ctx, [partId('att0')]);
    assert.equal(onMedia.modifiedParts[0]?.partId, 'att0');
  });

  it('an unsend removes the message', () => {
    assert.deepEqual(unsendEvent('mid.$m1', portal, { user: BOB as never, isFromMe: false }, 3), {
      type: 'message_remove', portal, sender: { user: BOB, isFromMe: false }, timestamp: 3, target: 'mid.$m1',
    });
  });
});
