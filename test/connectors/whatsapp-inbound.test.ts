/**
 * WhatsApp -> Matrix through the real event handler and converters, driven by the fake port built
 * from Baileys' own pieces (its event buffer, real protos, real media encryption on a local server).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { proto, type WAMessage } from 'baileys';
import type { ConvertedMessage, RemoteEvent, UserLoginHandle } from '../../shared/src/network/index.js';
import { partId } from '../../shared/src/network/index.js';
import type { FormattedText } from '../../shared/src/matrix/format/index.js';
import { WAEventHandler, TYPING_TIMEOUT_MS } from '../../bridges/whatsapp/src/connector/handle-whatsapp.js';
import type { LidResolver } from '../../bridges/whatsapp/src/connector/ids.js';
import { VIEW_ONCE_NOTICE } from '../../bridges/whatsapp/src/msgconv/to-matrix.js';
import { RecordingLogin, recordingConvertContext } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const ME_DIGITS = '15550001111';
const ME = `${ME_DIGITS}@s.whatsapp.net`;
const BOB = '15550002222@s.whatsapp.net';
const CAROL = '15550003333@s.whatsapp.net';
const DAVE_PN = '15550005555@s.whatsapp.net';
const DAVE_LID = '777000111@lid';
const GROUP = '120363000000000001@g.us';
const PROTOCOL = proto.Message.ProtocolMessage.Type;


type TestContent = { msgtype?: string; body?: string; entities?: FormattedText['entities']; [k: string]: unknown };

describe('whatsapp inbound: Baileys events -> RemoteEvents -> Matrix content', function () {
  this.timeout(20_000);
  let fake: FakeWAPort;
  let login: RecordingLogin;
  let handler: WAEventHandler;
  let lidMap: Map<string, string>;
  let contacts: Array<[string, string]>;
  let mappings: Array<{ lid: string; pn: string }>;

  const setup = async (statusBroadcast = false) => {
    fake = await createFakeWAPort({ me: ME, emitOwnEvents: false });
    login = new RecordingLogin(ME_DIGITS as UserLoginHandle['id'], 'Alice');
    lidMap = new Map();
    contacts = [];
    mappings = [];
    const lids: LidResolver = { pnForLid: async (lid) => lidMap.get(lid) };
    handler = new WAEventHandler(login, lids, {
      statusBroadcast,
      onContact: (jid, name) => contacts.push([jid, name]),
      onLidMapping: (pairs) => mappings.push(...pairs),
    });
    handler.attach(fake.port);
  };
  beforeEach(() => setup());
  afterEach(async () => {
    handler.detach();
    await fake.close();
  });

  /** Emits a message and returns what was queued for it. */
  async function receive(msg: WAMessage, type: 'notify' | 'append' = 'notify'): Promise<RemoteEvent[]> {
    const before = login.queued.length;
    fake.emitIncoming(msg, type);
    await handler.idle();
    return login.queued.slice(before);
  }
  async function emitted(fn: () => void): Promise<RemoteEvent[]> {
    const before = login.queued.length;
    fn();
    await handler.idle();
    return login.queued.slice(before);
  }
  function only<T extends RemoteEvent['type']>(evts: RemoteEvent[], type: T): Extract<RemoteEvent, { type: T }> {
    assert.equal(evts.length, 1, `expected one event, got ${evts.map((e) => e.type).join(', ')}`);
    const e = evts[0]!;
    assert.equal(e.type, type);
    return e as Extract<RemoteEvent, { type: T }>;
  }
  async function convert(msg: WAMessage, isDm = true): Promise<{ out: ConvertedMessage; ctx: ReturnType<typeof recordingConvertContext> }> {
    const e = only(await receive(msg), 'message');
    const ctx = recordingConvertContext(e.portal, isDm);
    return { out: await e.convert(ctx), ctx };
  }
  const content = (out: ConvertedMessage, i = 0) => out.parts[i]!.content as TestContent;

  it('text with formatting and a mention: ids, sender, timestamp, entities with RemoteUserIds', async () => {
    const msg = fake.makeIncoming({
      extendedTextMessage: { text: 'hi *bold* @15550003333', contextInfo: { mentionedJid: [CAROL] } },
    }, { from: BOB, id: 'TXT1', timestamp: 1_700_000_000 });
    const e = only(await receive(msg), 'message');
    assert.deepEqual(e.portal, { id: BOB, receiver: ME_DIGITS });
    assert.equal(e.id, `${BOB}/15550002222/TXT1`);
    assert.deepEqual(e.sender, { user: '15550002222', isFromMe: false });
    assert.equal(e.timestamp, 1_700_000_000_000);
    const out = await e.convert(recordingConvertContext(e.portal, true));
    const c = content(out);
    assert.equal(c.msgtype, 'm.text');
    assert.equal(c.body, 'hi bold @15550003333');
    assert.deepEqual(c.entities?.find((x) => x.type === 'bold'), { type: 'bold', offset: 3, length: 4 });
    assert.deepEqual(c.entities?.find((x) => x.type === 'mention'), { type: 'mention', offset: 8, length: 12, userId: '15550003333' });
    assert.equal(out.replyTo, undefined);
  });

  it('own messages from the phone are from the login; echoes of our own edits/reactions are dropped', async () => {
    const msg = fake.makeIncoming({ conversation: 'from my phone' }, { from: BOB, fromMe: true, id: 'MINE1' });
    const e = only(await receive(msg, 'append'), 'message');
    assert.deepEqual(e.sender, { user: ME_DIGITS, isFromMe: true, login: ME_DIGITS });
    assert.equal(e.id, `${BOB}/${ME_DIGITS}/MINE1`);
    // What the Matrix side sends comes back as an 'append' upsert (emitOwnEvents).
    const echo = await fake.port.sendMessage(BOB, { react: { text: '👍', key: msg.key } });
    handler.noteOwnSend(echo!.key.id!);
    assert.deepEqual(await receive(echo!, 'append'), []);
    const fromPhone = await fake.port.sendMessage(BOB, { react: { text: '🎉', key: msg.key } });
    const r = only(await receive(fromPhone!, 'append'), 'reaction');
    assert.deepEqual(r.sender, { user: ME_DIGITS, isFromMe: true, login: ME_DIGITS });
    assert.equal(r.target, `${BOB}/${ME_DIGITS}/MINE1`);
  });

  it('reply: contextInfo stanzaId + participant -> replyTo in the same portal', async () => {
    const msg = fake.makeIncoming({
      extendedTextMessage: { text: 'answer', contextInfo: { stanzaId: 'Q1', participant: ME, quotedMessage: { conversation: 'q?' } } },
    }, { from: BOB });
    const { out } = await convert(msg);
    assert.deepEqual(out.replyTo, { messageId: `${BOB}/${ME_DIGITS}/Q1` });
    const inGroup = fake.makeIncoming({
      extendedTextMessage: { text: 'yes', contextInfo: { stanzaId: 'Q2', participant: CAROL } },
    }, { from: BOB, chat: GROUP });
    const g = await convert(inGroup, false);
    assert.deepEqual(g.out.replyTo, { messageId: `${GROUP}/15550003333/Q2` });
  });

  it('edit: protocolMessage MESSAGE_EDIT -> RemoteEdit; the same edit through messages.update is not doubled', async () => {
    const editMsg = fake.makeIncoming({
      protocolMessage: { type: PROTOCOL.MESSAGE_EDIT, key: { remoteJid: BOB, fromMe: true, id: 'E1' }, editedMessage: { conversation: 'fixed *now*' }, timestampMs: 1_700_000_005_000 },
    }, { from: BOB });
    const e = only(await receive(editMsg), 'edit');
    assert.equal(e.target, `${BOB}/15550002222/E1`);
    assert.equal(e.timestamp, 1_700_000_005_000);
    const edit = await e.convert(recordingConvertContext(e.portal, true), [partId('')]);
    assert.equal(edit.modifiedParts.length, 1);
    assert.equal(edit.modifiedParts[0]!.partId, '');
    assert.equal((edit.modifiedParts[0]!.content as TestContent).body, 'fixed now');
    // Baileys also emits messages.update for it (processMessage).
    const dup = await emitted(() => fake.ev.emit('messages.update', [{
      key: { remoteJid: BOB, fromMe: false, id: 'E1' },
      update: { message: { editedMessage: { message: { conversation: 'fixed *now*' } } }, messageTimestamp: 1_700_000_005 },
    }]));
    assert.deepEqual(dup, []);
    // An edit seen only through messages.update is bridged.
    const other = only(await emitted(() => fake.ev.emit('messages.update', [{
      key: { remoteJid: BOB, fromMe: false, id: 'E2' },
      update: { message: { editedMessage: { message: { conversation: 'second' } } }, messageTimestamp: 1_700_000_009 },
    }])), 'edit');
    assert.equal(other.target, `${BOB}/15550002222/E2`);
  });

  it('delete: protocolMessage REVOKE and messages.update REVOKE -> RemoteMessageRemove', async () => {
    const revoke = fake.makeIncoming({ protocolMessage: { type: PROTOCOL.REVOKE, key: { remoteJid: BOB, fromMe: true, id: 'D1' } } }, { from: BOB });
    const e = only(await receive(revoke), 'message_remove');
    assert.equal(e.target, `${BOB}/15550002222/D1`);
    // An admin deleting someone else's group message: the target's sender is in the protocol key.
    const adminDel = fake.makeIncoming({
      protocolMessage: { type: PROTOCOL.REVOKE, key: { remoteJid: GROUP, fromMe: false, id: 'D2', participant: CAROL } },
    }, { from: BOB, chat: GROUP });
    const byAdmin = only(await receive(adminDel), 'message_remove');
    assert.equal(byAdmin.target, `${GROUP}/15550003333/D2`);
    assert.equal(byAdmin.sender.user, '15550002222');
    const viaUpdate = only(await emitted(() => fake.ev.emit('messages.update', [{
      key: { remoteJid: BOB, fromMe: false, id: 'D3' },
      update: { message: null, messageStubType: proto.WebMessageInfo.StubType.REVOKE },
    }])), 'message_remove');
    assert.equal(viaUpdate.target, `${BOB}/15550002222/D3`);
  });

  it('reactions: add, replace (one per user), remove; messages.reaction in a group', async () => {
    const react = (text: string, ts: number) => fake.makeIncoming({
      reactionMessage: { key: { remoteJid: BOB, fromMe: true, id: 'R1' }, text, senderTimestampMs: ts },
    }, { from: BOB });
    const add = only(await receive(react('👍', 1000)), 'reaction');
    assert.equal(add.target, `${BOB}/${ME_DIGITS}/R1`);
    assert.equal(add.emoji, '👍');
    assert.equal(add.emojiId, '👍');
    assert.equal(add.replacesOthers, true);
    assert.equal(add.sender.user, '15550002222');
    const replace = only(await receive(react('❤️', 2000)), 'reaction');
    assert.equal(replace.emoji, '❤️');
    assert.equal(replace.replacesOthers, true);
    const remove = only(await receive(react('', 3000)), 'reaction_remove');
    assert.equal(remove.target, `${BOB}/${ME_DIGITS}/R1`);
    assert.equal(remove.emojiId, undefined);

    const viaEvent = only(await emitted(() => fake.ev.emit('messages.reaction', [{
      key: { remoteJid: GROUP, fromMe: false, id: 'R2', participant: CAROL },
      reaction: { text: '😂', key: { remoteJid: GROUP, fromMe: false, id: 'RX', participant: BOB }, senderTimestampMs: 4000 },
    }])), 'reaction');
    assert.deepEqual(viaEvent.portal, { id: GROUP, receiver: '' });
    assert.equal(viaEvent.target, `${GROUP}/15550003333/R2`);
    assert.equal(viaEvent.sender.user, '15550002222');
  });

  it('a reaction folded into its message by the event buffer is bridged after the message', async () => {
    const msg = fake.makeIncoming({ conversation: 'buffered' }, { from: BOB, id: 'BUF1' });
    const evts = await emitted(() => {
      fake.ev.buffer();
      fake.emitIncoming(msg);
      fake.ev.emit('messages.reaction', [{
        key: { remoteJid: BOB, fromMe: false, id: 'BUF1' },
        reaction: { text: '🔥', key: { remoteJid: BOB, fromMe: true, id: 'RB1' }, senderTimestampMs: 5000 },
      }]);
      fake.ev.flush();
    });
    assert.deepEqual(evts.map((e) => e.type), ['message', 'reaction']);
    const r = evts[1]!;
    assert.ok(r.type === 'reaction');
    assert.equal(r.target, `${BOB}/15550002222/BUF1`);
    assert.equal(r.sender.user, ME_DIGITS);
  });

  it('image: the uploaded bytes are the decrypted original; caption becomes the body', async () => {
    const bytes = randomBytes(5000);
    const msg = await fake.makeIncomingMedia('image', bytes, { from: BOB, mimetype: 'image/png', caption: 'a *pic*' });
    const { out, ctx } = await convert(msg);
    assert.equal(ctx.uploads.length, 1);
    assert.ok(ctx.uploads[0]!.bytes.equals(bytes));
    assert.equal(ctx.uploads[0]!.mimetype, 'image/png');
    const c = content(out);
    assert.equal(c.msgtype, 'm.image');
    assert.equal(c.body, 'a pic');
    assert.equal(c.url, 'mxc://example.org/1');
    assert.equal((c.info as { size: number }).size, 5000);
  });

  it('expired media (410): asks the phone to re-upload and downloads again', async () => {
    const bytes = randomBytes(2000);
    const msg = await fake.makeIncomingMedia('video', bytes, { from: BOB, mimetype: 'video/mp4' });
    fake.mediaServer.expire(msg.message!.videoMessage!.url!);
    const { out, ctx } = await convert(msg);
    assert.ok(ctx.uploads[0]!.bytes.equals(bytes));
    assert.equal(fake.calls.filter((c) => c.method === 'updateMediaMessage').length, 1);
    assert.equal(content(out).msgtype, 'm.video');
  });

  it('GIF: a gifPlayback video is m.video flagged net.tributary.gif', async () => {
    const msg = await fake.makeIncomingMedia('video', randomBytes(300), { from: BOB, mimetype: 'video/mp4' });
    msg.message!.videoMessage!.gifPlayback = true;
    const { out } = await convert(msg);
    assert.equal(content(out).msgtype, 'm.video');
    assert.equal(content(out)['net.tributary.gif'], true);
  });

  it('voice note: MSC3245 voice with waveform and duration', async () => {
    const msg = await fake.makeIncomingMedia('audio', randomBytes(800), { from: BOB, ptt: true, mimetype: 'audio/ogg; codecs=opus' });
    msg.message!.audioMessage!.waveform = Uint8Array.from([0, 50, 100]);
    msg.message!.audioMessage!.seconds = 7;
    const { out, ctx } = await convert(msg);
    const c = content(out);
    assert.equal(c.msgtype, 'm.audio');
    assert.deepEqual(c['org.matrix.msc3245.voice'], {});
    assert.deepEqual(c['org.matrix.msc1767.audio'], { duration: 7000, waveform: [0, 512, 1024] });
    assert.equal((c.info as { duration: number }).duration, 7000);
    assert.equal(ctx.uploads[0]!.mimetype, 'audio/ogg');
  });

  it('document with caption (documentWithCaptionMessage wrapper)', async () => {
    const bytes = Buffer.from('%PDF-1.4 fake');
    const inner = await fake.makeIncomingMedia('document', bytes, { from: BOB, mimetype: 'application/pdf', fileName: 'report.pdf', caption: 'the report' });
    const msg = fake.makeIncoming({ documentWithCaptionMessage: { message: inner.message } }, { from: BOB });
    const { out, ctx } = await convert(msg);
    const c = content(out);
    assert.equal(c.msgtype, 'm.file');
    assert.equal(c.filename, 'report.pdf');
    assert.equal(c.body, 'the report');
    assert.ok(ctx.uploads[0]!.bytes.equals(bytes));
    assert.equal(ctx.uploads[0]!.filename, 'report.pdf');
  });

  it('sticker: m.sticker event', async () => {
    const msg = await fake.makeIncomingMedia('sticker', randomBytes(400), { from: BOB, mimetype: 'image/webp' });
    const { out } = await convert(msg);
    assert.equal(out.parts[0]!.type, 'm.sticker');
    assert.equal(content(out).url, 'mxc://example.org/1');
    assert.equal((content(out).info as { mimetype: string }).mimetype, 'image/webp');
  });

  it('location and live location -> m.location with geo: URI', async () => {
    const loc = await convert(fake.makeIncoming({ locationMessage: { degreesLatitude: 52.52, degreesLongitude: 13.405, name: 'Berlin' } }, { from: BOB }));
    assert.equal(content(loc.out).msgtype, 'm.location');
    assert.equal(content(loc.out).geo_uri, 'geo:52.52,13.405');
    assert.equal(content(loc.out).body, 'Berlin');
    const live = await convert(fake.makeIncoming({ liveLocationMessage: { degreesLatitude: -33.8688, degreesLongitude: 151.2093 } }, { from: BOB }));
    assert.equal(content(live.out).geo_uri, 'geo:-33.8688,151.2093');
    assert.match(content(live.out).body ?? '', /^Live location/);
    assert.equal(content(live.out)['net.tributary.live_location'], true);
  });

  it('contact card -> text summary plus the .vcf file', async () => {
    const vcard = 'BEGIN:VCARD\nVERSION:3.0\nFN:Carol Example\nTEL;type=CELL;waid=15550003333:+1 555 000 3333\nEND:VCARD';
    const { out, ctx } = await convert(fake.makeIncoming({ contactMessage: { displayName: 'Carol', vcard } }, { from: BOB }));
    assert.equal(out.parts.length, 2);
    assert.equal(content(out).body, 'Contact: Carol Example: +1 555 000 3333');
    assert.equal(content(out, 1).msgtype, 'm.file');
    assert.equal(content(out, 1).filename, 'Carol Example.vcf');
    assert.equal(out.parts[1]!.id, 'vcf');
    assert.equal(ctx.uploads[0]!.bytes.toString('utf8'), vcard);
    assert.equal(ctx.uploads[0]!.mimetype, 'text/vcard');
  });

  it('poll -> text listing options; messageSecret kept in part metadata', async () => {
    const secret = randomBytes(32);
    const msg = fake.makeIncoming({
      pollCreationMessageV3: { name: 'Lunch?', options: [{ optionName: 'Pizza' }, { optionName: 'Sushi' }], selectableOptionsCount: 1 },
      messageContextInfo: { messageSecret: secret },
    }, { from: BOB });
    const { out } = await convert(msg);
    assert.equal(content(out).body, 'Poll: Lunch?\n1. Pizza\n2. Sushi\n(vote on your phone)');
    assert.deepEqual(out.parts[0]!.metadata, { poll: { name: 'Lunch?', options: ['Pizza', 'Sushi'], selectableCount: 1, messageSecret: secret.toString('base64') } });
  });

  it('view-once -> a notice, nothing downloaded', async () => {
    const media = await fake.makeIncomingMedia('image', randomBytes(100), { from: BOB });
    media.message!.imageMessage!.viewOnce = true;
    const msg = fake.makeIncoming({ viewOnceMessageV2: { message: media.message } }, { from: BOB });
    const { out, ctx } = await convert(msg);
    assert.deepEqual(content(out), { msgtype: 'm.notice', body: VIEW_ONCE_NOTICE });
    assert.equal(ctx.uploads.length, 0);
  });

  it('forwarded, link preview and a disappearing wrapper', async () => {
    const msg = fake.makeIncoming({
      ephemeralMessage: {
        message: {
          extendedTextMessage: {
            text: 'see https://example.com/a', matchedText: 'https://example.com/a', title: 'Example', description: 'An example page',
            contextInfo: { isForwarded: true, forwardingScore: 1, expiration: 86_400 },
          },
        },
      },
    }, { from: BOB });
    const { out } = await convert(msg);
    const c = content(out);
    assert.equal(c.body, '↷ Forwarded\nsee https://example.com/a');
    assert.deepEqual(c.entities?.[0], { type: 'italic', offset: 0, length: '↷ Forwarded'.length });
    assert.deepEqual(c['com.beeper.linkpreviews'], [{
      matched_url: 'https://example.com/a', 'og:url': 'https://example.com/a', 'og:title': 'Example', 'og:description': 'An example page',
    }]);
    assert.deepEqual(out.disappear, { type: 'after_send', timerMs: 86_400_000 });
  });

  it('group participants: add, promote (PL 50), remove by an admin (kick); being added resyncs', async () => {
    const emit = (action: 'add' | 'remove' | 'promote' | 'demote', who: string) => emitted(() =>
      fake.ev.emit('group-participants.update', { id: GROUP, author: BOB, participants: [{ id: who }], action }));
    const add = only(await emit('add', CAROL), 'chat_info_change');
    assert.deepEqual(add.portal, { id: GROUP, receiver: '' });
    assert.equal(add.sender.user, '15550002222');
    assert.deepEqual(add.change.members?.added, [{ user: '15550003333', membership: 'join' }]);
    const promote = only(await emit('promote', CAROL), 'chat_info_change');
    assert.deepEqual(promote.change.members?.changed, [{ user: '15550003333', membership: 'join', powerLevel: 50 }]);
    const demote = only(await emit('demote', CAROL), 'chat_info_change');
    assert.equal(demote.change.members?.changed?.[0]?.powerLevel, 0);
    const remove = only(await emit('remove', CAROL), 'chat_info_change');
    assert.deepEqual(remove.change.members?.removed, [{ user: '15550003333', kicked: true, by: '15550002222' }]);
    const me = only(await emit('add', ME), 'chat_resync');
    assert.equal(me.createPortal, true);
  });

  it('group subject and description -> name and topic', async () => {
    const e = only(await emitted(() => fake.ev.emit('groups.update', [{ id: GROUP, subject: 'New name', desc: 'New topic', author: CAROL }])), 'chat_info_change');
    assert.deepEqual(e.change, { name: 'New name', topic: 'New topic' });
    assert.equal(e.sender.user, '15550003333');
  });

  it('presence: composing/paused -> typing; available -> login presence', async () => {
    const p = (state: 'composing' | 'paused' | 'available') => emitted(() =>
      fake.ev.emit('presence.update', { id: BOB, presences: { [BOB]: { lastKnownPresence: state } } }));
    const typing = only(await p('composing'), 'typing');
    assert.equal(typing.timeoutMs, TYPING_TIMEOUT_MS);
    assert.deepEqual(typing.portal, { id: BOB, receiver: ME_DIGITS });
    assert.equal(only(await p('paused'), 'typing').timeoutMs, 0);
    assert.deepEqual(await p('available'), []);
    assert.deepEqual(login.presence, [{ user: '15550002222', presence: 'online' }]);
  });

  it('receipts: DM status READ -> the other person read; group receipt per user', async () => {
    const dm = only(await emitted(() => fake.ev.emit('messages.update', [{
      key: { remoteJid: BOB, fromMe: true, id: 'OUT1' }, update: { status: proto.WebMessageInfo.Status.READ },
    }])), 'read_receipt');
    assert.equal(dm.target, `${BOB}/${ME_DIGITS}/OUT1`);
    assert.equal(dm.sender.user, '15550002222');
    const group = await emitted(() => fake.ev.emit('message-receipt.update', [
      { key: { remoteJid: GROUP, fromMe: true, id: 'OUT2' }, receipt: { userJid: BOB, readTimestamp: 1_700_000_100 } },
      { key: { remoteJid: GROUP, fromMe: true, id: 'OUT2' }, receipt: { userJid: CAROL, receiptTimestamp: 1_700_000_050 } },
    ]));
    assert.deepEqual(group.map((e) => [e.type, e.sender?.user]), [['read_receipt', '15550002222'], ['delivery_receipt', '15550003333']]);
    assert.equal(group[0]!.type === 'read_receipt' && group[0]!.target, `${GROUP}/${ME_DIGITS}/OUT2`);
  });

  it('history set -> one backfill per chat, oldest first; mappings and contacts reported', async () => {
    const at = (chat: string, id: string, ts: number, text: string, from = BOB) => fake.makeIncoming({ conversation: text }, { chat, from, id, timestamp: ts });
    const messages = [ // newest first, as Baileys delivers history
      at(GROUP, 'G2', 300, 'g-second', CAROL), at(BOB, 'B3', 250, 'third'), at(BOB, 'B2', 200, 'second'),
      fake.makeIncoming({ protocolMessage: { type: PROTOCOL.REVOKE, key: { id: 'x' } } }, { from: BOB, id: 'P1', timestamp: 150 }),
      at(GROUP, 'G1', 120, 'g-first', DAVE_LID), at(BOB, 'B1', 100, 'first'),
    ];
    const evts = await emitted(() => fake.ev.emit('messaging-history.set', {
      chats: [], contacts: [{ id: CAROL, notify: 'Carol' }], messages,
      lidPnMappings: [{ lid: DAVE_LID, pn: DAVE_PN }], isLatest: true,
    }));
    assert.equal(evts.length, 2);
    const byChat = Object.fromEntries(evts.map((e) => {
      assert.equal(e.type, 'backfill');
      return [e.portal.id, e.type === 'backfill' ? e.messages : []];
    }));
    assert.deepEqual(byChat[BOB]!.map((m) => m.id), [`${BOB}/15550002222/B1`, `${BOB}/15550002222/B2`, `${BOB}/15550002222/B3`]);
    assert.deepEqual(byChat[BOB]!.map((m) => m.timestamp), [100_000, 200_000, 250_000]);
    // The history's own LID mapping resolves Dave's LID sender to his phone number.
    assert.deepEqual(byChat[GROUP]!.map((m) => m.id), [`${GROUP}/15550005555/G1`, `${GROUP}/15550003333/G2`]);
    const first = await byChat[BOB]![0]!.convert(recordingConvertContext(evts[0]!.portal, true));
    assert.equal(content(first).body, 'first');
    assert.deepEqual(mappings, [{ lid: DAVE_LID, pn: DAVE_PN }]);
    assert.deepEqual(contacts, [[CAROL, 'Carol']]);
  });

  it('LID senders: known mapping -> phone ghost; participantAlt learns it; unknown -> lid- id', async () => {
    lidMap.set(DAVE_LID, DAVE_PN);
    const known = only(await receive(fake.makeIncoming({ conversation: 'hi' }, { chat: GROUP, from: DAVE_LID, id: 'L1' })), 'message');
    assert.equal(known.sender.user, '15550005555');
    assert.equal(known.id, `${GROUP}/15550005555/L1`);
    const unknown = only(await receive(fake.makeIncoming({ conversation: 'hi' }, { chat: GROUP, from: '888000222@lid', id: 'L2' })), 'message');
    assert.equal(unknown.sender.user, 'lid-888000222');
    const withAlt = fake.makeIncoming({ conversation: 'hi' }, { chat: GROUP, from: '999000333@lid', id: 'L3' });
    withAlt.key.participantAlt = '15550006666@s.whatsapp.net';
    assert.equal(only(await receive(withAlt), 'message').sender.user, '15550006666');
    assert.deepEqual(mappings, [{ lid: '999000333@lid', pn: '15550006666@s.whatsapp.net' }]);
    // A DM addressed by LID lands in the phone-number portal once lid-mapping.update told us.
    await emitted(() => fake.ev.emit('lid-mapping.update', { lid: '444000555@lid', pn: '15550007777@s.whatsapp.net' }));
    const dm = only(await receive(fake.makeIncoming({ conversation: 'hey' }, { from: '444000555@lid', id: 'L4' })), 'message');
    assert.deepEqual(dm.portal, { id: '15550007777@s.whatsapp.net', receiver: ME_DIGITS });
    assert.equal(dm.sender.user, '15550007777');
  });

  it('status broadcast is ignored by default and bridged when enabled', async () => {
    const story = () => {
      const m = fake.makeIncoming({ conversation: 'my story' }, { chat: 'status@broadcast', from: BOB, id: 'S1' });
      m.key.participant = BOB;
      return m;
    };
    assert.deepEqual(await receive(story()), []);
    handler.detach();
    await fake.close();
    await setup(true);
    const e = only(await receive(story()), 'message');
    assert.deepEqual(e.portal, { id: 'status@broadcast', receiver: ME_DIGITS });
    assert.equal(e.sender.user, '15550002222');
  });

  it('skips protocol-only and sender-key-only messages; new chats resync with createPortal; events stay in order', async () => {
    assert.deepEqual(await receive(fake.makeIncoming({ senderKeyDistributionMessage: { groupId: GROUP } }, { chat: GROUP, from: BOB })), []);
    assert.deepEqual(await receive(fake.makeIncoming({ protocolMessage: { type: PROTOCOL.HISTORY_SYNC_NOTIFICATION } }, { from: BOB })), []);
    const chat = only(await emitted(() => fake.ev.emit('chats.upsert', [{ id: CAROL, conversationTimestamp: 1_700_000_000 }])), 'chat_resync');
    assert.equal(chat.createPortal, true);
    assert.deepEqual(chat.portal, { id: CAROL, receiver: ME_DIGITS });
    const evts = await emitted(() => {
      for (let i = 0; i < 20; i++) fake.emitIncoming(fake.makeIncoming({ conversation: `n${i}` }, { from: i % 2 ? BOB : DAVE_LID, id: `O${i}` }));
    });
    assert.deepEqual(evts.map((e) => (e.type === 'message' ? e.id.split('/')[2] : e.type)), Array.from({ length: 20 }, (_, i) => `O${i}`));
  });
});
