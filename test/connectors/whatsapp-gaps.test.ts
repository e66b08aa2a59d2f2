/**
 * Gaps closed against mautrix-whatsapp, through the real connector (WhatsAppAPI on a migrated
 * SQLite database) and the fake port built from Baileys' pieces: disappearing timers on sends from
 * Matrix, undecryptable messages, calls, media limits, link previews from Matrix, Lottie stickers
 * and the edit/delete windows.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { proto, type GroupMetadata, type WAMessage } from 'baileys';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import {
  BridgeError, messageId, partId, portalKey, userLoginId,
  type BridgeHandle, type MatrixMedia, type MatrixMessage, type PortalKey, type RemoteEvent, type RemoteUserId,
} from '../../shared/src/network/index.js';
import { useSqlAuthState } from '../../bridges/whatsapp/src/db/auth-state.js';
import { WHATSAPP_SECTION, whatsappMigrations } from '../../bridges/whatsapp/src/db/migrations.js';
import { WhatsAppConnector, whatsappConfigSchema, type WhatsAppConfig } from '../../bridges/whatsapp/src/connector/connector.js';
import type { WhatsAppAPI } from '../../bridges/whatsapp/src/connector/wa-api.js';
import { makeMessageId } from '../../bridges/whatsapp/src/connector/ids.js';
import { UNDECRYPTABLE_NOTICE } from '../../bridges/whatsapp/src/connector/handle-whatsapp-messages.js';
import {
  INCOMING_CALL_NOTICE, INCOMING_VIDEO_CALL_NOTICE, MISSED_CALL_NOTICE, MISSED_VIDEO_CALL_NOTICE,
} from '../../bridges/whatsapp/src/connector/handle-whatsapp-calls.js';
import { WA_DELETE_WINDOW_MS, WA_EDIT_WINDOW_MS } from '../../bridges/whatsapp/src/connector/handle-matrix.js';
import { WA_MEDIA_LIMITS } from '../../bridges/whatsapp/src/msgconv/from-matrix-media.js';
import { LOTTIE_STICKER_NOTICE } from '../../bridges/whatsapp/src/msgconv/wa-media.js';
import { RecordingLogin, recordingConvertContext } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const log = pino({ level: 'silent' });
const ME_DIGITS = '15550001111';
const ME = `${ME_DIGITS}@s.whatsapp.net`;
const BOB_USER = '15550002222';
const BOB = `${BOB_USER}@s.whatsapp.net`;
const CAROL = '15550003333@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';
const DM = portalKey(BOB, ME_DIGITS);
const GROUP_PORTAL = portalKey(GROUP, '');
const WEEK = 7 * 24 * 3600;
const PROTOCOL = proto.Message.ProtocolMessage.Type;
const MIB = 1024 * 1024;

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never happened: ${what}`);
}

function group(ephemeralDuration?: number): GroupMetadata {
  return {
    id: GROUP, subject: 'Team', owner: BOB, participants: [{ id: ME, admin: null }, { id: BOB, admin: 'superadmin' }],
    ...(ephemeralDuration !== undefined ? { ephemeralDuration } : {}),
  } as GroupMetadata;
}

let seq = 0;
function textMessage(portal: PortalKey, text: string, content: Record<string, unknown> = {}): MatrixMessage {
  seq++;
  return {
    portal, roomId: '!room:example.org', eventId: `$ev${seq}`, sender: '@alice:example.org', timestamp: Date.now(),
    txnId: `txn-gaps-${seq}-${Date.now()}`, msgtype: 'm.text', text: { text, entities: [] }, content: { body: text, ...content },
  };
}

function mediaMessage(portal: PortalKey, kind: MatrixMedia['kind'], mimetype: string, size: number): MatrixMessage {
  seq++;
  const media: MatrixMedia = { kind, mimetype, size, filename: 'f', open: async () => Readable.from([Buffer.from('tiny')]) };
  return {
    portal, roomId: '!room:example.org', eventId: `$ev${seq}`, sender: '@alice:example.org', timestamp: Date.now(),
    txnId: `txn-gaps-${seq}`, msgtype: kind === 'file' ? 'm.file' : 'm.image', media, content: {},
  };
}

/** The contextInfo of the sent message's content, whatever its kind. */
function contextOf(m: WAMessage): proto.IContextInfo | undefined {
  const content = m.message ?? {};
  for (const v of Object.values(content)) {
    if (v && typeof v === 'object' && 'contextInfo' in v) return (v as { contextInfo?: proto.IContextInfo }).contextInfo ?? undefined;
  }
  return undefined;
}

async function rejectsWith(p: Promise<unknown>, reason: string): Promise<BridgeError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof BridgeError, `expected a BridgeError, got ${String(caught)}`);
  assert.equal(caught.reason, reason);
  return caught;
}

describe('whatsapp gaps against mautrix-whatsapp', function () {
  this.timeout(20_000);
  let db: Database;
  let fake: FakeWAPort;
  let login: RecordingLogin;
  let api: WhatsAppAPI;

  beforeEach(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations);
    const config: WhatsAppConfig = whatsappConfigSchema.parse({});
    fake = await createFakeWAPort({ me: ME, emitOwnEvents: false });
    let made = 0;
    const connector = new WhatsAppConnector({ makeSocket: () => (made++, fake.port) });
    const bridge: BridgeHandle<WhatsAppConfig> = {
      networkConfig: config, log, serverName: 'example.org', db,
      ghostUserId: (u: RemoteUserId) => `@whatsapp_${u}:example.org`, getLogin: () => undefined,
    };
    connector.init(bridge);
    await db.users.getOrCreate('@alice:example.org');
    await db.logins.upsert({ id: userLoginId(ME_DIGITS), userMxid: '@alice:example.org', remoteName: `+${ME_DIGITS}`, spaceRoom: null, metadata: {}, createdAt: Date.now() });
    const auth = await useSqlAuthState(db, ME_DIGITS);
    auth.state.creds.me = { id: `${ME_DIGITS}:4@s.whatsapp.net`, name: 'Me' };
    await auth.saveCreds();
    login = new RecordingLogin(userLoginId(ME_DIGITS));
    api = connector.loadUserLogin(login) as WhatsAppAPI;
    api.connect();
    await until(() => made === 1, 'socket made');
    fake.ev.emit('connection.update', { connection: 'open' });
    await until(() => login.lastState() === 'CONNECTED', 'connected');
  });

  afterEach(async () => {
    await api.disconnect();
    await fake.close();
    await db.close();
  });

  /** Emits through the fake socket and returns what the connector queued. */
  async function emitted(fn: () => void): Promise<RemoteEvent[]> {
    const before = login.queued.length;
    fn();
    await api.events.idle();
    return login.queued.slice(before);
  }
  const timerSetting = (seconds: number, chat = BOB) => fake.makeIncoming({
    protocolMessage: { type: PROTOCOL.EPHEMERAL_SETTING, ephemeralExpiration: seconds },
  }, { from: chat === GROUP ? BOB : chat, chat });
  async function sendText(portal: PortalKey, text = 'hi'): Promise<WAMessage> {
    await api.handleMatrixMessage(textMessage(portal, text));
    const last = fake.sent.at(-1);
    assert.ok(last, 'something was sent');
    return last.message;
  }

  describe('disappearing timers on sends from Matrix', () => {
    it('carries the DM timer set by EPHEMERAL_SETTING, and stops once it is turned off', async () => {
      assert.equal(contextOf(await sendText(DM))?.expiration ?? 0, 0, 'no timer before one is set');
      await emitted(() => fake.emitIncoming(timerSetting(WEEK)));
      assert.equal(contextOf(await sendText(DM))?.expiration, WEEK);
      await emitted(() => fake.emitIncoming(timerSetting(0)));
      assert.equal(contextOf(await sendText(DM))?.expiration ?? 0, 0);
    });

    it('takes a group timer from its metadata and from groups.update', async () => {
      fake.groups.set(GROUP, group(86400));
      await api.getChatInfo(GROUP_PORTAL);
      assert.equal(contextOf(await sendText(GROUP_PORTAL))?.expiration, 86400);
      await emitted(() => fake.ev.emit('groups.update', [{ id: GROUP, ephemeralDuration: 0 }]));
      assert.equal(contextOf(await sendText(GROUP_PORTAL))?.expiration ?? 0, 0);
      await emitted(() => fake.ev.emit('groups.update', [{ id: GROUP, ephemeralDuration: WEEK }]));
      assert.equal(contextOf(await sendText(GROUP_PORTAL))?.expiration, WEEK);
    });

    it('takes a chat timer from a history-sync conversation', async () => {
      await emitted(() => fake.ev.emit('messaging-history.set', {
        chats: [{ id: CAROL, ephemeralExpiration: 90 * 86400, conversationTimestamp: Math.floor(Date.now() / 1000) }],
        contacts: [], messages: [], syncType: proto.HistorySync.HistorySyncType.RECENT, progress: 100,
      }));
      assert.equal(contextOf(await sendText(portalKey(CAROL, ME_DIGITS)))?.expiration, 90 * 86400);
      assert.equal(contextOf(await sendText(DM))?.expiration ?? 0, 0, 'other chats keep no timer');
    });
  });

  describe('undecryptable messages', () => {
    const stub = (id: string) => proto.WebMessageInfo.fromObject({
      key: { remoteJid: BOB, fromMe: false, id }, messageStubType: proto.WebMessageInfo.StubType.CIPHERTEXT,
      messageStubParameters: ['No session found to decrypt message'], messageTimestamp: Math.floor(Date.now() / 1000),
    }) as WAMessage;

    it('bridges a notice with the message id, then the decrypted message as an edit of it (once)', async () => {
      const [notice, ...more] = await emitted(() => fake.emitIncoming(stub('3EB0AAA1')));
      assert.equal(more.length, 0);
      assert.ok(notice?.type === 'message');
      const id = makeMessageId(BOB, BOB_USER, '3EB0AAA1');
      assert.equal(notice.id, id);
      const ctx = recordingConvertContext(DM, true);
      const converted = await notice.convert(ctx);
      assert.deepEqual(converted.parts[0]?.content, { msgtype: 'm.notice', body: UNDECRYPTABLE_NOTICE });

      const decrypted = fake.makeIncoming({ conversation: 'the real text' }, { from: BOB, id: '3EB0AAA1' });
      const [edit, ...rest] = await emitted(() => fake.emitIncoming(decrypted));
      assert.equal(rest.length, 0);
      assert.ok(edit?.type === 'edit', `expected an edit, got ${edit?.type}`);
      assert.equal(edit.target, id);
      const out = await edit.convert(ctx, [partId('')]);
      assert.equal(out.modifiedParts[0]?.partId, partId(''));
      assert.equal(out.modifiedParts[0]?.content.body, 'the real text');
      assert.equal(out.modifiedParts[0]?.content.msgtype, 'm.text');

      assert.deepEqual(await emitted(() => fake.emitIncoming(decrypted)), [], 'a second copy is not bridged again');
      assert.deepEqual(await emitted(() => fake.emitIncoming(stub('3EB0AAA1'))), [], 'nor a second stub');
    });

    it('bridges a message that was never undecryptable as a plain message', async () => {
      const [evt] = await emitted(() => fake.emitIncoming(fake.makeIncoming({ conversation: 'fine' }, { from: BOB, id: '3EB0BBB2' })));
      assert.equal(evt?.type, 'message');
    });
  });

  describe('calls', () => {
    const now = new Date();
    const call = (status: 'offer' | 'accept' | 'reject' | 'timeout', id: string, extra: Record<string, unknown> = {}) =>
      fake.ev.emit('call', [{ chatId: BOB, from: BOB, id, date: now, status, offline: false, ...extra }]);
    async function bodies(evts: RemoteEvent[]): Promise<Array<{ body: unknown; portal: string; sender: string }>> {
      const out = [];
      for (const e of evts) {
        assert.ok(e.type === 'message');
        const c = await e.convert(recordingConvertContext(e.portal, true));
        assert.equal(c.parts[0]?.content.msgtype, 'm.notice');
        out.push({ body: c.parts[0]?.content.body, portal: e.portal.id, sender: e.sender.user as string });
      }
      return out;
    }

    it('bridges an offer and, unanswered, a missed call into the DM from the caller', async () => {
      assert.deepEqual(await bodies(await emitted(() => call('offer', 'CALL1'))), [{ body: INCOMING_CALL_NOTICE, portal: BOB, sender: BOB_USER }]);
      assert.deepEqual(await bodies(await emitted(() => call('timeout', 'CALL1'))), [{ body: MISSED_CALL_NOTICE, portal: BOB, sender: BOB_USER }]);
    });

    it('says video, and no missed call once answered or declined', async () => {
      assert.deepEqual(await bodies(await emitted(() => call('offer', 'CALL2', { isVideo: true }))), [{ body: INCOMING_VIDEO_CALL_NOTICE, portal: BOB, sender: BOB_USER }]);
      assert.deepEqual(await emitted(() => call('accept', 'CALL2', { isVideo: true })), []);
      assert.deepEqual(await emitted(() => call('timeout', 'CALL2', { isVideo: true })), []);
      await emitted(() => call('offer', 'CALL3'));
      await emitted(() => call('reject', 'CALL3'));
      assert.deepEqual(await emitted(() => call('timeout', 'CALL3')), []);
      assert.deepEqual(await bodies(await emitted(() => call('timeout', 'CALL4', { isVideo: true }))), [{ body: MISSED_VIDEO_CALL_NOTICE, portal: BOB, sender: BOB_USER }]);
    });

    it('bridges a group call into the group (once, not also Baileys\' own call message)', async () => {
      const got = await emitted(() => call('offer', 'CALL5', { chatId: CAROL, from: CAROL, isGroup: true, groupJid: GROUP }));
      assert.deepEqual(await bodies(got), [{ body: INCOMING_CALL_NOTICE, portal: GROUP, sender: CAROL.split('@')[0] }]);
      const baileysOwn = fake.makeIncoming({ call: { callKey: Buffer.from('CALL5') } }, { chat: GROUP, from: CAROL, id: 'CALL5' });
      assert.deepEqual(await emitted(() => fake.emitIncoming(baileysOwn)), []);
      const missed = await emitted(() => call('timeout', 'CALL5', { chatId: CAROL, from: CAROL, isGroup: true }));
      assert.deepEqual((await bodies(missed)).map((b) => b.portal), [GROUP]);
    });
  });

  describe('media limits', () => {
    it('announces the largest kind (documents) to the core, and holds each kind to its own limit', async () => {
      assert.equal(api.getCapabilities(DM).media?.maxSize, WA_MEDIA_LIMITS.document);
      assert.equal(WA_MEDIA_LIMITS.document, 2000 * MIB);
      const before = fake.sent.length;
      await rejectsWith(api.handleMatrixMessage(mediaMessage(DM, 'image', 'image/jpeg', 20 * MIB)), 'm_too_large');
      assert.equal(fake.sent.length, before, 'nothing sent');
      // A 150 MB document is within WhatsApp's limit: the converter accepts it (the bytes are small).
      await api.handleMatrixMessage(mediaMessage(DM, 'file', 'application/pdf', 150 * MIB));
      assert.ok(fake.sent.at(-1)?.message.message?.documentMessage);
    });
  });

  describe('link previews from Matrix', () => {
    const preview = { matched_url: 'https://example.com/a', 'og:title': 'Example page', 'og:description': 'What it says', 'og:image': 'mxc://example.org/img' };

    it('sends the preview the Matrix client attached, without fetching anything', async () => {
      await api.handleMatrixMessage(textMessage(DM, 'look https://example.com/a', { 'com.beeper.linkpreviews': [preview] }));
      const ext = fake.sent.at(-1)?.message.message?.extendedTextMessage;
      assert.ok(ext);
      assert.equal(ext.text, 'look https://example.com/a');
      assert.equal(ext.matchedText, 'https://example.com/a');
      assert.equal(ext.title, 'Example page');
      assert.equal(ext.description, 'What it says');
      assert.ok(!ext.jpegThumbnail?.length, 'no thumbnail (og:image is not downloaded)');
    });

    it('ignores a preview whose URL is not in the text, and malformed previews', async () => {
      await api.handleMatrixMessage(textMessage(DM, 'no link here', { 'com.beeper.linkpreviews': [preview] }));
      assert.ok(!fake.sent.at(-1)?.message.message?.extendedTextMessage?.matchedText);
      await api.handleMatrixMessage(textMessage(DM, 'ftp://example.com/x', { 'com.beeper.linkpreviews': [{ matched_url: 'ftp://example.com/x' }, 'junk', null] }));
      assert.ok(!fake.sent.at(-1)?.message.message?.extendedTextMessage?.matchedText);
    });
  });

  describe('Lottie stickers', () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const lottie = (withThumb: boolean) => fake.makeIncoming({
      stickerMessage: {
        url: `${fake.mediaServer.url}/nothing`, mimetype: 'application/was', isLottie: true, isAnimated: true, width: 512, height: 512,
        mediaKey: Buffer.alloc(32), ...(withThumb ? { pngThumbnail: png } : {}),
      },
    }, { from: BOB });

    it('bridges the PNG thumbnail as m.sticker', async () => {
      const [evt] = await emitted(() => fake.emitIncoming(lottie(true)));
      assert.ok(evt?.type === 'message');
      const ctx = recordingConvertContext(DM, true);
      const out = await evt.convert(ctx);
      assert.equal(out.parts[0]?.type, 'm.sticker');
      assert.equal(ctx.uploads.length, 1);
      assert.deepEqual(ctx.uploads[0]?.bytes, png);
      assert.equal(ctx.uploads[0]?.mimetype, 'image/png');
      assert.equal((out.parts[0]?.content.info as { w?: number }).w, 512);
    });

    it('bridges a notice when there is no thumbnail (never drops it)', async () => {
      const [evt] = await emitted(() => fake.emitIncoming(lottie(false)));
      assert.ok(evt?.type === 'message');
      const ctx = recordingConvertContext(DM, true);
      const out = await evt.convert(ctx);
      assert.deepEqual(out.parts[0]?.content, { msgtype: 'm.notice', body: LOTTIE_STICKER_NOTICE });
      assert.equal(ctx.uploads.length, 0);
    });
  });

  describe('edit and delete windows', () => {
    const own = messageId(makeMessageId(BOB, ME_DIGITS, '3EB0CCC3'));
    const base = () => ({ portal: DM, roomId: '!room:example.org', eventId: `$w${++seq}`, sender: '@alice:example.org', timestamp: Date.now() });

    it('tells the core the windows (15 minutes, 2 days)', () => {
      const caps = api.getCapabilities(DM);
      assert.equal(caps.edits?.maxAgeMs, 15 * 60_000);
      assert.equal(caps.deletes?.maxAgeMs, 2 * 24 * 3600_000);
      assert.equal(WA_EDIT_WINDOW_MS, caps.edits?.maxAgeMs);
      assert.equal(WA_DELETE_WINDOW_MS, caps.deletes?.maxAgeMs);
    });

    it('refuses an edit older than 15 minutes with a clear error and sends nothing', async () => {
      const edit = (age: number) => api.handleMatrixEdit({
        ...base(), target: { messageId: own, partId: partId(''), editCount: 0, timestamp: Date.now() - age }, text: { text: 'fixed', entities: [] }, content: {},
      });
      const err = await rejectsWith(edit(WA_EDIT_WINDOW_MS + 60_000), 'm_too_old');
      assert.match(err.userMessage ?? '', /15 minutes/);
      assert.equal(fake.sent.length, 0);
      await edit(60_000);
      assert.equal(fake.sent.at(-1)?.message.message?.protocolMessage?.type, PROTOCOL.MESSAGE_EDIT);
    });

    it('refuses a delete older than 2 days with a clear error and sends nothing', async () => {
      const del = (age: number) => api.handleMatrixMessageRemove({ ...base(), target: { messageId: own, partId: partId(''), timestamp: Date.now() - age } });
      const err = await rejectsWith(del(WA_DELETE_WINDOW_MS + 60_000), 'm_too_old');
      assert.match(err.userMessage ?? '', /2 days/);
      assert.equal(fake.sent.length, 0);
      await del(3600_000);
      assert.equal(fake.sent.at(-1)?.message.message?.protocolMessage?.type, PROTOCOL.REVOKE);
    });
  });
});
