/**
 * Rooms and members through a real Synapse and the sandbox network: group membership and roles
 * on the network become ghost memberships and power levels, room name/topic from Matrix reach
 * the network, a new network group becomes a new portal, and relay mode sends for Matrix users
 * without a login. The person here is `@admin:localhost` (bridge admin in the test config).
 */
import assert from 'node:assert/strict';
import type * as sdk from 'matrix-js-sdk';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import { loginAsMe, networkChat, portalRoom, textOf, waitForNetworkMessage, type NetworkChat } from '../helpers/portal-setup.js';

const GROUP = 'g:1';
const enc = encodeURIComponent;

describe('e2e: rooms and members (sandbox network, real Synapse)', function () {
  this.timeout(120_000);
  let env: BridgeEnv;
  let admin: TestClient;
  let guest: TestClient | undefined;
  let group: string;

  const powerLevels = async (room: string) =>
    ((await admin.client.getStateEvent(room, 'm.room.power_levels', '')) as { users?: Record<string, number> }).users ?? {};
  const fromBot = (re: RegExp) => (e: sdk.MatrixEvent) => e.getSender() === env.botMxid && re.test(e.getContent().body ?? '');

  before(async function () {
    this.timeout(240_000);
    env = await BridgeEnv.start();
    ({ client: admin } = await env.user('admin'));
    assert.equal(admin.userId, '@admin:localhost');
    await loginAsMe(env, admin);
    group = await portalRoom(env, admin, GROUP);
    await env.control('POST', '/accounts', { id: 'dave', name: 'Dave Doe' });
  });
  after(async () => {
    await guest?.stop();
    await admin?.stop();
    await env?.stop();
  });

  it('has every network member of the group as a joined ghost', async () => {
    for (const id of ['alice', 'bob', 'carol']) await admin.waitForMembership(group, env.ghost(id), 'join', 30_000);
    assert.equal(admin.client.getRoom(group)?.getMember(env.ghost('dave')), null);
  });

  it('joins the ghost of a contact added on the network, with the network name', async () => {
    await env.control('POST', `/chats/${enc(GROUP)}/members`, { as: 'alice', add: 'dave' });
    await admin.waitForMembership(group, env.ghost('dave'), 'join', 30_000);
    await eventually('dave\'s display name', () => admin.client.getRoom(group)?.getMember(env.ghost('dave'))?.rawDisplayName === 'Dave Doe');
  });

  it('removes the ghost of a contact removed on the network, and joins it again when re-added', async () => {
    await env.control('POST', `/chats/${enc(GROUP)}/members`, { as: 'alice', remove: 'dave' });
    await admin.waitForMembership(group, env.ghost('dave'), 'leave', 30_000);
    const kick = admin.client.getRoom(group)?.getMember(env.ghost('dave'))?.events.member;
    assert.equal(kick?.getSender(), env.ghost('alice'), 'kicked by the ghost of the network admin who removed him');
    await env.control('POST', `/chats/${enc(GROUP)}/members`, { as: 'alice', add: 'dave' });
    await admin.waitForMembership(group, env.ghost('dave'), 'join', 30_000);
  });

  it('makes the ghost of a contact who leaves on the network leave the room', async () => {
    await env.control('POST', `/chats/${enc(GROUP)}/members`, { as: 'dave', remove: 'dave' });
    await admin.waitForMembership(group, env.ghost('dave'), 'leave', 30_000);
    const member = admin.client.getRoom(group)?.getMember(env.ghost('dave'));
    assert.equal(member?.events.member?.getSender(), env.ghost('dave'), 'the ghost left by itself (not kicked)');
  });

  it('maps the owner and admin roles to power levels', async () => {
    const users = await powerLevels(group);
    assert.equal(users[env.ghost('alice')], 75, 'owner');
    assert.equal(users[env.ghost('bob')] ?? 0, 0, 'member');
    assert.equal(users[admin.userId], 50, 'the person');
    // A role change on the network reaches the room at once (members_changed 'promote').
    await env.control('POST', `/chats/${enc(GROUP)}/roles`, { user: 'bob', role: 'admin' });
    await admin.waitForRoomState(group, 'm.room.power_levels', '', (e) => e.getContent().users?.[env.ghost('bob')] === 50, 30_000);
    assert.equal((await powerLevels(group))[env.ghost('alice')], 75);
    // A resync agrees with what the event set.
    await admin.sendText(group, '!sandbox sync');
    await admin.waitForEvent(group, fromBot(/Syncing this chat/), 30_000);
    assert.equal((await powerLevels(group))[env.ghost('bob')], 50);
  });

  it('renames the group and sets its topic on the network from Matrix', async () => {
    const nameEv = await admin.client.setRoomName(group, 'Renamed from Matrix');
    const topicEv = await admin.client.setRoomTopic(group, 'Topic from Matrix');
    const chat = await eventually<NetworkChat>('the network name and topic', async () => {
      const c = await networkChat(env, GROUP);
      return c.name === 'Renamed from Matrix' && c.topic === 'Topic from Matrix' ? c : undefined;
    });
    assert.equal(chat.name, 'Renamed from Matrix');
    for (const id of [nameEv.event_id, topicEv.event_id]) {
      await admin.waitForEvent(group, (e) => e.getType() === 'com.beeper.message_send_status' && e.getContent()['m.relates_to']?.event_id === id
        && e.getContent().status === 'SUCCESS', 30_000);
    }
  });

  it('invites the person to a new portal for a group created on the network', async () => {
    const created = await env.control<{ id: string }>('POST', '/groups', { name: 'Golf club', creator: 'alice', members: ['me', 'bob'], topic: 'golf' });
    const room = await portalRoom(env, admin, created.id);
    await admin.waitForRoomState(room, 'm.room.name', '', (e) => e.getContent().name === 'Golf club', 30_000);
    await admin.waitForRoomState(room, 'm.room.topic', '', (e) => e.getContent().topic === 'golf', 30_000);
    await admin.waitForMembership(room, env.ghost('alice'), 'join', 30_000);
    await admin.waitForMembership(room, env.ghost('bob'), 'join', 30_000);
    assert.equal((await powerLevels(room))[env.ghost('alice')], 75, 'the creator is the owner');
  });

  it('leaves the group on the network when the person leaves its room in Matrix', async () => {
    const created = await env.control<{ id: string }>('POST', '/groups', { name: 'Leavers', creator: 'alice', members: ['me', 'bob'] });
    const room = await portalRoom(env, admin, created.id);
    await admin.client.leave(room);
    await eventually('me gone from the network group', async () =>
      !(await networkChat(env, created.id)).members.some((m) => m.user_id === 'me'));
    const chat = await networkChat(env, created.id);
    assert.deepEqual(chat.members.map((m) => m.user_id).sort(), ['alice', 'bob'], 'nobody else was removed');
  });

  it('relays a message of a Matrix user without a login, prefixed with their display name', async () => {
    await admin.sendText(group, '!sandbox set-relay');
    await admin.waitForEvent(group, fromBot(/will now be sent through me/), 30_000);
    ({ client: guest } = await env.user('guest_relay'));
    await guest.client.setDisplayName('Guest Person');
    await admin.client.invite(group, guest.userId);
    await guest.waitForInvite((r) => r === group);
    await guest.client.joinRoom(group);
    await admin.waitForMembership(group, guest.userId, 'join');
    const eventId = await guest.sendText(group, 'hello through the relay');
    const net = await waitForNetworkMessage(env, GROUP, (m) => textOf(m).endsWith('hello through the relay'));
    assert.equal(net.sender, 'me', 'sent through the relay login');
    assert.equal(textOf(net), 'Guest Person: hello through the relay');
    await guest.waitForEvent(group, (e) => e.getType() === 'com.beeper.message_send_status' && e.getContent()['m.relates_to']?.event_id === eventId
      && e.getContent().status === 'SUCCESS', 30_000);
  });
});
