/**
 * The status broadcast through the real WhatsAppAPI on the fake port: off by default, when nothing
 * of `status@broadcast` is queued (statuses, their receipts and reactions, history, the chat
 * itself); on, one portal per login with statuses from their posters' ghosts, converted like any
 * message, and a room that refuses to post, react, edit or delete from Matrix.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { proto, type WAMessage } from 'baileys';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import {
  BridgeError, emojiId, partId, portalKey, userLoginId,
  type BridgeHandle, type MatrixEventBase, type RemoteEvent, type RemoteUserId,
} from '../../shared/src/network/index.js';
import { useSqlAuthState } from '../../bridges/whatsapp/src/db/auth-state.js';
import { WHATSAPP_SECTION, whatsappMigrations } from '../../bridges/whatsapp/src/db/migrations.js';
import { WhatsAppConnector, whatsappConfigSchema, type WhatsAppConfig } from '../../bridges/whatsapp/src/connector/connector.js';
import type { WhatsAppAPI } from '../../bridges/whatsapp/src/connector/wa-api.js';
import { makeMessageId } from '../../bridges/whatsapp/src/connector/ids.js';
import { STATUS_ROOM_NAME } from '../../bridges/whatsapp/src/connector/handle-whatsapp-status.js';
import { RecordingLogin, recordingConvertContext } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const log = pino({ level: 'silent' });
const ME_DIGITS = '15550001111';
const ME = `${ME_DIGITS}@s.whatsapp.net`;
const BOB = '15550002222@s.whatsapp.net';
const CAROL_LID = '777000111@lid';
const CAROL_PN = '15550003333@s.whatsapp.net';
const STATUS = 'status@broadcast';
const STATUS_PORTAL = portalKey(STATUS, ME_DIGITS);
const PROTOCOL = proto.Message.ProtocolMessage.Type;

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never happened: ${what}`);
}

/** A status as Baileys upserts it: chat status@broadcast, the poster as participant. */
function status(message: proto.IMessage, id: string, poster = BOB, extra: { fromMe?: boolean; participantAlt?: string } = {}): WAMessage {
  return proto.WebMessageInfo.fromObject({
    key: { remoteJid: STATUS, fromMe: extra.fromMe ?? false, id, participant: extra.fromMe ? ME : poster, ...(extra.participantAlt ? { participantAlt: extra.participantAlt } : {}) },
    message, messageTimestamp: 1_700_000_000, pushName: 'Bob',
  }) as WAMessage;
}

describe('whatsapp status broadcast', function () {
  this.timeout(20_000);
  let db: Database;
  let fake: FakeWAPort | undefined;
  let api: WhatsAppAPI | undefined;
  let login: RecordingLogin;

  async function connect(statusBroadcast: boolean): Promise<{ api: WhatsAppAPI; fake: FakeWAPort }> {
    const f = await createFakeWAPort({ me: ME, emitOwnEvents: false });
    fake = f;
    let made = 0;
    const connector = new WhatsAppConnector({ makeSocket: () => (made++, f.port) });
    const bridge: BridgeHandle<WhatsAppConfig> = {
      networkConfig: whatsappConfigSchema.parse(statusBroadcast ? { status_broadcast: true } : {}), log, serverName: 'example.org', db,
      ghostUserId: (u: RemoteUserId) => `@whatsapp_${u}:example.org`, getLogin: () => undefined,
    };
    connector.init(bridge);
    login = new RecordingLogin(userLoginId(ME_DIGITS));
    const a = connector.loadUserLogin(login) as WhatsAppAPI;
    api = a;
    a.connect();
    await until(() => made === 1, 'socket made');
    f.ev.emit('connection.update', { connection: 'open' });
    await until(() => login.lastState() === 'CONNECTED', 'connected');
    return { api: a, fake: f };
  }

  beforeEach(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations);
    await db.users.getOrCreate('@alice:example.org');
    await db.logins.upsert({ id: userLoginId(ME_DIGITS), userMxid: '@alice:example.org', remoteName: `+${ME_DIGITS}`, spaceRoom: null, metadata: {}, createdAt: 1 });
    const auth = await useSqlAuthState(db, ME_DIGITS);
    auth.state.creds.me = { id: `${ME_DIGITS}:4@s.whatsapp.net`, name: 'Me' };
    await auth.saveCreds();
    fake = undefined;
    api = undefined;
  });

  afterEach(async () => {
    await api?.disconnect();
    await fake?.close();
    await db.close();
  });

  async function emitted(fn: () => void): Promise<RemoteEvent[]> {
    const before = login.queued.length;
    fn();
    await new Promise((r) => setImmediate(r));
    await api!.events.idle();
    return login.queued.slice(before);
  }

  it('is off by default: statuses, their receipts, reactions, deletions, history and the chat queue nothing', async () => {
    assert.equal(whatsappConfigSchema.parse({}).status_broadcast, false);
    const { fake: f } = await connect(false);
    const text = status({ extendedTextMessage: { text: 'at the beach', backgroundArgb: 0xff25d366 } }, 'S1');
    const image = await f.makeIncomingMedia('image', Buffer.from('story-picture'), { chat: STATUS, from: BOB, id: 'S2' });
    image.key.participant = BOB;
    const evts = await emitted(() => {
      f.emitIncoming(text);
      f.emitIncoming(image);
      f.emitIncoming(status({ protocolMessage: { type: PROTOCOL.REVOKE, key: { remoteJid: STATUS, id: 'S1', participant: BOB } } }, 'S3'));
      f.ev.emit('messages.reaction', [{ key: { remoteJid: STATUS, id: 'S4', fromMe: true }, reaction: { key: { remoteJid: STATUS, participant: BOB, id: 'R1' }, text: '❤️' } }]);
      f.ev.emit('message-receipt.update', [{ key: { remoteJid: STATUS, id: 'S4', fromMe: true }, receipt: { userJid: BOB, readTimestamp: 1_700_000_100 } }]);
      f.ev.emit('messages.update', [{ key: { remoteJid: STATUS, id: 'S1', fromMe: false, participant: BOB }, update: { status: proto.WebMessageInfo.Status.READ } }]);
      f.ev.emit('chats.upsert', [{ id: STATUS, conversationTimestamp: 1_700_000_000 }]);
      f.ev.emit('messaging-history.set', { chats: [], contacts: [], messages: [status({ conversation: 'old story' }, 'H1')], isLatest: true });
      // A message in a DM goes through the same pipeline: only the statuses are dropped.
      f.emitIncoming(f.makeIncoming({ conversation: 'hi' }, { from: BOB, id: 'DM1' }));
    });
    assert.deepEqual(evts.map((e) => [e.type, e.portal.id]), [['message', BOB]]);
  });

  it('when on, bridges each status into the login\'s one status portal, from its poster, converted like any message', async () => {
    const { fake: f } = await connect(true);
    const text = await emitted(() => f.emitIncoming(status({ extendedTextMessage: { text: 'at the *beach*', backgroundArgb: 0xff25d366 } }, 'S1')));
    assert.equal(text.length, 1);
    const t = text[0]!;
    assert.equal(t.type, 'message');
    if (t.type !== 'message') return;
    assert.deepEqual(t.portal, STATUS_PORTAL);
    assert.deepEqual(t.sender, { user: '15550002222', isFromMe: false });
    assert.equal(t.id, makeMessageId(STATUS, '15550002222', 'S1'));
    const out = await t.convert(recordingConvertContext(t.portal, false));
    assert.equal((out.parts[0]!.content as { body?: string }).body, 'at the beach');

    const picture = Buffer.from('story-picture-bytes');
    const image = await f.makeIncomingMedia('image', picture, { chat: STATUS, from: CAROL_LID, id: 'S2', caption: 'sunset' });
    image.key.participant = CAROL_LID;
    image.key.participantAlt = CAROL_PN;
    const [img] = await emitted(() => f.emitIncoming(image));
    assert.ok(img?.type === 'message');
    assert.deepEqual(img.portal, STATUS_PORTAL);
    assert.equal(img.sender.user, '15550003333', 'a LID poster with a known phone number is their phone ghost');
    const ctx = recordingConvertContext(img.portal, false);
    const converted = await img.convert(ctx);
    assert.deepEqual(ctx.uploads.map((u) => u.bytes), [picture]);
    assert.ok(converted.parts.some((p) => (p.content as { msgtype?: string }).msgtype === 'm.image'));

    const [own] = await emitted(() => f.emitIncoming(status({ conversation: 'my own story' }, 'S3', ME, { fromMe: true }), 'append'));
    assert.ok(own?.type === 'message');
    assert.deepEqual(own.sender, { user: ME_DIGITS, isFromMe: true, login: ME_DIGITS });

    const removed = await emitted(() => f.emitIncoming(status({ protocolMessage: { type: PROTOCOL.REVOKE, key: { remoteJid: STATUS, id: 'S1', participant: BOB } } }, 'S4')));
    assert.deepEqual(removed.map((e) => [e.type, e.type === 'message_remove' ? e.target : '']), [['message_remove', makeMessageId(STATUS, '15550002222', 'S1')]]);

    const history = await emitted(() => f.ev.emit('messaging-history.set', {
      chats: [], contacts: [], messages: [status({ conversation: 'old story' }, 'H1')], isLatest: true, syncType: proto.HistorySync.HistorySyncType.RECENT, progress: 100,
    }));
    assert.deepEqual(history.map((e) => [e.type, e.portal]), [['backfill', STATUS_PORTAL]]);
  });

  it('gives the status portal a fixed group-type room that explains itself and allows only reading', async () => {
    const { api: a } = await connect(true);
    const info = await a.getChatInfo(STATUS_PORTAL);
    assert.equal(info.type, 'group');
    assert.equal(info.name, STATUS_ROOM_NAME);
    assert.match(info.topic ?? '', /Status updates of your WhatsApp contacts/);
    assert.match(info.topic ?? '', /not posted as your status/);
    assert.equal(info.members, undefined, 'posters join as they post');
    const features = a.getCapabilities(STATUS_PORTAL);
    assert.equal(features.edits, undefined);
    assert.equal(features.reactions, undefined);
    assert.equal(features.deletes, undefined);
    assert.equal(features.typing, false);
    assert.equal(features.readReceipts, true);
    assert.ok(a.getCapabilities(portalKey(BOB, ME_DIGITS)).reactions, 'other chats keep their features');
  });

  it('refuses to post, react, edit or delete from Matrix, sends read receipts to the poster, and no typing', async () => {
    const { api: a, fake: f } = await connect(true);
    const base = (n: number): MatrixEventBase => ({ portal: STATUS_PORTAL, roomId: '!status:example.org', eventId: `$e${n}`, sender: '@alice:example.org', timestamp: Date.now() });
    const target = { messageId: makeMessageId(STATUS, '15550002222', 'S1'), partId: partId('') };
    const refused = async (p: Promise<unknown>, what: RegExp) => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof BridgeError, `expected a BridgeError, got ${String(err)}`);
      assert.equal(err.reason, 'm_unsupported');
      assert.equal(err.status, 'fail');
      assert.match(err.userMessage, what);
      assert.match(err.userMessage, /WhatsApp Status Broadcast room/);
    };
    await refused(a.handleMatrixMessage({ ...base(1), msgtype: 'm.text', txnId: 't1', content: { body: 'hi' }, text: { text: 'hi', entities: [] } }), /Posting a status/);
    await refused(a.handleMatrixReaction({ ...base(2), target, emoji: '👍' }, emojiId('👍')), /Reacting to a status/);
    await refused(a.handleMatrixReactionRemove({ ...base(3), target, emojiId: emojiId('👍'), emoji: '👍' }), /Reacting to a status/);
    await refused(a.handleMatrixEdit({ ...base(4), target: { ...target, editCount: 0, timestamp: Date.now() }, text: { text: 'x', entities: [] }, content: {} }), /Editing a status/);
    await refused(a.handleMatrixMessageRemove({ ...base(5), target: { ...target, timestamp: Date.now() } }), /Deleting a status/);
    assert.deepEqual(f.sent, [], 'nothing was sent to WhatsApp');

    await a.handleMatrixReadReceipt({ ...base(6), target: { messageId: target.messageId, timestamp: Date.now() } });
    await a.handleMatrixTyping({ portal: STATUS_PORTAL, roomId: '!status:example.org', sender: '@alice:example.org', typing: true });
    assert.deepEqual(f.calls.map((c) => c.method), ['readMessages']);
    assert.deepEqual(f.calls[0]!.args[0], [{ remoteJid: STATUS, id: 'S1', fromMe: false, participant: BOB }]);
  });
});
