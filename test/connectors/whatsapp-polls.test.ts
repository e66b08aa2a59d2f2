/**
 * WhatsApp poll votes -> edits of the bridged poll with the running totals, through the real event
 * handler. Polls are made by Baileys' generateWAMessage (which adds the messageSecret) and votes are
 * encrypted with Baileys' own crypto primitives, deriving the key the way decryptPollVote does:
 * HMAC-SHA256(HMAC-SHA256(zero32, secret), pollId | creator | voter | "Poll Vote" | 0x01), then
 * AES-256-GCM with "pollId\0voter" as additional data.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { aesEncryptGCM, generateMessageIDV2, generateWAMessage, hmacSign, proto, sha256, type WAMessage } from 'baileys';
import type { RemoteEvent, RemoteEdit, UserLoginHandle } from '../../shared/src/network/index.js';
import { partId } from '../../shared/src/network/index.js';
import { WAEventHandler } from '../../bridges/whatsapp/src/connector/handle-whatsapp.js';
import { pollStateMetadata, restorePoll } from '../../bridges/whatsapp/src/connector/poll-metadata.js';
import type { LidResolver } from '../../bridges/whatsapp/src/connector/ids.js';
import { RecordingLogin, recordingConvertContext } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const ME_DIGITS = '15550001111';
const ME = `${ME_DIGITS}@s.whatsapp.net`;
const BOB = '15550002222@s.whatsapp.net';
const CAROL = '15550003333@s.whatsapp.net';
const DAVE_PN = '15550005555@s.whatsapp.net';
const DAVE_LID = '777000111@lid';
const GROUP = '120363000000000001@g.us';
const silent = pino({ level: 'silent' });



/** A vote encrypted the way WhatsApp clients do (what decryptPollVote undoes). */
function encryptVote(secret: Uint8Array, pollId: string, creatorJid: string, voterJid: string, options: string[]): proto.Message.IPollEncValue {
  const selectedOptions = options.map((o) => sha256(Buffer.from(o)));
  const plaintext = proto.Message.PollVoteMessage.encode({ selectedOptions }).finish();
  const info = Buffer.concat([Buffer.from(pollId), Buffer.from(creatorJid), Buffer.from(voterJid), Buffer.from('Poll Vote'), new Uint8Array([1])]);
  const key = hmacSign(info, hmacSign(secret, new Uint8Array(32), 'sha256'), 'sha256');
  const iv = randomBytes(12);
  const encPayload = aesEncryptGCM(plaintext, key, iv, Buffer.from(`${pollId}\u0000${voterJid}`));
  return { encPayload, encIv: iv };
}

interface Poll { msg: WAMessage; id: string; secret: Uint8Array; creator: string; chat: string }

describe('whatsapp polls: encrypted votes -> tally edits of the poll', function () {
  this.timeout(20_000);
  let fake: FakeWAPort;
  let login: RecordingLogin;
  let handler: WAEventHandler;
  const lidMap = new Map([[DAVE_LID, DAVE_PN]]);
  const lids: LidResolver = { pnForLid: async (lid) => lidMap.get(lid) };

  beforeEach(async () => {
    fake = await createFakeWAPort({ me: ME, emitOwnEvents: false });
    login = new RecordingLogin(ME_DIGITS as UserLoginHandle['id'], 'Alice');
    handler = new WAEventHandler(login, lids);
    handler.attach(fake.port);
  });
  afterEach(async () => {
    handler.detach();
    await fake.close();
  });

  async function emitted(fn: () => void): Promise<RemoteEvent[]> {
    const before = login.queued.length;
    fn();
    await handler.idle();
    return login.queued.slice(before);
  }

  /** A poll made by Baileys (with its messageSecret), received from `creator` in `chat`. */
  async function makePoll(name: string, values: string[], selectableCount: number, creator: string, chat: string): Promise<Poll> {
    const generated = await generateWAMessage(chat, { poll: { name, values, selectableCount } }, {
      logger: silent, userJid: creator, upload: async () => { throw new Error('no upload'); },
    });
    const secret = generated.message?.messageContextInfo?.messageSecret;
    assert.ok(secret && secret.length === 32, 'generateWAMessage gives the poll a messageSecret');
    const fromMe = creator === ME;
    const msg = fake.makeIncoming(generated.message!, { from: fromMe ? BOB : creator, chat, fromMe, id: generateMessageIDV2(creator) });
    return { msg, id: msg.key.id!, secret, creator, chat };
  }

  function voteMessage(poll: Poll, voter: string, options: string[], o: { alt?: string; encVoter?: string; timestampMs?: number; secret?: Uint8Array } = {}): WAMessage {
    const group = poll.chat.endsWith('@g.us');
    const enc = encryptVote(o.secret ?? poll.secret, poll.id, poll.creator, o.encVoter ?? voter, options);
    const msg = fake.makeIncoming({
      pollUpdateMessage: {
        pollCreationMessageKey: { remoteJid: poll.chat, id: poll.id, fromMe: poll.creator === ME, ...(group && poll.creator !== ME ? { participant: poll.creator } : {}) },
        vote: enc,
        senderTimestampMs: o.timestampMs ?? Date.now(),
      },
      messageContextInfo: {},
    }, { from: voter, chat: group ? poll.chat : voter, fromMe: voter === ME });
    if (o.alt) msg.key.participantAlt = o.alt;
    return msg;
  }

  async function tallyOf(evts: RemoteEvent[], poll: Poll): Promise<string> {
    assert.equal(evts.length, 1, `expected one edit, got ${evts.map((e) => e.type).join(', ')}`);
    const e = evts[0]! as RemoteEdit;
    assert.equal(e.type, 'edit');
    const out = await e.convert(recordingConvertContext(e.portal, !poll.chat.endsWith('@g.us')), [partId('')]);
    assert.equal(out.modifiedParts.length, 1);
    const part = out.modifiedParts[0]!;
    assert.equal(part.partId, partId(''));
    const meta = (part.metadata as { poll: { messageSecret: string } }).poll;
    assert.equal(meta.messageSecret, Buffer.from(poll.secret).toString('base64'), 'the edit keeps the secret in the metadata');
    return String(part.content.body);
  }

  it('counts votes in a group, one current vote per voter, and edits the poll as its sender', async () => {
    const poll = await makePoll('Lunch?', ['Pizza', 'Sushi', 'Salad'], 1, BOB, GROUP);
    const created = await emitted(() => fake.emitIncoming(poll.msg));
    assert.equal(created.length, 1);
    const pollEvt = created[0]!;
    assert.equal(pollEvt.type, 'message');
    const pollId = pollEvt.type === 'message' ? pollEvt.id : undefined;

    let evts = await emitted(() => fake.emitIncoming(voteMessage(poll, CAROL, ['Pizza'])));
    assert.equal(evts[0]!.type === 'edit' && evts[0]!.target, pollId);
    assert.equal((evts[0] as RemoteEdit).sender.user, '15550002222', 'the edit comes from the poll creator');
    assert.equal(await tallyOf(evts, poll), 'Poll: Lunch?\n• Pizza — 1\n• Sushi — 0\n• Salad — 0\n(vote on your phone)');

    evts = await emitted(() => fake.emitIncoming(voteMessage(poll, BOB, ['Pizza'])));
    assert.equal(await tallyOf(evts, poll), 'Poll: Lunch?\n• Pizza — 2\n• Sushi — 0\n• Salad — 0\n(vote on your phone)');

    // Dave is addressed by LID with his phone number as the alternate: the vote key uses the PN.
    evts = await emitted(() => fake.emitIncoming(voteMessage(poll, DAVE_LID, ['Salad'], { alt: DAVE_PN, encVoter: DAVE_PN })));
    assert.equal(await tallyOf(evts, poll), 'Poll: Lunch?\n• Pizza — 2\n• Sushi — 0\n• Salad — 1\n(vote on your phone)');

    // Carol changes her vote: it replaces her previous one.
    evts = await emitted(() => fake.emitIncoming(voteMessage(poll, CAROL, ['Sushi'])));
    assert.equal(await tallyOf(evts, poll), 'Poll: Lunch?\n• Pizza — 1\n• Sushi — 1\n• Salad — 1\n(vote on your phone)');

    // Our own vote (from the phone) counts too.
    evts = await emitted(() => fake.emitIncoming(voteMessage(poll, ME, ['Sushi'])));
    assert.equal(await tallyOf(evts, poll), 'Poll: Lunch?\n• Pizza — 1\n• Sushi — 2\n• Salad — 1\n(vote on your phone)');

    // Bob withdraws his vote (an empty selection).
    evts = await emitted(() => fake.emitIncoming(voteMessage(poll, BOB, [])));
    assert.equal(await tallyOf(evts, poll), 'Poll: Lunch?\n• Pizza — 0\n• Sushi — 2\n• Salad — 1\n(vote on your phone)');
  });

  it('multi-select polls, our own poll in a DM, and an older vote arriving late', async () => {
    const poll = await makePoll('Days', ['Mon', 'Tue', 'Wed'], 2, ME, BOB);
    await emitted(() => fake.emitIncoming(poll.msg));
    const now = Date.now();
    let evts = await emitted(() => fake.emitIncoming(voteMessage(poll, BOB, ['Mon', 'Wed'], { timestampMs: now })));
    const edit = evts[0]!;
    assert.equal(edit.type, 'edit');
    assert.ok((edit as RemoteEdit).sender.isFromMe, 'our poll is edited as us');
    assert.equal(await tallyOf(evts, poll), 'Poll: Days\n• Mon — 1\n• Tue — 0\n• Wed — 1\n(choose up to 2; vote on your phone)');
    // A vote Bob cast before the one already counted changes nothing.
    evts = await emitted(() => fake.emitIncoming(voteMessage(poll, BOB, ['Tue'], { timestampMs: now - 60_000 })));
    assert.deepEqual(evts, []);
  });

  it('skips votes it cannot decrypt (unknown poll, wrong secret) without throwing', async () => {
    const poll = await makePoll('Lunch?', ['Pizza', 'Sushi'], 1, BOB, GROUP);
    // The poll creation was never seen: no secret.
    let evts = await emitted(() => fake.emitIncoming(voteMessage(poll, CAROL, ['Pizza'])));
    assert.deepEqual(evts, []);
    await emitted(() => fake.emitIncoming(poll.msg));
    evts = await emitted(() => fake.emitIncoming(voteMessage(poll, CAROL, ['Pizza'], { secret: randomBytes(32) })));
    assert.deepEqual(evts, []);
    // The same vote delivered twice is counted once.
    const vote = voteMessage(poll, CAROL, ['Sushi']);
    evts = await emitted(() => fake.emitIncoming(vote));
    assert.equal(await tallyOf(evts, poll), 'Poll: Lunch?\n• Pizza — 0\n• Sushi — 1\n(vote on your phone)');
    evts = await emitted(() => fake.emitIncoming(vote));
    assert.deepEqual(evts, []);
    assert.ok(handler.polls.get(poll.id));
    assert.equal(handler.polls.get('nope'), undefined);
  });

  it('history sync: remembers polls and counts their votes after the backfill', async () => {
    const poll = await makePoll('Trip?', ['Yes', 'No'], 1, BOB, GROUP);
    poll.msg.messageTimestamp = 100;
    // Votes the phone already decrypted, on the poll itself.
    poll.msg.pollUpdates = [{
      pollUpdateMessageKey: { remoteJid: GROUP, participant: CAROL, id: 'V0', fromMe: false },
      vote: { selectedOptions: [sha256(Buffer.from('No'))] }, senderTimestampMs: 110_000,
    }];
    const vote = voteMessage(poll, CAROL, ['Yes'], { timestampMs: 120_000 });
    vote.messageTimestamp = 120;
    const evts = await emitted(() => fake.ev.emit('messaging-history.set', {
      chats: [], contacts: [], messages: [vote, poll.msg], isLatest: true,
    }));
    assert.deepEqual(evts.map((e) => e.type), ['backfill', 'edit']);
    assert.equal(await tallyOf(evts.slice(1), poll), 'Poll: Trip?\n• Yes — 1\n• No — 0\n(vote on your phone)');
    // A later live vote adds to the history's tally.
    const later = await emitted(() => fake.emitIncoming(voteMessage(poll, BOB, ['No'])));
    assert.equal(await tallyOf(later, poll), 'Poll: Trip?\n• Yes — 1\n• No — 1\n(vote on your phone)');
  });

  describe('after a restart', () => {
    /** A new handler (an empty poll store) and login over the same message metadata: a bridge restart. */
    function restart(): void {
      handler.detach();
      login = new RecordingLogin(login.id, login.remoteName, login.userMxid, login.messages);
      handler = new WAEventHandler(login, lids);
      handler.attach(fake.port);
    }

    /** Converts the events as the core would and keeps their metadata (the message table). */
    async function bridgeAll(evts: RemoteEvent[], dm: boolean): Promise<void> {
      for (const e of evts) await login.bridge(e, recordingConvertContext(e.portal, dm));
    }

    it('reads the secret and the votes back from the poll message metadata', async () => {
      const poll = await makePoll('Lunch?', ['Pizza', 'Sushi', 'Salad'], 1, BOB, GROUP);
      await bridgeAll(await emitted(() => fake.emitIncoming(poll.msg)), false);
      const carolVote = voteMessage(poll, CAROL, ['Pizza']);
      let evts = await emitted(() => fake.emitIncoming(carolVote));
      assert.equal(await tallyOf(evts, poll), 'Poll: Lunch?\n• Pizza — 1\n• Sushi — 0\n• Salad — 0\n(vote on your phone)');
      await bridgeAll(evts, false);
      evts = await emitted(() => fake.emitIncoming(voteMessage(poll, DAVE_LID, ['Salad'], { alt: DAVE_PN, encVoter: DAVE_PN })));
      await bridgeAll(evts, false);

      restart();
      assert.equal(handler.polls.get(poll.id), undefined, 'the new store starts empty');
      evts = await emitted(() => fake.emitIncoming(voteMessage(poll, BOB, ['Sushi'])));
      assert.equal(await tallyOf(evts, poll), 'Poll: Lunch?\n• Pizza — 1\n• Sushi — 1\n• Salad — 1\n(vote on your phone)',
        'the votes from before the restart still count');
      assert.equal((evts[0] as RemoteEdit).sender.user, '15550002222', 'the edit still comes from the poll creator');
      await bridgeAll(evts, false);
      // Carol's vote from before the restart, delivered again, is not counted twice.
      assert.deepEqual(await emitted(() => fake.emitIncoming(carolVote)), []);
      // Her new vote replaces the one counted before the restart.
      restart();
      evts = await emitted(() => fake.emitIncoming(voteMessage(poll, CAROL, ['Sushi'])));
      assert.equal(await tallyOf(evts, poll), 'Poll: Lunch?\n• Pizza — 0\n• Sushi — 2\n• Salad — 1\n(vote on your phone)');
    });

    it('decrypts the first vote after a restart from the poll part alone (our poll in a DM)', async () => {
      const poll = await makePoll('Days', ['Mon', 'Tue'], 2, ME, BOB);
      const created = await emitted(() => fake.emitIncoming(poll.msg));
      await bridgeAll(created, true);
      restart();
      const evts = await emitted(() => fake.emitIncoming(voteMessage(poll, BOB, ['Mon', 'Tue'])));
      assert.ok((evts[0] as RemoteEdit).sender.isFromMe, 'our poll is edited as us');
      assert.equal((evts[0] as RemoteEdit).target, created[0]!.type === 'message' ? created[0]!.id : undefined);
      assert.equal(await tallyOf(evts, poll), 'Poll: Days\n• Mon — 1\n• Tue — 1\n(choose up to 2; vote on your phone)');
    });

    it('skips a vote when the stored poll is missing or unusable, and rejects bad metadata', async () => {
      const poll = await makePoll('Lunch?', ['Pizza', 'Sushi'], 1, BOB, GROUP);
      const created = await emitted(() => fake.emitIncoming(poll.msg));
      restart();
      // Never bridged: no metadata to read.
      assert.deepEqual(await emitted(() => fake.emitIncoming(voteMessage(poll, CAROL, ['Pizza']))), []);
      // Metadata with a secret of the wrong size.
      await bridgeAll(created, false);
      const key = [...login.messages.keys()][0]!;
      const good = login.messages.get(key)!;
      login.messages.set(key, { poll: { ...(good.poll as object), messageSecret: Buffer.alloc(16).toString('base64') } });
      assert.deepEqual(await emitted(() => fake.emitIncoming(voteMessage(poll, CAROL, ['Pizza']))), []);
      assert.equal(restorePoll(undefined), undefined);
      assert.equal(restorePoll({ poll: { name: 'x', options: 'nope', selectableCount: 1, messageSecret: 'AAAA' } }), undefined);
      assert.equal(restorePoll({ poll: { ...(good.poll as object), votes: [{ voter: '', id: 'v', at: 1, options: [] }] } }), undefined);
      // The stored state round-trips.
      const secret = new Uint8Array(32).fill(7);
      const meta = { name: 'Q', options: ['A', 'B'], selectableCount: 1, messageSecret: Buffer.from(secret).toString('base64') };
      const update = { pollUpdateMessageKey: { remoteJid: '15550003333', fromMe: false, id: 'V1' }, vote: { selectedOptions: [sha256(Buffer.from('A'))] }, senderTimestampMs: 5 };
      const back = restorePoll(JSON.parse(JSON.stringify(pollStateMetadata(meta, [update]))));
      assert.deepEqual(back?.secret, secret);
      assert.deepEqual(back?.meta, meta);
      assert.deepEqual(back?.voteIds, ['V1']);
      assert.deepEqual(back?.pollUpdates.map((u) => [u.pollUpdateMessageKey?.remoteJid, Buffer.from(u.vote!.selectedOptions![0]!).toString('hex'), u.senderTimestampMs]),
        [['15550003333', Buffer.from(sha256(Buffer.from('A'))).toString('hex'), 5]]);
    });
  });
});
