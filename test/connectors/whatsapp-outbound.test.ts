/**
 * Matrix -> WhatsApp through the real handlers (connector/handle-matrix.ts) and the fake port:
 * every send runs Baileys' own generateWAMessage, so the assertions are on the protos WhatsApp
 * would receive; media is encrypted and decrypted for real against the local media server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Boom } from '@hapi/boom';
import { downloadMediaMessage, getContentType, proto, type ParticipantAction, type WAMessage } from 'baileys';
import {
  BridgeError, emojiId, messageId, partId, portalKey, remoteUserId, userLoginId,
  type MatrixEventBase, type MatrixMedia, type MatrixMessage, type MessageId, type PortalKey, type UserLoginHandle,
} from '../../shared/src/network/index.js';
import type { FormattedText } from '../../shared/src/matrix/format/index.js';
import type { WAMatrixContext } from '../../bridges/whatsapp/src/connector/context.js';
import { makeMessageId } from '../../bridges/whatsapp/src/connector/ids.js';
import {
  changeGroupMembership, changeGroupPowerLevels, removeMatrixMessage, removeMatrixReaction, renameGroup,
  sendMatrixEdit, sendMatrixMessage, sendMatrixReaction, sendMatrixReadReceipt, sendMatrixTyping, setGroupAvatar,
  setGroupTopic, setMatrixPresence, waErrorToBridgeError,
} from '../../bridges/whatsapp/src/connector/handle-matrix.js';
import { matrixMessageToWA, messageIdForTxn } from '../../bridges/whatsapp/src/msgconv/from-matrix.js';
import { WA_MEDIA_LIMITS, waveformToWhatsApp } from '../../bridges/whatsapp/src/msgconv/from-matrix-media.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const ME_USER = '15550001111';
const ME = `${ME_USER}@s.whatsapp.net`;
const BOB_USER = '15550002222';
const BOB = `${BOB_USER}@s.whatsapp.net`;
const CAROL_USER = '15550003333';
const CAROL = `${CAROL_USER}@s.whatsapp.net`;
const GROUP = '120363000000000001@g.us';
const DM = portalKey(BOB, ME_USER);
const GROUP_PORTAL = portalKey(GROUP, '');

function makeCtx(fake: FakeWAPort): WAMatrixContext {
  const login = { id: userLoginId(ME_USER), userMxid: '@alice:example.org', remoteName: '+15550001111', metadata: {} } as unknown as UserLoginHandle;
  return { login, lids: { pnForLid: async () => undefined }, socket: () => fake.port, ownJid: () => ME };
}

let seq = 0;
function base(portal: PortalKey): MatrixEventBase {
  seq++;
  return { portal, roomId: '!room:example.org', eventId: `$ev${seq}`, sender: '@alice:example.org', timestamp: 1_700_000_000_000 };
}

function message(portal: PortalKey, fields: Partial<MatrixMessage> & { msgtype: string }): MatrixMessage {
  const b = base(portal);
  return { ...b, txnId: `txn-${b.eventId}`, content: {}, ...fields };
}

function plainText(text: string): FormattedText {
  return { text, entities: [] };
}

function mediaOf(bytes: Buffer, fields: Omit<MatrixMedia, 'open' | 'size'> & { size?: number }): MatrixMedia & { opened: () => number } {
  let opens = 0;
  return {
    ...fields,
    size: fields.size ?? bytes.length,
    open: async () => {
      opens++;
      // several chunks, as a download would deliver them
      const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000, 2500), bytes.subarray(2500)];
      return Readable.from(chunks.filter((c) => c.length > 0));
    },
    opened: () => opens,
  };
}

function lastSent(fake: FakeWAPort): WAMessage {
  const rec = fake.sent[fake.sent.length - 1];
  assert.ok(rec, 'something was sent');
  return rec.message;
}

async function rejectsWith(p: Promise<unknown>, reason: string, status?: string): Promise<BridgeError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof BridgeError, `expected a BridgeError, got ${String(caught)}`);
  assert.equal(caught.reason, reason);
  if (status !== undefined) assert.equal(caught.status, status);
  return caught;
}

describe('whatsapp: Matrix -> WhatsApp', function () {
  this.timeout(30_000);
  let fake: FakeWAPort;
  let ctx: WAMatrixContext;
  const groupCalls: Array<{ method: string; args: unknown[] }> = [];
  let participantStatus = '200';

  beforeEach(async () => {
    groupCalls.length = 0;
    participantStatus = '200';
    fake = await createFakeWAPort({
      me: ME,
      emitOwnEvents: false,
      overrides: {
        groupUpdateSubject: async (jid: string, subject: string) => void groupCalls.push({ method: 'groupUpdateSubject', args: [jid, subject] }),
        groupUpdateDescription: async (jid: string, description?: string) => void groupCalls.push({ method: 'groupUpdateDescription', args: [jid, description] }),
        groupParticipantsUpdate: async (jid: string, participants: string[], action: ParticipantAction) => {
          groupCalls.push({ method: 'groupParticipantsUpdate', args: [jid, participants, action] });
          return participants.map((p) => ({ status: participantStatus, jid: p, content: { tag: 'participant', attrs: { jid: p } } }));
        },
        updateProfilePicture: async (jid: string, content: unknown) => void groupCalls.push({ method: 'updateProfilePicture', args: [jid, content] }),
        removeProfilePicture: async (jid: string) => void groupCalls.push({ method: 'removeProfilePicture', args: [jid] }),
      },
    });
    ctx = makeCtx(fake);
  });
  afterEach(async () => {
    await fake.close();
  });

  describe('text', () => {
    it('sends formatted text with mentions as extendedTextMessage markup', async () => {
      const text = 'hi Bob, this is bold';
      const ft: FormattedText = {
        text,
        entities: [
          { type: 'mention', offset: 3, length: 3, userId: BOB_USER },
          { type: 'bold', offset: 16, length: 4 },
        ],
      };
      const res = await sendMatrixMessage(ctx, message(GROUP_PORTAL, { msgtype: 'm.text', text: ft }));
      const sent = lastSent(fake);
      assert.equal(fake.sent[0]?.jid, GROUP);
      const ext = sent.message?.extendedTextMessage;
      assert.equal(ext?.text, `hi @${BOB_USER}, this is *bold*`);
      assert.deepEqual(ext?.contextInfo?.mentionedJid, [BOB]);
      assert.ok(!ext?.contextInfo?.nonJidMentions, 'no mention-all');
      assert.equal(res.id, makeMessageId(GROUP, ME_USER, sent.key.id ?? ''));
      assert.equal(res.timestamp, Number(sent.messageTimestamp) * 1000);
      // the proto survives the wire encoding
      const decoded = proto.WebMessageInfo.decode(proto.WebMessageInfo.encode(sent).finish());
      assert.deepEqual(decoded.message?.extendedTextMessage?.contextInfo?.mentionedJid, [BOB]);
    });

    it('mentions LID users by their LID JID', async () => {
      const ft: FormattedText = { text: 'x Someone', entities: [{ type: 'mention', offset: 2, length: 7, userId: 'lid-987654321' }] };
      await sendMatrixMessage(ctx, message(GROUP_PORTAL, { msgtype: 'm.text', text: ft }));
      const ext = lastSent(fake).message?.extendedTextMessage;
      assert.equal(ext?.text, 'x @987654321');
      assert.deepEqual(ext?.contextInfo?.mentionedJid, ['987654321@lid']);
    });

    it('@room mentions everyone in a group, and is plain text in a DM', async () => {
      const ft: FormattedText = { text: '@room look', entities: [{ type: 'room_mention', offset: 0, length: 5 }] };
      await sendMatrixMessage(ctx, message(GROUP_PORTAL, { msgtype: 'm.text', text: ft }));
      const inGroup = lastSent(fake).message?.extendedTextMessage;
      assert.equal(inGroup?.text, '@all look');
      assert.equal(inGroup?.contextInfo?.nonJidMentions, 1);

      await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.text', text: ft }));
      const inDm = lastSent(fake).message?.extendedTextMessage;
      assert.equal(inDm?.text, '@all look');
      assert.ok(!inDm?.contextInfo?.nonJidMentions);
    });

    it('prefixes emotes with /me and sends notices as text', async () => {
      await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.emote', text: { text: 'waves', entities: [{ type: 'italic', offset: 0, length: 5 }] } }));
      assert.equal(lastSent(fake).message?.extendedTextMessage?.text, '/me _waves_');
      await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.notice', text: plainText('a notice') }));
      assert.equal(lastSent(fake).message?.extendedTextMessage?.text, 'a notice');
    });

    it('quotes the reply target with stanzaId and participant', async () => {
      const target = makeMessageId(GROUP, BOB_USER, 'ORIG1');
      await sendMatrixMessage(ctx, message(GROUP_PORTAL, { msgtype: 'm.text', text: plainText('answer'), replyTo: { messageId: target, partId: partId('') } }));
      const info = lastSent(fake).message?.extendedTextMessage?.contextInfo;
      assert.equal(info?.stanzaId, 'ORIG1');
      assert.equal(info?.participant, BOB);
      assert.ok(info?.quotedMessage, 'a quoted message is attached');
      assert.ok(!info?.remoteJid, 'same chat: no remoteJid');

      // replying to our own message in a DM quotes ourselves
      const own = makeMessageId(BOB, ME_USER, 'MINE1');
      await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.text', text: plainText('again'), replyTo: { messageId: own, partId: partId('') } }));
      const ownInfo = lastSent(fake).message?.extendedTextMessage?.contextInfo;
      assert.equal(ownInfo?.stanzaId, 'MINE1');
      assert.equal(ownInfo?.participant, ME);

      // a reply target that is not a WhatsApp message id is sent without the quote
      await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.text', text: plainText('plain'), replyTo: { messageId: messageId('elsewhere'), partId: partId('') } }));
      const plain = lastSent(fake).message?.extendedTextMessage;
      assert.equal(plain?.text, 'plain');
      assert.ok(!plain?.contextInfo?.stanzaId);
    });

    it('derives the message id from the txnId: the same txnId gives the same id', async () => {
      const first = await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.text', text: plainText('once'), txnId: 'txn-fixed' }));
      const second = await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.text', text: plainText('once'), txnId: 'txn-fixed' }));
      const other = await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.text', text: plainText('once'), txnId: 'txn-other' }));
      const [a, b, c] = fake.sent.map((s) => s.message.key.id);
      assert.match(a ?? '', /^3EB0[0-9A-F]{18}$/);
      assert.equal(a, b);
      assert.notEqual(a, c);
      assert.equal(a, messageIdForTxn('txn-fixed'));
      assert.equal(first.id, second.id);
      assert.equal(first.id, makeMessageId(BOB, ME_USER, a ?? ''));
      assert.notEqual(first.id, other.id);
    });

    it('refuses a message with nothing WhatsApp can carry', async () => {
      await rejectsWith(sendMatrixMessage(ctx, message(DM, { msgtype: 'm.server_notice' })), 'm_unsupported');
      assert.equal(fake.sent.length, 0);
    });
  });

  describe('media', () => {
    it('sends an image that decrypts back to the original bytes, with caption and mentions', async () => {
      const bytes = randomBytes(4000);
      const media = mediaOf(bytes, { kind: 'image', mimetype: 'image/png', filename: 'cat.png', width: 40, height: 30 });
      const caption: FormattedText = { text: 'look Bob', entities: [{ type: 'mention', offset: 5, length: 3, userId: BOB_USER }] };
      await sendMatrixMessage(ctx, message(GROUP_PORTAL, { msgtype: 'm.image', media, text: caption }));
      const sent = lastSent(fake);
      const image = sent.message?.imageMessage;
      assert.ok(image);
      assert.equal(image.caption, `look @${BOB_USER}`);
      assert.deepEqual(image.contextInfo?.mentionedJid, [BOB]);
      assert.equal(image.mimetype, 'image/png');
      assert.equal(image.width, 40);
      assert.equal(image.height, 30);
      assert.equal(Number(image.fileLength), bytes.length);
      const back = await downloadMediaMessage(sent, 'buffer', {});
      assert.ok(back.equals(bytes), 'decrypted bytes equal the original');
    });

    it('sends a voice message as a ptt audioMessage with seconds and waveform', async () => {
      const bytes = randomBytes(3000);
      const waveform = Array.from({ length: 128 }, (_, i) => (i % 2 === 0 ? 1024 : 0));
      const media = mediaOf(bytes, { kind: 'audio', mimetype: 'audio/ogg', filename: 'voice.ogg', durationMs: 7_400, voice: { waveform } });
      await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.audio', media }));
      const sent = lastSent(fake);
      const audio = sent.message?.audioMessage;
      assert.ok(audio);
      assert.equal(audio.ptt, true);
      assert.equal(audio.seconds, 7);
      assert.equal(audio.mimetype, 'audio/ogg; codecs=opus');
      assert.equal(audio.waveform?.length, 64);
      assert.ok(Array.from(audio.waveform ?? []).every((v) => v === 100), 'each slice peaks at full scale');
      assert.ok((await downloadMediaMessage(sent, 'buffer', {})).equals(bytes));
    });

    it('sends plain audio without ptt', async () => {
      const media = mediaOf(randomBytes(2000), { kind: 'audio', mimetype: 'audio/mpeg', filename: 'song.mp3', durationMs: 2_000 });
      await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.audio', media }));
      const audio = lastSent(fake).message?.audioMessage;
      assert.ok(audio);
      assert.ok(!audio.ptt);
      assert.equal(audio.seconds, 2);
      assert.equal(audio.mimetype, 'audio/mpeg');
    });

    it('sends a file as a documentMessage with fileName and caption', async () => {
      const bytes = randomBytes(5000);
      const media = mediaOf(bytes, { kind: 'file', mimetype: 'application/pdf', filename: 'report.pdf' });
      await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.file', media, text: plainText('the report') }));
      const sent = lastSent(fake);
      const doc = sent.message?.documentMessage;
      assert.ok(doc);
      assert.equal(doc.fileName, 'report.pdf');
      assert.equal(doc.caption, 'the report');
      assert.equal(doc.mimetype, 'application/pdf');
      assert.ok((await downloadMediaMessage(sent, 'buffer', {})).equals(bytes));
    });

    it('sends a video with dimensions and seconds', async () => {
      const media = mediaOf(randomBytes(3000), { kind: 'video', mimetype: 'video/mp4', filename: 'v.mp4', width: 320, height: 240, durationMs: 3_000 });
      await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.video', media }));
      const video = lastSent(fake).message?.videoMessage;
      assert.ok(video);
      assert.equal(video.width, 320);
      assert.equal(video.seconds, 3);
    });

    it('sends WebP stickers as stickers and other stickers as images', async () => {
      await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.sticker', media: mediaOf(randomBytes(2000), { kind: 'sticker', mimetype: 'image/webp', filename: 's.webp' }) }));
      assert.equal(getContentType(lastSent(fake).message ?? undefined), 'stickerMessage');
      assert.equal(lastSent(fake).message?.stickerMessage?.mimetype, 'image/webp');
      await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.sticker', media: mediaOf(randomBytes(2000), { kind: 'sticker', mimetype: 'image/png', filename: 's.png' }) }));
      assert.equal(getContentType(lastSent(fake).message ?? undefined), 'imageMessage');
    });

    it('refuses media over the size limit before opening it', async () => {
      const media = mediaOf(randomBytes(100), { kind: 'image', mimetype: 'image/png', filename: 'big.png', size: WA_MEDIA_LIMITS.image + 1 });
      await rejectsWith(sendMatrixMessage(ctx, message(DM, { msgtype: 'm.image', media })), 'm_too_large');
      assert.equal(media.opened(), 0);
      assert.equal(fake.sent.length, 0);
    });

    it('stops a stream of unannounced size at the limit with m_too_large', async () => {
      const bytes = randomBytes(5000);
      const media = { ...mediaOf(bytes, { kind: 'file' as const, mimetype: 'application/octet-stream', filename: 'x.bin' }), size: undefined };
      const converted = await matrixMessageToWA(message(DM, { msgtype: 'm.file', media }), { chat: BOB, ownJid: ME }, { ...WA_MEDIA_LIMITS, document: 2048 });
      await rejectsWith(fake.port.sendMessage(BOB, converted.content).then(() => undefined), 'm_too_large');
      assert.equal(fake.sent.length, 0);
    });

    it('sends a location', async () => {
      await sendMatrixMessage(ctx, message(DM, { msgtype: 'm.location', location: { latitude: 52.52, longitude: 13.405, description: 'Berlin' } }));
      const loc = lastSent(fake).message?.locationMessage;
      assert.ok(loc);
      assert.equal(loc.degreesLatitude, 52.52);
      assert.equal(loc.degreesLongitude, 13.405);
      assert.equal(loc.name, 'Berlin');
      await rejectsWith(sendMatrixMessage(ctx, message(DM, { msgtype: 'm.location', location: { latitude: 95, longitude: 0 } })), 'm_bad_format');
    });

    it('resamples MSC3245 waveforms to 64 values of 0-100', () => {
      assert.equal(waveformToWhatsApp([]), undefined);
      const flat = waveformToWhatsApp([512, 512]);
      assert.equal(flat?.length, 64);
      assert.ok(Array.from(flat ?? []).every((v) => v === 50));
      const ramp = waveformToWhatsApp(Array.from({ length: 640 }, (_, i) => (i * 1024) / 639));
      assert.equal(ramp?.[63], 100);
      assert.ok((ramp?.[0] ?? 100) < 5);
    });
  });

  describe('edits, reactions, deletes', () => {
    const own = makeMessageId(GROUP, ME_USER, 'MINE1');
    const bobs = makeMessageId(GROUP, BOB_USER, 'BOB1');
    const target = (id: MessageId) => ({ messageId: id, partId: partId('') });

    it('edits own messages as protocolMessage MESSAGE_EDIT', async () => {
      await sendMatrixEdit(ctx, { ...base(GROUP_PORTAL), target: { ...target(own), editCount: 0, timestamp: 0 }, text: { text: 'fixed', entities: [{ type: 'bold', offset: 0, length: 5 }] }, content: {} });
      const pm = lastSent(fake).message?.protocolMessage;
      assert.equal(pm?.type, proto.Message.ProtocolMessage.Type.MESSAGE_EDIT);
      assert.equal(pm?.key?.id, 'MINE1');
      assert.equal(pm?.key?.fromMe, true);
      assert.equal(pm?.key?.remoteJid, GROUP);
      assert.equal(pm?.editedMessage?.extendedTextMessage?.text, '*fixed*');
    });

    it('tells the context the id of what it sent, so the echo can be recognised', async () => {
      const noted: string[] = [];
      const noting: WAMatrixContext = { ...ctx, noteOwnSend: (id) => noted.push(id) };
      await sendMatrixReaction(noting, { ...base(GROUP_PORTAL), target: target(bobs), emoji: '👍' }, emojiId('👍'));
      const sentId = lastSent(fake).key?.id;
      assert.ok(sentId);
      assert.deepEqual(noted, [sentId]);
    });

    it('refuses to edit someone else\'s message', async () => {
      await rejectsWith(sendMatrixEdit(ctx, { ...base(GROUP_PORTAL), target: { ...target(bobs), editCount: 0, timestamp: 0 }, text: plainText('nope'), content: {} }), 'm_unsupported');
      assert.equal(fake.sent.length, 0);
    });

    it('reacts with reactionMessage and removes with an empty reaction', async () => {
      await sendMatrixReaction(ctx, { ...base(GROUP_PORTAL), target: target(bobs), emoji: '👍' }, emojiId('👍'));
      const r = lastSent(fake).message?.reactionMessage;
      assert.equal(r?.text, '👍');
      assert.equal(r?.key?.id, 'BOB1');
      assert.equal(r?.key?.fromMe, false);
      assert.equal(r?.key?.participant, BOB);
      assert.equal(r?.key?.remoteJid, GROUP);

      await removeMatrixReaction(ctx, { ...base(GROUP_PORTAL), target: target(bobs), emojiId: emojiId('👍'), emoji: '👍' });
      const removed = lastSent(fake).message?.reactionMessage;
      assert.equal(removed?.text, '');
      assert.equal(removed?.key?.id, 'BOB1');
    });

    it('deletes for everyone with protocolMessage REVOKE', async () => {
      await removeMatrixMessage(ctx, { ...base(GROUP_PORTAL), target: { ...target(own), timestamp: 0 } });
      const pm = lastSent(fake).message?.protocolMessage;
      assert.equal(pm?.type, proto.Message.ProtocolMessage.Type.REVOKE);
      assert.equal(pm?.key?.id, 'MINE1');
      assert.equal(pm?.key?.fromMe, true);

      // a group admin may delete other people's messages: the key names the author
      await removeMatrixMessage(ctx, { ...base(GROUP_PORTAL), target: { ...target(bobs), timestamp: 0 } });
      const other = lastSent(fake).message?.protocolMessage;
      assert.equal(other?.key?.participant, BOB);
      assert.equal(other?.key?.fromMe, false);
    });

    it('refuses deleting the other person\'s message in a DM', async () => {
      await rejectsWith(removeMatrixMessage(ctx, { ...base(DM), target: { ...target(makeMessageId(BOB, BOB_USER, 'X1')), timestamp: 0 } }), 'm_unsupported');
      assert.equal(fake.sent.length, 0);
    });

    it('refuses a target id it cannot parse', async () => {
      await rejectsWith(sendMatrixReaction(ctx, { ...base(DM), target: target(messageId('garbage')), emoji: 'x' }, emojiId('x')), 'm_not_found');
    });
  });

  describe('receipts, typing, presence', () => {
    it('marks read with the target key; skips own messages and missing targets', async () => {
      await sendMatrixReadReceipt(ctx, { ...base(GROUP_PORTAL), target: { messageId: makeMessageId(GROUP, BOB_USER, 'BOB1'), timestamp: 0 } });
      await sendMatrixReadReceipt(ctx, { ...base(GROUP_PORTAL), target: { messageId: makeMessageId(GROUP, ME_USER, 'MINE1'), timestamp: 0 } });
      await sendMatrixReadReceipt(ctx, { ...base(GROUP_PORTAL) });
      const reads = fake.calls.filter((c) => c.method === 'readMessages');
      assert.equal(reads.length, 1);
      assert.deepEqual(reads[0]?.args, [[{ remoteJid: GROUP, id: 'BOB1', fromMe: false, participant: BOB }]]);
    });

    it('sends typing as composing/paused to the chat and presence as available/unavailable', async () => {
      await sendMatrixTyping(ctx, { portal: DM, roomId: '!r:x', sender: '@alice:example.org', typing: true });
      await sendMatrixTyping(ctx, { portal: DM, roomId: '!r:x', sender: '@alice:example.org', typing: false });
      await setMatrixPresence(ctx, 'online');
      await setMatrixPresence(ctx, 'offline');
      const presence = fake.calls.filter((c) => c.method === 'sendPresenceUpdate').map((c) => c.args);
      assert.deepEqual(presence, [['composing', BOB], ['paused', BOB], ['available', undefined], ['unavailable', undefined]]);
    });
  });

  describe('groups', () => {
    it('renames, sets and clears the description', async () => {
      await renameGroup(ctx, { ...base(GROUP_PORTAL), name: '  Team\nchat ' });
      await setGroupTopic(ctx, { ...base(GROUP_PORTAL), topic: 'what we do' });
      await setGroupTopic(ctx, { ...base(GROUP_PORTAL), topic: '' });
      assert.deepEqual(groupCalls, [
        { method: 'groupUpdateSubject', args: [GROUP, 'Team chat'] },
        { method: 'groupUpdateDescription', args: [GROUP, 'what we do'] },
        { method: 'groupUpdateDescription', args: [GROUP, undefined] },
      ]);
      await rejectsWith(renameGroup(ctx, { ...base(GROUP_PORTAL), name: ' ' }), 'm_unsupported');
    });

    it('refuses group operations in a DM', async () => {
      await rejectsWith(renameGroup(ctx, { ...base(DM), name: 'x' }), 'm_unsupported');
      await rejectsWith(changeGroupMembership(ctx, { ...base(DM), target: remoteUserId(CAROL_USER), change: 'invite' }), 'm_unsupported');
      assert.equal(groupCalls.length, 0);
    });

    it('sets the group picture with the image bytes, and removes it when the room avatar is removed', async () => {
      const bytes = randomBytes(3000);
      await setGroupAvatar(ctx, { ...base(GROUP_PORTAL), avatar: mediaOf(bytes, { kind: 'image', mimetype: 'image/jpeg', filename: 'a.jpg' }) });
      assert.equal(groupCalls.length, 1);
      assert.equal(groupCalls[0]?.method, 'updateProfilePicture');
      assert.equal(groupCalls[0]?.args[0], GROUP);
      const sentBytes = groupCalls[0]?.args[1];
      assert.ok(Buffer.isBuffer(sentBytes) && sentBytes.equals(bytes));
      await setGroupAvatar(ctx, { ...base(GROUP_PORTAL) });
      assert.deepEqual(groupCalls[1], { method: 'removeProfilePicture', args: [GROUP] });
      await rejectsWith(setGroupAvatar(ctx, { ...base(DM) }), 'm_unsupported');
    });

    it('adds on invite and removes on kick and ban', async () => {
      await changeGroupMembership(ctx, { ...base(GROUP_PORTAL), target: remoteUserId(CAROL_USER), change: 'invite' });
      await changeGroupMembership(ctx, { ...base(GROUP_PORTAL), target: remoteUserId('lid-4242'), change: 'kick' });
      await changeGroupMembership(ctx, { ...base(GROUP_PORTAL), target: remoteUserId(BOB_USER), change: 'ban' });
      assert.deepEqual(groupCalls.map((c) => c.args), [[GROUP, [CAROL], 'add'], [GROUP, ['4242@lid'], 'remove'], [GROUP, [BOB], 'remove']]);
      await rejectsWith(changeGroupMembership(ctx, { ...base(GROUP_PORTAL), target: remoteUserId(BOB_USER), change: 'leave' }), 'm_unsupported');
    });

    it('reports a refused participant change as m_no_permission', async () => {
      participantStatus = '403';
      await rejectsWith(changeGroupMembership(ctx, { ...base(GROUP_PORTAL), target: remoteUserId(CAROL_USER), change: 'invite' }), 'm_no_permission');
      participantStatus = '409';
      await changeGroupMembership(ctx, { ...base(GROUP_PORTAL), target: remoteUserId(CAROL_USER), change: 'invite' });
    });

    it('promotes at level 50 and above, demotes below, and leaves the own account alone', async () => {
      await changeGroupPowerLevels(ctx, {
        ...base(GROUP_PORTAL),
        users: [
          { user: remoteUserId(BOB_USER), level: 100 }, { user: remoteUserId(CAROL_USER), level: 0 },
          { user: remoteUserId('15550004444'), level: 50 }, { user: remoteUserId(ME_USER), level: 0 },
        ],
      });
      assert.deepEqual(groupCalls.map((c) => c.args), [
        [GROUP, [BOB, '15550004444@s.whatsapp.net'], 'promote'],
        [GROUP, [CAROL], 'demote'],
      ]);
    });
  });

  describe('errors', () => {
    it('maps a closed connection to a retriable m_network_error', async () => {
      fake.failNextSend(new Boom('Connection Closed', { statusCode: 428 }));
      await rejectsWith(sendMatrixMessage(ctx, message(DM, { msgtype: 'm.text', text: plainText('x') })), 'm_network_error', 'retriable');
    });

    it('maps not-authorized and forbidden server errors to m_no_permission', async () => {
      fake.failNextSend(new Boom('not-authorized', { data: 401 }));
      await rejectsWith(sendMatrixMessage(ctx, message(GROUP_PORTAL, { msgtype: 'm.text', text: plainText('x') })), 'm_no_permission', 'fail');
      assert.equal(waErrorToBridgeError(new Boom('forbidden', { data: 403 }), 'x').reason, 'm_no_permission');
      assert.equal(waErrorToBridgeError(new Boom('item-not-found', { data: 404 }), 'x').reason, 'm_not_found');
      assert.equal(waErrorToBridgeError(new Boom('rate-overlimit', { data: 429 }), 'x').reason, 'm_rate_limited');
      assert.equal(waErrorToBridgeError(new Boom('Timed Out', { statusCode: 408 }), 'x').reason, 'm_timeout');
      const unknown = waErrorToBridgeError(new Error('boom'), 'x');
      assert.equal(unknown.reason, 'm_unknown');
      assert.equal(unknown.status, 'retriable');
    });

    it('passes the socket\'s own BridgeError through when there is no connection', async () => {
      const offline: WAMatrixContext = {
        ...ctx,
        socket: () => {
          throw new BridgeError('not connected', { reason: 'm_network_error', status: 'retriable' });
        },
      };
      await rejectsWith(sendMatrixMessage(offline, message(DM, { msgtype: 'm.text', text: plainText('x') })), 'm_network_error', 'retriable');
      await rejectsWith(sendMatrixTyping(offline, { portal: DM, roomId: '!r:x', sender: '@a:x', typing: true }), 'm_network_error');
    });
  });
});
