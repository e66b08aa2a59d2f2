/**
 * The fake WAClientPort is only worth something if what it produces is what Baileys produces:
 * these tests check its outgoing protos, its media crypto round trip through a local server, and
 * its event emitter.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import {
  downloadMediaMessage, getContentType, initAuthCreds, proto, type BaileysEventMap, type WAMessage,
} from 'baileys';
import type { BridgeStateUpdate } from '../../shared/src/network/index.js';
import { WAConnection } from '../../bridges/whatsapp/src/client/connection.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';
import { WA_CLIENT_METHODS, type WAClientPort } from '../../bridges/whatsapp/src/client/port.js';

const ME = '15550001111@s.whatsapp.net';
const BOB = '15550002222@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';
const logger = pino({ level: 'silent' });

describe('whatsapp: fake port built from Baileys', function () {
  this.timeout(20_000);
  let fake: FakeWAPort;

  beforeEach(async () => {
    fake = await createFakeWAPort({ me: ME });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('sends text as a real proto and records it', async () => {
    const msg = await fake.port.sendMessage(BOB, { text: 'hello' });
    assert.ok(msg);
    assert.equal(msg.key.remoteJid, BOB);
    assert.equal(msg.key.fromMe, true);
    assert.match(msg.key.id ?? '', /^[0-9A-F]{10,}$/);
    assert.equal(msg.message?.conversation ?? msg.message?.extendedTextMessage?.text, 'hello');
    assert.equal(fake.sent.length, 1);
    assert.equal(fake.sent[0]?.jid, BOB);
    assert.equal(fake.sent[0]?.message, msg);
    // It is a real WebMessageInfo: it survives the wire encoding.
    const decoded = proto.WebMessageInfo.decode(proto.WebMessageInfo.encode(msg).finish());
    assert.equal(decoded.key?.id, msg.key.id);
  });

  it('builds replies, reactions, edits and deletes the way Baileys does', async () => {
    const original = fake.makeIncoming({ conversation: 'question?' }, { from: BOB, id: 'ORIG1' });
    const reply = await fake.port.sendMessage(BOB, { text: 'answer' }, { quoted: original });
    const ctx = reply?.message?.extendedTextMessage?.contextInfo;
    assert.equal(reply?.message?.extendedTextMessage?.text, 'answer');
    assert.equal(ctx?.stanzaId, 'ORIG1');
    assert.equal(ctx?.participant, BOB);
    assert.equal(ctx?.quotedMessage?.conversation, 'question?');

    const reaction = await fake.port.sendMessage(BOB, { react: { text: '👍', key: original.key } });
    assert.equal(getContentType(reaction?.message ?? undefined), 'reactionMessage');
    assert.equal(reaction?.message?.reactionMessage?.text, '👍');
    assert.equal(reaction?.message?.reactionMessage?.key?.id, 'ORIG1');

    const mine = await fake.port.sendMessage(BOB, { text: 'typo' });
    assert.ok(mine);
    const edit = await fake.port.sendMessage(BOB, { text: 'fixed', edit: mine.key });
    const editProto = edit?.message?.protocolMessage;
    assert.equal(editProto?.type, proto.Message.ProtocolMessage.Type.MESSAGE_EDIT);
    assert.equal(editProto?.key?.id, mine.key.id);
    const edited = editProto?.editedMessage;
    assert.equal(edited?.conversation ?? edited?.extendedTextMessage?.text, 'fixed');

    const del = await fake.port.sendMessage(BOB, { delete: mine.key });
    assert.equal(del?.message?.protocolMessage?.type, proto.Message.ProtocolMessage.Type.REVOKE);
    assert.equal(del?.message?.protocolMessage?.key?.id, mine.key.id);
    assert.equal(fake.sent.length, 5);
  });

  it('encrypts a sent image; downloadMediaMessage returns the original bytes', async () => {
    const bytes = randomBytes(3000);
    const msg = await fake.port.sendMessage(BOB, { image: bytes, caption: 'pic', mimetype: 'image/png' });
    const image = msg?.message?.imageMessage;
    assert.ok(msg && image);
    assert.equal(image.caption, 'pic');
    assert.equal(image.mimetype, 'image/png');
    assert.ok(image.url?.startsWith(fake.mediaServer.url), 'uploaded to the local server');
    assert.ok(!image.directPath, 'no directPath, so the url is used');
    assert.equal(image.mediaKey?.length, 32);
    assert.equal(Number(image.fileLength), bytes.length);
    // What sits on the server is ciphertext, not the image.
    const stored = fake.mediaServer.files.get(image.url!.slice(fake.mediaServer.url.length + 1));
    assert.ok(stored);
    assert.ok(!stored.includes(bytes.subarray(0, 64)));
    const back = await downloadMediaMessage(msg, 'buffer', {});
    assert.ok(back.equals(bytes));
  });

  it('makeIncomingMedia round-trips documents and audio', async () => {
    const doc = randomBytes(5000);
    const incoming = await fake.makeIncomingMedia('document', doc, {
      from: BOB, fileName: 'report.pdf', mimetype: 'application/pdf', caption: 'see attached',
    });
    assert.equal(incoming.key.fromMe, false);
    assert.equal(incoming.key.remoteJid, BOB);
    const d = incoming.message?.documentMessage;
    assert.equal(d?.fileName, 'report.pdf');
    assert.equal(d?.mimetype, 'application/pdf');
    assert.ok((await downloadMediaMessage(incoming, 'buffer', {})).equals(doc));

    const voice = randomBytes(1200);
    const inGroup = await fake.makeIncomingMedia('audio', voice, { from: BOB, chat: GROUP, ptt: true, mimetype: 'audio/ogg; codecs=opus' });
    assert.equal(inGroup.key.remoteJid, GROUP);
    assert.equal(inGroup.key.participant, BOB);
    assert.equal(inGroup.message?.audioMessage?.ptt, true);
    assert.ok((await downloadMediaMessage(inGroup, 'buffer', {})).equals(voice));
  });

  it('an expired media URL answers 410; updateMediaMessage re-hosts it', async () => {
    const bytes = randomBytes(800);
    const msg = await fake.makeIncomingMedia('image', bytes, { from: BOB });
    fake.mediaServer.expire(msg.message!.imageMessage!.url!);
    const ctx = { logger, reuploadRequest: fake.port.updateMediaMessage };
    const err = (await downloadMediaMessage(msg, 'buffer', {}, ctx).then(() => undefined, (e: unknown) => e)) as
      { output?: { statusCode?: number } } | undefined;
    assert.equal(err?.output?.statusCode, 410);
    // Fact of baileys 7.0.0-rc14: its reupload branch tests `error.status`, but its own fetch error
    // is a Boom carrying `output.statusCode`, so it never asks for a reupload by itself. The
    // connector has to catch 404/410 and call updateMediaMessage itself.
    assert.equal(fake.calls.length, 0);
    const fixed = await fake.port.updateMediaMessage(msg);
    assert.notEqual(fixed.message?.imageMessage?.url, msg.message?.imageMessage?.url);
    assert.ok((await downloadMediaMessage(fixed, 'buffer', {})).equals(bytes));
    assert.deepEqual(fake.calls.map((c) => c.method), ['updateMediaMessage']);
  });

  it('ev delivers emitted messages, and own sends come back as append', async () => {
    const upserts: Array<BaileysEventMap['messages.upsert']> = [];
    fake.port.ev.on('messages.upsert', (u) => upserts.push(u));
    const incoming = fake.makeIncoming({ conversation: 'hi there' }, { from: BOB, pushName: 'Bob' });
    fake.emitIncoming(incoming);
    assert.equal(upserts.length, 1);
    assert.equal(upserts[0]?.type, 'notify');
    assert.equal(upserts[0]?.messages[0]?.message?.conversation, 'hi there');
    assert.equal(upserts[0]?.messages[0]?.pushName, 'Bob');

    const mine = await fake.port.sendMessage(BOB, { text: 'own' });
    await new Promise<void>((r) => process.nextTick(r));
    assert.equal(upserts.length, 2);
    assert.equal(upserts[1]?.type, 'append');
    assert.equal(upserts[1]?.messages[0], mine);

    // Buffering behaves like the real socket's: held while buffering, delivered on flush.
    fake.ev.buffer();
    fake.emitIncoming(fake.makeIncoming({ conversation: 'later' }, { from: BOB }));
    assert.equal(upserts.length, 2);
    fake.ev.flush();
    assert.equal(upserts.length, 3);
    assert.equal(upserts[2]?.messages[0]?.message?.conversation, 'later');
  });

  it('records simple calls, serves groups, and throws for what it does not implement', async () => {
    await fake.port.readMessages([{ remoteJid: BOB, id: 'X1', fromMe: false }]);
    await fake.port.sendPresenceUpdate('composing', BOB);
    assert.deepEqual(fake.calls.map((c) => c.method), ['readMessages', 'sendPresenceUpdate']);
    assert.deepEqual(fake.calls[1]?.args, ['composing', BOB]);

    fake.groups.set(GROUP, { id: GROUP, subject: 'Team', participants: [{ id: ME }, { id: BOB, admin: 'admin' }] } as never);
    assert.equal((await fake.port.groupMetadata(GROUP)).subject, 'Team');
    assert.deepEqual(Object.keys(await fake.port.groupFetchAllParticipating()), [GROUP]);
    await assert.rejects(fake.port.groupMetadata('nope@g.us'));

    assert.throws(() => fake.port.groupCreate('x', []), /fake port: groupCreate not implemented/);
    assert.throws(() => fake.port.onWhatsApp(BOB), /fake port: onWhatsApp not implemented/);
    for (const m of WA_CLIENT_METHODS) assert.equal(typeof fake.port[m], 'function', m);
    assert.equal(fake.port.user?.id, ME);
  });

  it('logout closes with 401 like the real socket; failNextSend rejects once', async () => {
    const updates: Array<BaileysEventMap['connection.update']> = [];
    fake.port.ev.on('connection.update', (u) => updates.push(u));
    fake.failNextSend(new Error('boom'));
    await assert.rejects(fake.port.sendMessage(BOB, { text: 'x' }), /boom/);
    assert.ok(await fake.port.sendMessage(BOB, { text: 'y' }));
    await fake.port.logout();
    assert.equal(updates.length, 1);
    assert.equal(updates[0]?.connection, 'close');
    const err = updates[0]?.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined;
    assert.equal(err?.output?.statusCode, 401);
  });

  it('overrides replace port methods', async () => {
    const custom = await createFakeWAPort({
      me: ME,
      overrides: { onWhatsApp: (async (...jids: string[]) => jids.map((jid) => ({ jid, exists: true }))) as WAClientPort['onWhatsApp'] },
    });
    try {
      const res = await custom.port.onWhatsApp('15550003333');
      assert.deepEqual(res, [{ jid: '15550003333', exists: true }]);
    } finally {
      await custom.close();
    }
  });

  it('emitIncoming accepts plain proto objects', () => {
    const got: WAMessage[] = [];
    fake.port.ev.on('messages.upsert', (u) => got.push(...u.messages));
    fake.emitIncoming({ key: { remoteJid: BOB, id: 'PLAIN', fromMe: false }, message: { conversation: 'raw' } });
    assert.equal(got[0]?.key.id, 'PLAIN');
  });

  it('can stand in for the socket under WAConnection', async () => {
    const states: BridgeStateUpdate[] = [];
    const conn = new WAConnection({
      auth: { creds: initAuthCreds(), keys: { get: async () => ({}), set: async () => undefined } },
      saveCreds: () => undefined,
      makeSocket: () => fake.port,
      logger,
      baileysLogLevel: 'silent',
      backoff: { minMs: 10, maxMs: 10 },
    });
    conn.on('state', (s) => states.push(s));
    conn.start();
    assert.equal(conn.current(), fake.port);
    fake.ev.emit('connection.update', { connection: 'open' });
    await fake.port.logout();
    assert.deepEqual(states.map((s) => s.stateEvent), ['CONNECTING', 'CONNECTED', 'LOGGED_OUT']);
    assert.equal(conn.isRunning, false);
    await conn.stop();
  });
});
