/**
 * Matrix -> network through a real Synapse and the sandbox network: the person acts in portal
 * rooms with matrix-js-sdk; what the network holds is read back through the control API (and
 * typing through a contact's own wire client). Every bridged event gets a SUCCESS status.
 */
import assert from 'node:assert/strict';
import * as sdk from 'matrix-js-sdk';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import {
  downloadNetworkMedia, entitiesOf, loginAsMe, networkChat, networkMessages, portalRoom, sendAs, textOf, waitForNetworkMessage,
  type NetworkMessage,
} from '../helpers/portal-setup.js';
import { SandboxClient } from '../../bridges/sandbox/src/client/sandbox-client.js';
import { generateTestPng } from '../../bridges/sandbox/src/server/test-png.js';
import type { WireEvent } from '../../bridges/sandbox/src/wire.js';

const GROUP = 'g:1';
const DM_ALICE = 'dm:alice:me';
const DM_BOB = 'dm:bob:me';

describe('e2e: Matrix -> remote (sandbox network, real Synapse)', function () {
  this.timeout(120_000);
  let env: BridgeEnv;
  let me: TestClient;
  let group: string;
  let dmAlice: string;
  let alice: SandboxClient | undefined;

  const STATUS = 'com.beeper.message_send_status';
  const statusFor = (eventId: string, status: string) => (e: sdk.MatrixEvent) => e.getType() === STATUS
    && e.getContent()['m.relates_to']?.event_id === eventId && e.getContent().status === status;
  /** Waits for the bot's SUCCESS status event relating to eventId. */
  async function expectSuccess(room: string, eventId: string): Promise<void> {
    const st = await me.waitForEvent(room, statusFor(eventId, 'SUCCESS'), 30_000);
    assert.equal(st.getSender(), env.botMxid);
    assert.equal(st.getContent()['m.relates_to']?.rel_type, 'm.reference');
    assert.equal(st.getContent().network, 'sandbox');
  }
  /** Sends text from Matrix and returns the event id and the network's copy. */
  async function sendAndFind(room: string, chat: string, body: string, extra: Record<string, unknown> = {}): Promise<{ eventId: string; net: NetworkMessage }> {
    const eventId = await me.sendText(room, body, extra);
    const net = await waitForNetworkMessage(env, chat, (m) => m.sender === 'me' && textOf(m) === body);
    await expectSuccess(room, eventId);
    return { eventId, net };
  }

  before(async function () {
    this.timeout(240_000);
    env = await BridgeEnv.start();
    ({ client: me } = await env.user('person_m2r'));
    await loginAsMe(env, me);
    group = await portalRoom(env, me, GROUP);
    dmAlice = await portalRoom(env, me, DM_ALICE);
  });
  after(async () => {
    await alice?.close();
    await me?.stop();
    await env?.stop();
  });

  it('sends plain text as network text without entities, once, and reports SUCCESS', async () => {
    const { net } = await sendAndFind(dmAlice, DM_ALICE, 'plain hello from matrix');
    assert.equal(net.content.kind, 'text');
    assert.deepEqual(entitiesOf(net), []);
    assert.equal((await networkMessages(env, DM_ALICE)).filter((m) => textOf(m) === 'plain hello from matrix').length, 1);
  });

  it('sends HTML as network text with bold/italic/code/link entities', async () => {
    const eventId = await me.sendHtml(dmAlice, 'bold and italic and code and link',
      '<b>bold</b> and <em>italic</em> and <code>code</code> and <a href="https://example.org/">link</a>');
    const net = await waitForNetworkMessage(env, DM_ALICE, (m) => textOf(m) === 'bold and italic and code and link');
    await expectSuccess(dmAlice, eventId);
    const entities = entitiesOf(net);
    const find = (type: string) => entities.find((e) => e.type === type);
    assert.deepEqual({ ...find('bold') }, { type: 'bold', offset: 0, length: 4 });
    assert.deepEqual({ ...find('italic') }, { type: 'italic', offset: 9, length: 6 });
    assert.deepEqual({ ...find('code') }, { type: 'code', offset: 20, length: 4 });
    assert.equal(find('link')?.offset, 29);
    assert.equal(find('link')?.length, 4);
    assert.equal(find('link')?.url, 'https://example.org/');
  });

  it('sends a mention pill of a ghost as a network mention of the contact', async () => {
    const alice = env.ghost('alice');
    const eventId = await me.sendText(group, 'hi Alice Liddell!', {
      format: 'org.matrix.custom.html',
      formatted_body: `hi <a href="https://matrix.to/#/${encodeURIComponent(alice)}">Alice Liddell</a>!`,
      'm.mentions': { user_ids: [alice] },
    });
    const net = await waitForNetworkMessage(env, GROUP, (m) => m.sender === 'me' && textOf(m).startsWith('hi '));
    await expectSuccess(group, eventId);
    const mention = entitiesOf(net).find((e) => e.type === 'mention');
    assert.ok(mention, `a mention entity in ${JSON.stringify(net.content)}`);
    assert.equal(mention.userId, 'alice');
    assert.equal(textOf(net), 'hi Alice Liddell!');
    assert.equal(textOf(net).slice(mention.offset, mention.offset + mention.length), 'Alice Liddell');
  });

  it('sends a reply with reply_to set to the replied-to message', async () => {
    const { eventId: first, net: firstNet } = await sendAndFind(dmAlice, DM_ALICE, 'reply target m2r');
    const { net } = await sendAndFind(dmAlice, DM_ALICE, 'reply m2r', { 'm.relates_to': { 'm.in_reply_to': { event_id: first } } });
    assert.equal(net.reply_to, firstNet.id);
  });

  it('sends an edit as a network edit', async () => {
    const { eventId, net } = await sendAndFind(dmAlice, DM_ALICE, 'edit me m2r');
    const editId = await me.sendText(dmAlice, '* edited m2r', {
      'm.new_content': { msgtype: 'm.text', body: 'edited m2r' },
      'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
    });
    const edited = await waitForNetworkMessage(env, DM_ALICE, (m) => m.id === net.id && m.edit_count === 1);
    await expectSuccess(dmAlice, editId);
    assert.equal(textOf(edited), 'edited m2r');
    assert.equal((edited.edits[0]?.content as { text?: string }).text, 'edit me m2r');
  });

  it('sends a reaction, and removing it (redaction) removes it on the network', async () => {
    const target = await sendAs(env, DM_ALICE, 'alice', { text: 'react here m2r' });
    const ev = await me.waitForEvent(dmAlice, (e) => e.getContent().body === 'react here m2r', 30_000);
    const reaction = await me.client.sendEvent(dmAlice, sdk.EventType.Reaction, {
      'm.relates_to': { rel_type: sdk.RelationType.Annotation, event_id: ev.getId()!, key: '👍' },
    });
    await waitForNetworkMessage(env, DM_ALICE, (m) => m.id === target.id && m.reactions.some((r) => r.user_id === 'me' && r.emoji === '👍'));
    await expectSuccess(dmAlice, reaction.event_id);
    const redaction = await me.client.redactEvent(dmAlice, reaction.event_id);
    await waitForNetworkMessage(env, DM_ALICE, (m) => m.id === target.id && !m.reactions.some((r) => r.user_id === 'me'));
    await expectSuccess(dmAlice, redaction.event_id);
  });

  it('sends a redaction of a message as a network deletion', async () => {
    const { eventId, net } = await sendAndFind(dmAlice, DM_ALICE, 'delete me m2r');
    const redaction = await me.client.redactEvent(dmAlice, eventId);
    await waitForNetworkMessage(env, DM_ALICE, (m) => m.id === net.id && m.deleted);
    await expectSuccess(dmAlice, redaction.event_id);
  });

  it('uploads an image and sends network media with the same bytes', async () => {
    const png = generateTestPng(40, 30, [200, 10, 10]);
    const { content_uri: url } = await me.client.uploadContent(png, { type: 'image/png', name: 'red.png' });
    const res = await me.client.sendMessage(dmAlice, {
      msgtype: sdk.MsgType.Image, body: 'red.png', url, info: { mimetype: 'image/png', size: png.length, w: 40, h: 30 },
    });
    const net = await waitForNetworkMessage(env, DM_ALICE, (m) => m.sender === 'me' && m.content.kind === 'image');
    await expectSuccess(dmAlice, res.event_id);
    const c = net.content as { media_id: string; mimetype: string; size: number; width?: number; height?: number };
    assert.equal(c.mimetype, 'image/png');
    assert.equal(c.size, png.length);
    assert.equal(c.width, 40);
    assert.equal(c.height, 30);
    assert.deepEqual(await downloadNetworkMedia(env, c.media_id), png);
  });

  it('sends a location as a network location', async () => {
    const res = await me.client.sendMessage(dmAlice, { msgtype: sdk.MsgType.Location, body: 'Paris', geo_uri: 'geo:48.8566,2.3522' } as never);
    const net = await waitForNetworkMessage(env, DM_ALICE, (m) => m.sender === 'me' && m.content.kind === 'location');
    await expectSuccess(dmAlice, res.event_id);
    assert.deepEqual(net.content, { kind: 'location', lat: 48.8566, lon: 2.3522, name: 'Paris' });
  });

  it('sends a read receipt as the network read marker of me', async () => {
    const target = await sendAs(env, DM_ALICE, 'alice', { text: 'read this m2r' });
    const ev = await me.waitForEvent(dmAlice, (e) => e.getContent().body === 'read this m2r', 30_000);
    await me.client.sendReadReceipt(ev, sdk.ReceiptType.Read);
    await eventually('the network read marker of me', async () => (await networkChat(env, DM_ALICE)).read_receipts.me === target.id);
  });

  it('sends typing to the network (seen by the contact\'s wire client)', async () => {
    alice = new SandboxClient({ url: env.sandbox.url, reconnect: { minMs: 50, maxMs: 500 } });
    await alice.passwordLogin('alice', 'sandbox');
    const typing: Array<{ user: string; typing: boolean }> = [];
    alice.on('event', (ev: WireEvent) => {
      if (ev.type === 'typing' && ev.chat_id === DM_ALICE) typing.push({ user: ev.user_id, typing: ev.typing });
    });
    await alice.connect();
    await me.client.sendTyping(dmAlice, true, 20_000);
    await eventually('alice to see me typing', () => typing.some((t) => t.user === 'me' && t.typing));
    await me.client.sendTyping(dmAlice, false, 0);
    await eventually('alice to see me stop typing', () => typing.some((t) => t.user === 'me' && !t.typing));
  });

  it('reports FAIL and a notice for an unknown msgtype, and FAIL for a reaction to an unbridged event', async () => {
    const before = (await networkMessages(env, DM_ALICE)).length;
    const bad = await me.client.sendEvent(dmAlice, sdk.EventType.RoomMessage, { msgtype: 'org.example.unknown', body: 'what is this' } as never);
    const fail = await me.waitForEvent(dmAlice, statusFor(bad.event_id, 'FAIL'), 30_000);
    assert.equal(fail.getSender(), env.botMxid);
    assert.equal(fail.getContent().reason, 'M_UNSUPPORTED');
    const notice = await me.waitForEvent(dmAlice, (e) => e.getSender() === env.botMxid && e.getContent().msgtype === 'm.notice'
      && e.getContent()['m.relates_to']?.['m.in_reply_to']?.event_id === bad.event_id, 30_000);
    assert.match(notice.getContent().body, /not bridged/);
    // The failed event was never bridged, so a reaction to it cannot be either.
    const react = await me.client.sendEvent(dmAlice, sdk.EventType.Reaction, {
      'm.relates_to': { rel_type: sdk.RelationType.Annotation, event_id: bad.event_id, key: '❓' },
    });
    const reactFail = await me.waitForEvent(dmAlice, statusFor(react.event_id, 'FAIL'), 30_000);
    assert.equal(reactFail.getContent().reason, 'M_NOT_FOUND');
    assert.equal((await networkMessages(env, DM_ALICE)).length, before, 'nothing reached the network');
  });

  it('sends a burst of 30 messages in order, each exactly once, with no echo back into Matrix', async () => {
    const dmBob = await portalRoom(env, me, DM_BOB);
    const bodies = Array.from({ length: 30 }, (_, i) => `m2r burst ${String(i).padStart(2, '0')}`);
    const ids: string[] = [];
    for (const body of bodies) ids.push(await me.sendText(dmBob, body));
    const isBurst = (m: NetworkMessage) => m.sender === 'me' && textOf(m).startsWith('m2r burst ');
    await eventually('all 30 burst messages on the network', async () => (await networkMessages(env, DM_BOB)).filter(isBurst).length >= 30, 60_000);
    for (const id of ids) await expectSuccess(dmBob, id);
    // Every send is finished (each has its status), so the network's list is final.
    const onNetwork = (await networkMessages(env, DM_BOB)).filter(isBurst);
    assert.deepEqual(onNetwork.map(textOf), bodies);
    assert.deepEqual(onNetwork.map((m) => m.seq), [...onNetwork.map((m) => m.seq)].sort((a, b) => a - b));
    const server = await me.client.createMessagesRequest(dmBob, null, 200, sdk.Direction.Backward);
    const echoes = server.chunk.filter((e) => e.type === 'm.room.message' && e.sender !== me.userId && String(e.content.body).startsWith('m2r burst '));
    assert.equal(echoes.length, 0, 'the network\'s echoes of our sends are not bridged back');
  });
});
