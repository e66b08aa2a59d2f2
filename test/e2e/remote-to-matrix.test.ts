/**
 * Network -> Matrix through the sandbox network and a real Synapse: contacts act through the
 * sandbox control API, the person's matrix-js-sdk client observes the portal rooms.
 */
import assert from 'node:assert/strict';
import type * as sdk from 'matrix-js-sdk';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import type { RegisteredUser } from '../helpers/synapse.js';
import {
  downloadMxc, downloadNetworkMedia, loginAsMe, portalRoom, roomMessages, sendAs, type NetworkMessage,
} from '../helpers/portal-setup.js';

const GROUP = 'g:1';
const DM_ALICE = 'dm:alice:me';
const DM_BOB = 'dm:bob:me';
const enc = encodeURIComponent;

describe('e2e: remote -> Matrix (sandbox network, real Synapse)', function () {
  this.timeout(120_000);
  let env: BridgeEnv;
  let me: TestClient;
  let meUser: RegisteredUser;
  let group: string;
  let dmAlice: string;

  const isMsg = (body: string) => (e: sdk.MatrixEvent) => e.getType() === 'm.room.message' && e.getContent().body === body;
  /** Sends as a contact and waits for the bridged Matrix event (matched by its unique body). */
  async function bridged(chat: string, room: string, as: string, body: Record<string, unknown>, expectBody: string): Promise<{ net: NetworkMessage; ev: sdk.MatrixEvent }> {
    const net = await sendAs(env, chat, as, body);
    const ev = await me.waitForEvent(room, isMsg(expectBody), 30_000);
    return { net, ev };
  }

  before(async function () {
    this.timeout(240_000);
    env = await BridgeEnv.start();
    ({ client: me, user: meUser } = await env.user('person_r2m'));
    await loginAsMe(env, me);
    group = await portalRoom(env, me, GROUP);
    dmAlice = await portalRoom(env, me, DM_ALICE);
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  it('puts m.bridge state on portal rooms naming the bot, the network and the chat', async () => {
    type BridgeInfo = { bridgebot?: string; protocol?: { id?: string }; channel?: { id?: string; displayname?: string } };
    const bridgeState = async (room: string) => ((await me.client.roomState(room)) as unknown as Array<{ type: string; content: BridgeInfo }>)
      .find((e) => e.type === 'm.bridge');
    for (const [room, chat] of [[group, GROUP], [dmAlice, DM_ALICE]] as const) {
      const bridge = await bridgeState(room);
      assert.ok(bridge, `m.bridge state in the portal of ${chat}`);
      assert.equal(bridge.content.bridgebot, env.botMxid);
      assert.equal(bridge.content.protocol?.id, 'sandbox');
      assert.equal(bridge.content.channel?.id, chat);
    }
    assert.equal((await bridgeState(group))?.content.channel?.displayname, 'Sandbox friends');
  });

  it('gives ghosts the display names the network has', async () => {
    const accounts = await env.control<Array<{ id: string; name: string }>>('GET', '/accounts');
    for (const id of ['alice', 'bob', 'carol']) {
      const name = accounts.find((a) => a.id === id)!.name;
      await me.waitForMembership(group, env.ghost(id), 'join', 30_000);
      const profile = await me.client.getProfileInfo(env.ghost(id));
      assert.equal(profile.displayname, name, `profile name of ${id}`);
      await eventually(`${id}'s member name in the group`, () => me.client.getRoom(group)?.getMember(env.ghost(id))?.rawDisplayName === name);
    }
  });

  it('bridges formatted text to formatted_body with the right tags', async () => {
    const text = 'bold italic code link plain';
    const { ev } = await bridged(DM_ALICE, dmAlice, 'alice', {
      formatted: {
        text, entities: [
          { type: 'bold', offset: 0, length: 4 }, { type: 'italic', offset: 5, length: 6 },
          { type: 'code', offset: 12, length: 4 }, { type: 'link', offset: 17, length: 4, url: 'https://example.org/x' },
        ],
      },
    }, text);
    const c = ev.getContent();
    assert.equal(ev.getSender(), env.ghost('alice'));
    assert.equal(c.msgtype, 'm.text');
    assert.equal(c.format, 'org.matrix.custom.html');
    assert.match(c.formatted_body, /<strong>bold<\/strong>/);
    assert.match(c.formatted_body, /<em>italic<\/em>/);
    assert.match(c.formatted_body, /<code>code<\/code>/);
    assert.match(c.formatted_body, /<a href="https:\/\/example\.org\/x">link<\/a>/);
    assert.match(c.formatted_body, /plain$/);
  });

  it('turns a mention of me into a pill for the Matrix user and lists it in m.mentions', async () => {
    const text = 'hey Me, look';
    const { ev } = await bridged(GROUP, group, 'bob', {
      formatted: { text, entities: [{ type: 'mention', offset: 4, length: 2, userId: 'me' }] },
    }, text);
    const c = ev.getContent();
    assert.equal(ev.getSender(), env.ghost('bob'));
    assert.ok(c.formatted_body.includes(`<a href="https://matrix.to/#/${enc(me.userId)}">Me</a>`), c.formatted_body);
    assert.deepEqual(c['m.mentions'], { user_ids: [me.userId] });
  });

  it('bridges a reply with m.in_reply_to pointing at the replied-to event', async () => {
    const { net: first, ev: firstEv } = await bridged(DM_ALICE, dmAlice, 'alice', { text: 'reply target' }, 'reply target');
    const { ev } = await bridged(DM_ALICE, dmAlice, 'alice', { text: 'the reply', reply_to: first.id }, 'the reply');
    assert.equal(ev.getContent()['m.relates_to']?.['m.in_reply_to']?.event_id, firstEv.getId());
  });

  it('bridges an edit as m.replace with m.new_content', async () => {
    const { net, ev: orig } = await bridged(DM_ALICE, dmAlice, 'alice', { text: 'before edit' }, 'before edit');
    await env.control('POST', `/messages/${enc(net.id)}/edit`, { as: 'alice', text: 'after edit' });
    const edit = await me.waitForEvent(dmAlice, (e) => e.getType() === 'm.room.message' && e.getContent()['m.relates_to']?.rel_type === 'm.replace'
      && e.getContent()['m.relates_to']?.event_id === orig.getId(), 30_000);
    assert.equal(edit.getSender(), env.ghost('alice'));
    assert.equal(edit.getContent()['m.new_content']?.body, 'after edit');
    assert.equal(edit.getContent().body, '* after edit');
  });

  it('bridges a reaction, and a second reaction by the same contact replaces (redacts) the first', async () => {
    const { net, ev: target } = await bridged(GROUP, group, 'carol', { text: 'react to me' }, 'react to me');
    const isReaction = (key: string) => (e: sdk.MatrixEvent) => e.getType() === 'm.reaction' && e.getSender() === env.ghost('alice')
      && e.getContent()['m.relates_to']?.event_id === target.getId() && e.getContent()['m.relates_to']?.key === key;
    await env.control('POST', `/messages/${enc(net.id)}/reactions`, { as: 'alice', emoji: '👍' });
    const first = await me.waitForEvent(group, isReaction('👍'), 30_000);
    assert.equal(first.getContent()['m.relates_to']?.rel_type, 'm.annotation');
    await env.control('POST', `/messages/${enc(net.id)}/reactions`, { as: 'alice', emoji: '🎉' });
    const second = await me.waitForEvent(group, isReaction('🎉'), 30_000);
    assert.equal(second.getContent()['m.relates_to']?.rel_type, 'm.annotation');
    const redaction = await me.waitForEvent(group, (e) => e.getType() === 'm.room.redaction' && (e.event.redacts ?? e.getContent().redacts) === first.getId(), 30_000);
    assert.ok(redaction.getSender() === env.ghost('alice') || redaction.getSender() === env.botMxid);
    // The server agrees: the first reaction is redacted, the second stands.
    const events = await roomMessages(me, group);
    const firstNow = events.find((e) => e.event_id === first.getId());
    assert.ok(firstNow, 'the first reaction is still listed');
    assert.equal(Object.keys(firstNow.content).length, 0, 'the first reaction is redacted');
    const secondNow = events.find((e) => e.event_id === second.getId());
    assert.equal((secondNow?.content['m.relates_to'] as { key?: string } | undefined)?.key, '🎉');
  });

  it('bridges a removed reaction as a redaction', async () => {
    const { net, ev: target } = await bridged(GROUP, group, 'carol', { text: 'react then unreact' }, 'react then unreact');
    await env.control('POST', `/messages/${enc(net.id)}/reactions`, { as: 'bob', emoji: '😀' });
    const reaction = await me.waitForEvent(group, (e) => e.getType() === 'm.reaction' && e.getContent()['m.relates_to']?.event_id === target.getId(), 30_000);
    await env.control('DELETE', `/messages/${enc(net.id)}/reactions`, { as: 'bob' });
    await me.waitForEvent(group, (e) => e.getType() === 'm.room.redaction' && (e.event.redacts ?? e.getContent().redacts) === reaction.getId(), 30_000);
  });

  it('bridges a deletion as a redaction of the message', async () => {
    const { net, ev } = await bridged(DM_ALICE, dmAlice, 'alice', { text: 'delete me' }, 'delete me');
    await env.control('DELETE', `/messages/${enc(net.id)}`, { as: 'alice' });
    const redaction = await me.waitForEvent(dmAlice, (e) => e.getType() === 'm.room.redaction' && (e.event.redacts ?? e.getContent().redacts) === ev.getId(), 30_000);
    assert.equal(redaction.getSender(), env.ghost('alice'));
    const events = await roomMessages(me, dmAlice);
    assert.equal(Object.keys(events.find((e) => e.event_id === ev.getId())?.content ?? { x: 1 }).length, 0, 'the message is redacted on the server');
  });

  it('bridges an image as m.image whose mxc bytes equal the network media', async () => {
    const net = await sendAs(env, DM_ALICE, 'alice', { image: { generate: { width: 64, height: 48 } } });
    assert.equal(net.content.kind, 'image');
    const ev = await me.waitForEvent(dmAlice, (e) => e.getContent().msgtype === 'm.image', 30_000);
    const c = ev.getContent();
    assert.match(c.url, /^mxc:\/\/localhost\//);
    assert.equal(c.info?.mimetype, 'image/png');
    assert.equal(c.info?.w, 64);
    assert.equal(c.info?.h, 48);
    const fromMatrix = await downloadMxc(env, meUser.accessToken, c.url);
    const fromNetwork = await downloadNetworkMedia(env, (net.content as { media_id: string }).media_id);
    assert.ok(fromNetwork.length > 0);
    assert.deepEqual(fromMatrix, fromNetwork);
    assert.equal(c.info?.size, fromNetwork.length);
  });

  it('bridges a location as m.location with a geo URI', async () => {
    await sendAs(env, DM_ALICE, 'alice', { location: { lat: 52.52, lon: 13.405, name: 'Berlin' } });
    const ev = await me.waitForEvent(dmAlice, (e) => e.getContent().msgtype === 'm.location', 30_000);
    assert.equal(ev.getContent().geo_uri, 'geo:52.52,13.405');
    assert.match(ev.getContent().body, /Berlin/);
  });

  it('shows a typing contact as its ghost in m.typing', async () => {
    await env.control('POST', `/chats/${enc(DM_ALICE)}/typing`, { as: 'alice', typing: true });
    await eventually('the alice ghost typing', () => me.client.getRoom(dmAlice)?.getMember(env.ghost('alice'))?.typing === true);
    await env.control('POST', `/chats/${enc(DM_ALICE)}/typing`, { as: 'alice', typing: false });
    await eventually('the alice ghost to stop typing', () => me.client.getRoom(dmAlice)?.getMember(env.ghost('alice'))?.typing === false);
  });

  it('puts the ghost read receipt on the event that was read', async () => {
    const { net, ev } = await bridged(GROUP, group, 'bob', { text: 'please read' }, 'please read');
    await env.control('POST', `/chats/${enc(GROUP)}/read`, { as: 'carol', message: net.id });
    await eventually('carol\'s read receipt on the message', () => me.client.getRoom(group)?.getReadReceiptForUserId(env.ghost('carol'), true)?.eventId === ev.getId());
  });

  it('bridges a group name and topic change as state events', async () => {
    await env.control('PATCH', `/chats/${enc(GROUP)}`, { as: 'bob', name: 'Renamed friends', topic: 'A new topic' });
    const name = await me.waitForRoomState(group, 'm.room.name', '', (e) => e.getContent().name === 'Renamed friends', 30_000);
    const topic = await me.waitForRoomState(group, 'm.room.topic', '', (e) => e.getContent().topic === 'A new topic', 30_000);
    assert.equal(name.getSender(), env.ghost('bob'));
    assert.equal(topic.getSender(), env.ghost('bob'));
    const info = await me.waitForRoomState(group, 'm.bridge', `net.tributary://sandbox/${encodeURIComponent(GROUP)}`,
      (e) => e.getContent().channel?.displayname === 'Renamed friends', 30_000);
    assert.equal(info.getContent().channel.id, GROUP);
  });

  it('keeps the order of a burst of 30 messages, each exactly once', async () => {
    const dmBob = await portalRoom(env, me, DM_BOB);
    const bodies = Array.from({ length: 30 }, (_, i) => `burst ${String(i).padStart(2, '0')}`);
    for (const text of bodies) await sendAs(env, DM_BOB, 'bob', { text });
    const seen = await eventually('all 30 burst messages in the room', async () => {
      const got = (await roomMessages(me, dmBob)).filter((e) => e.type === 'm.room.message' && String(e.content.body).startsWith('burst '));
      return got.length >= 30 ? got : undefined;
    }, 60_000);
    assert.deepEqual(seen.map((e) => e.content.body), bodies);
    assert.ok(seen.every((e) => e.sender === env.ghost('bob')));
  });
});
