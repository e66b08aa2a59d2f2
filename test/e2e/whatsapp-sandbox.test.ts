/**
 * The WhatsApp bridge end to end: its own process, a real Synapse, matrix-js-sdk as the person's
 * client, and the WhatsApp sandbox (the emulated socket over the sandbox network) as WhatsApp.
 * Contacts act through the sandbox control API. What cannot be run here is WhatsApp's own servers;
 * everything from the Baileys protos inward is the production code.
 */
import assert from 'node:assert/strict';
import type * as sdk from 'matrix-js-sdk';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import type { RegisteredUser } from '../helpers/synapse.js';
import {
  downloadMxc, entitiesOf, portalRoom, roomMessages, sendAs, textOf, waitForNetworkMessage,
} from '../helpers/portal-setup.js';
import { generateTestPng } from '../../bridges/sandbox/src/server/index.js';

const ALICE_JID = '15550000001@s.whatsapp.net';
const GROUP_JID = '120363000000000001@g.us';
const DM_ALICE = 'dm:alice:me';
const GROUP = 'g:1';
const enc = encodeURIComponent;

describe('e2e: WhatsApp bridge over the WhatsApp sandbox (real Synapse)', function () {
  this.timeout(120_000);
  let env: BridgeEnv;
  let me: TestClient;
  let meUser: RegisteredUser;
  let mgmt: string;
  let dm: string;
  let group: string;

  const fromBot = (re: RegExp) => (e: sdk.MatrixEvent) => e.getSender() === env.botMxid && re.test(e.getContent().body ?? '');
  const isMsg = (body: string) => (e: sdk.MatrixEvent) => e.getType() === 'm.room.message' && e.getContent().body === body;

  /** Approves the one login code waiting on the sandbox as `account` (the "scan" on the phone). */
  async function approveWaitingCode(account: string): Promise<void> {
    const code = await eventually('a login code waiting for a scan', async () =>
      (await env.control<Array<{ code: string }>>('GET', '/login-codes'))[0]?.code);
    await env.control('POST', `/login-codes/${enc(code)}/approve`, { account });
  }

  before(async function () {
    this.timeout(240_000);
    // Codes rotate every 8 s, so the QR test sees a rotation (WhatsApp rotates about every 20 s).
    env = await BridgeEnv.start({ bridge: 'whatsapp', qrRotateMs: 8_000 });
    // Sent before the bridge is linked: it must arrive through the history sync.
    await sendAs(env, DM_ALICE, 'alice', { text: 'sent before the link' });
    ({ client: me, user: meUser } = await env.user('person_wa'));
    mgmt = (await me.client.createRoom({ is_direct: true, invite: [env.botMxid] })).room_id;
    await me.waitForMembership(mgmt, env.botMxid, 'join', 30_000);
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  it('logs in by QR code: the code arrives as an image, is replaced in place as it rotates, and the scan completes the login', async () => {
    await me.sendText(mgmt, 'login qr');
    const qr = await me.waitForEvent(mgmt, (e) => e.getSender() === env.botMxid && e.getOriginalContent().msgtype === 'm.image' && !e.getOriginalContent()['m.relates_to'], 30_000);
    assert.equal(qr.getOriginalContent().info?.mimetype, 'image/png');
    const rotated = await me.waitForEvent(mgmt, (e) => e.getSender() === env.botMxid
      && e.getOriginalContent()['m.relates_to']?.rel_type === 'm.replace' && e.getOriginalContent()['m.relates_to']?.event_id === qr.getId(), 30_000);
    const fresh = rotated.getOriginalContent()['m.new_content'] as { msgtype: string; url: string };
    assert.equal(fresh.msgtype, 'm.image');
    assert.notEqual(fresh.url, qr.getOriginalContent().url, 'the rotated code is a new image');
    const images = me.timeline(mgmt).filter((e) => e.getSender() === env.botMxid && e.getOriginalContent().msgtype === 'm.image' && !e.getOriginalContent()['m.relates_to']);
    assert.equal(images.length, 1, 'no second QR message');
    await approveWaitingCode('me');
    await me.waitForEvent(mgmt, fromBot(/Logged in to WhatsApp as \+15550000000/), 30_000);
  });

  it('bridges the history WhatsApp sends at link time into the DM portal, from the contact\'s ghost', async () => {
    dm = await portalRoom(env, me, ALICE_JID, 60_000);
    const ev = await me.waitForEvent(dm, isMsg('sent before the link'), 30_000);
    assert.equal(ev.getSender(), env.ghost('15550000001'));
    const alice = await env.control<{ name: string }>('GET', '/accounts/alice');
    await eventually('the ghost named as on WhatsApp', async () =>
      (await me.client.getProfileInfo(env.ghost('15550000001'))).displayname === alice.name);
  });

  it('bridges a contact\'s formatted text, a reply, an edit, a reaction and a deletion to Matrix', async () => {
    await sendAs(env, DM_ALICE, 'alice', { formatted: { text: 'bold move', entities: [{ type: 'bold', offset: 0, length: 4 }] } });
    const bold = await me.waitForEvent(dm, isMsg('bold move'), 30_000);
    assert.match(bold.getContent().formatted_body ?? '', /<strong>bold<\/strong> move/);

    const target = (await env.control<Array<{ id: string; content: { text?: string } }>>('GET', `/chats/${enc(DM_ALICE)}/messages`))
      .find((m) => m.content.text === 'bold move')!;
    await sendAs(env, DM_ALICE, 'alice', { text: 'a reply', reply_to: target.id });
    const reply = await me.waitForEvent(dm, isMsg('a reply'), 30_000);
    assert.equal(reply.getContent()['m.relates_to']?.['m.in_reply_to']?.event_id, bold.getId());

    await env.control('POST', `/messages/${enc(target.id)}/edit`, { as: 'alice', text: 'bold move, edited' });
    const edit = await me.waitForEvent(dm, (e) => e.getContent()['m.relates_to']?.rel_type === 'm.replace', 30_000);
    assert.equal(edit.getContent()['m.relates_to']?.event_id, bold.getId());
    assert.equal(edit.getContent()['m.new_content']?.body, 'bold move, edited');

    await env.control('POST', `/messages/${enc(target.id)}/reactions`, { as: 'alice', emoji: '👍' });
    const reaction = await me.waitForEvent(dm, (e) => e.getType() === 'm.reaction', 30_000);
    assert.equal(reaction.getContent()['m.relates_to']?.key, '👍');
    assert.equal(reaction.getSender(), env.ghost('15550000001'));

    await env.control('DELETE', `/messages/${enc(target.id)}`, { as: 'alice' });
    await me.waitForEvent(dm, (e) => e.getType() === 'm.room.redaction' && e.event.redacts === bold.getId(), 30_000);
  });

  it('bridges an image both ways with the same bytes', async () => {
    const png = generateTestPng(12, 9);
    await sendAs(env, DM_ALICE, 'alice', { image: { base64: png.toString('base64'), mimetype: 'image/png', caption: 'look' } });
    const img = await me.waitForEvent(dm, (e) => e.getContent().msgtype === 'm.image', 30_000);
    assert.ok((await downloadMxc(env, meUser.accessToken, img.getContent().url!)).equals(png), 'Matrix got the bytes alice sent');

    const upload = await me.client.uploadContent(generateTestPng(5, 5, [10, 200, 30]), { type: 'image/png', name: 'green.png' });
    await me.client.sendMessage(dm, { msgtype: 'm.image', body: 'green.png', url: upload.content_uri, info: { mimetype: 'image/png' } } as never);
    const net = await waitForNetworkMessage(env, DM_ALICE, (m) => m.sender === 'me' && m.content.kind === 'image');
    const bytes = Buffer.from(await (await fetch(`${env.sandbox.url}/media/${enc((net.content as { media_id: string }).media_id)}`)).arrayBuffer());
    assert.ok(bytes.equals(generateTestPng(5, 5, [10, 200, 30])), 'alice got the bytes Matrix sent (decrypted from WhatsApp media)');
  });

  it('bridges WhatsApp-only kinds a contact sends (a poll, a contact card) played as sandbox extensions', async () => {
    const secret = Buffer.alloc(32, 7).toString('base64');
    await sendAs(env, DM_ALICE, 'alice', {
      extension: {
        network: 'whatsapp', fallback: 'Poll: Lunch?',
        payload: { pollCreationMessageV3: { name: 'Lunch?', options: [{ optionName: 'Pizza' }, { optionName: 'Sushi' }], selectableOptionsCount: 1 }, messageContextInfo: { messageSecret: secret } },
      },
    });
    const poll = await me.waitForEvent(dm, (e) => /^Poll: Lunch\?/.test(e.getContent().body ?? ''), 30_000);
    assert.match(poll.getContent().body, /1\. Pizza\n2\. Sushi/);
    const vcard = 'BEGIN:VCARD\nVERSION:3.0\nFN:Dave Bowman\nTEL;type=CELL;waid=15557654321:+1 555 765 4321\nEND:VCARD';
    await sendAs(env, DM_ALICE, 'alice', {
      extension: { network: 'whatsapp', fallback: 'Contact: Dave', payload: { contactMessage: { displayName: 'Dave Bowman', vcard } } },
    });
    const card = await me.waitForEvent(dm, (e) => /^Contact: Dave Bowman/.test(e.getContent().body ?? ''), 30_000);
    assert.match(card.getContent().body, /\+1 555 765 4321/);
    const file = await me.waitForEvent(dm, (e) => e.getContent().msgtype === 'm.file' && /\.vcf$/.test(e.getContent().body ?? ''), 30_000);
    assert.equal((await downloadMxc(env, meUser.accessToken, file.getContent().url!)).toString('utf8'), vcard);
  });

  it('sends Matrix formatting and mentions as WhatsApp markup the contact sees as formatting', async () => {
    await me.sendHtml(dm, 'hi bold and strike', 'hi <b>bold</b> and <del>strike</del>');
    const net = await waitForNetworkMessage(env, DM_ALICE, (m) => m.sender === 'me' && textOf(m) === 'hi bold and strike');
    assert.deepEqual(entitiesOf(net).map((e) => e.type).sort(), ['bold', 'strikethrough']);
  });

  it('bridges the group with its name and members, messages in it, and a rename from Matrix', async () => {
    // A group without messages gets its room with its first message, as with the anchor bridge.
    await sendAs(env, GROUP, 'bob', { text: 'hello group' });
    group = await portalRoom(env, me, GROUP_JID, 60_000);
    await eventually('the group name', () => me.client.getRoom(group)?.name === 'Sandbox friends');
    const ev = await me.waitForEvent(group, isMsg('hello group'), 30_000);
    assert.equal(ev.getSender(), env.ghost('15550000002'));
    await me.client.setRoomName(group, 'Renamed from Matrix');
    await eventually('the sandbox group renamed', async () =>
      (await env.control<{ name: string }>('GET', `/chats/${enc(GROUP)}`)).name === 'Renamed from Matrix');
  });

  it('makes a contact a group admin on WhatsApp when the person raises its power level', async () => {
    // The person must be an admin on WhatsApp to promote anyone; the owner (alice) makes them one.
    await env.control('POST', `/chats/${enc(GROUP)}/roles`, { as: 'alice', user: 'me', role: 'admin' });
    const pl = await me.client.getStateEvent(group, 'm.room.power_levels', '') as { users: Record<string, number> };
    await me.client.sendStateEvent(group, 'm.room.power_levels' as never, { ...pl, users: { ...pl.users, [env.ghost('15550000002')]: 50 } } as never, '');
    await eventually('bob an admin on the sandbox', async () =>
      (await env.control<{ members: Array<{ user_id: string; role: string }> }>('GET', `/chats/${enc(GROUP)}`)).members
        .some((m) => m.user_id === 'bob' && m.role === 'admin'));
  });

  it('leaves the WhatsApp group when the person leaves its room, and gets a room for a group created on WhatsApp', async () => {
    const created = await env.control<{ id: string }>('POST', '/groups', { name: 'Book club', creator: 'bob', members: ['me', 'carol'] });
    const jid = `120363${created.id.slice(2).padStart(12, '0')}@g.us`;
    const room = await portalRoom(env, me, jid, 60_000);
    await eventually('the new group named', () => me.client.getRoom(room)?.name === 'Book club');
    await me.client.leave(room);
    await eventually('me gone from the WhatsApp group', async () =>
      !(await env.control<{ members: Array<{ user_id: string }> }>('GET', `/chats/${enc(created.id)}`)).members.some((m) => m.user_id === 'me'));
  });

  it('after a crash (SIGKILL) the stored session reconnects and a message sent meanwhile arrives once', async () => {
    await env.stopBridge('SIGKILL');
    await sendAs(env, DM_ALICE, 'alice', { text: 'while the bridge was down' });
    await env.startBridge();
    await me.waitForEvent(dm, isMsg('while the bridge was down'), 60_000);
    await new Promise((r) => setTimeout(r, 1_500));
    const copies = (await roomMessages(me, dm)).filter((e) => e.content?.body === 'while the bridge was down');
    assert.equal(copies.length, 1);
  });

  it('logs a second Matrix user in with a pairing code for their number', async () => {
    const { client: other } = await env.user('person_wa2');
    try {
      const room = (await other.client.createRoom({ is_direct: true, invite: [env.botMxid] })).room_id;
      await other.waitForMembership(room, env.botMxid, 'join', 30_000);
      await other.sendText(room, 'login pairing-code');
      await other.waitForEvent(room, (e) => e.getSender() === env.botMxid && /phone/i.test(e.getContent().body ?? ''), 30_000);
      await other.sendText(room, '+15550000003');
      const code = await other.waitForEvent(room, (e) => e.getSender() === env.botMxid && /^[A-Z0-9]{8}$/.test(e.getContent().body ?? ''), 30_000);
      const body = code.getContent().body as string;
      await env.control('POST', `/login-codes/${enc(`${body.slice(0, 4)}-${body.slice(4)}`)}/approve`, { account: 'carol' });
      await other.waitForEvent(room, (e) => e.getSender() === env.botMxid && /Logged in to WhatsApp as \+15550000003/.test(e.getContent().body ?? ''), 30_000);
    } finally {
      await other.stop();
    }
  });
});
