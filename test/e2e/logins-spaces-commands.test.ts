/**
 * Several logins for one Matrix user, the personal space per login, and the commands the other
 * suites do not cover (version, unset-relay, delete-portal, the QR login flow).
 */
import assert from 'node:assert/strict';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import { loginAsMe, portalRoom, sendAs } from '../helpers/portal-setup.js';

describe('e2e: several logins, personal spaces, more commands', function () {
  this.timeout(180_000);
  let env: BridgeEnv;
  let me: TestClient;
  let mgmt: string;

  before(async () => {
    env = await BridgeEnv.start();
    ({ client: me } = await env.user('admin'));
    ({ mgmt } = await loginAsMe(env, me));
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  const botSaid = (re: RegExp) => me.waitForEvent(mgmt, (e) => e.getSender() === env.botMxid && re.test(e.getContent().body ?? ''), 30_000);

  it('puts each portal of a login into that login\'s personal space', async () => {
    const dm = await portalRoom(env, me, 'dm:alice:me');
    // The bot invites the person to the space; portalRoom() above may already have accepted it.
    const space = await eventually('the personal space', async () =>
      me.client.getRooms().find((r) => ['invite', 'join'].includes(r.getMyMembership())
        && r.currentState.getStateEvents('m.room.create', '')?.getContent().type === 'm.space'));
    if (space.getMyMembership() === 'invite') await me.client.joinRoom(space.roomId);
    assert.equal(space.name, 'Sandbox (me)');
    const child = await me.waitForRoomState(space.roomId, 'm.space.child', dm, undefined, 30_000);
    assert.deepEqual(child.getContent().via, ['localhost']);
    const create = await me.waitForRoomState(space.roomId, 'm.room.create', '');
    assert.equal(create.getContent().type, 'm.space');
  });

  it('adds a second login for the same Matrix user through the QR flow', async () => {
    await me.sendText(mgmt, 'login qr');
    const codeNotice = await me.waitForEvent(mgmt, (e) => e.getSender() === env.botMxid && e.getContent().msgtype === 'm.image' && e.getContent().body === 'login-qr.png', 30_000);
    assert.match(codeNotice.getContent().url, /^mxc:\/\//);
    const codes = await env.control<Array<{ code: string }>>('GET', '/login-codes');
    assert.ok(codes.length > 0, 'a login code is pending on the network');
    await env.control('POST', `/login-codes/${encodeURIComponent(codes[0]!.code)}/approve`, { account: 'bob' });
    await botSaid(/Logged in as bob/);
    await me.sendText(mgmt, 'list-logins');
    const list = await botSaid(/Your logins/);
    assert.match(list.getContent().body, /me \(me\)/);
    assert.match(list.getContent().body, /bob \(bob\)/);
  });

  it('keeps one portal per DM side and one shared portal for a group both logins are in', async () => {
    await env.control('POST', '/dms', { a: 'alice', b: 'bob' });
    await sendAs(env, 'dm:alice:bob', 'alice', { text: 'hi bob' });
    const aliceMe = await portalRoom(env, me, 'dm:alice:me');
    const aliceBob = await portalRoom(env, me, 'dm:alice:bob');
    assert.notEqual(aliceMe, aliceBob);
    await me.waitForEvent(aliceBob, (e) => e.getContent().body === 'hi bob');
    await sendAs(env, 'g:1', 'carol', { text: 'to both of you' });
    const group = await portalRoom(env, me, 'g:1');
    await me.waitForEvent(group, (e) => e.getContent().body === 'to both of you');
    await new Promise((r) => setTimeout(r, 1500));
    const copies = me.timeline(group).filter((e) => e.getContent().body === 'to both of you');
    assert.equal(copies.length, 1, 'the message seen by two logins is bridged once');
  });

  it('answers version', async () => {
    await me.sendText(mgmt, 'version');
    const v = await botSaid(/Tributary Sandbox bridge \d+\.\d+\.\d+/);
    assert.equal(v.getContent().msgtype, 'm.notice');
  });

  it('sets and unsets a relay in a portal with the command prefix', async () => {
    const group = await portalRoom(env, me, 'g:1');
    await me.sendText(group, '!sandbox set-relay');
    await me.waitForEvent(group, (e) => e.getSender() === env.botMxid && /will now be sent through/.test(e.getContent().body ?? ''));
    await me.sendText(group, '!sandbox unset-relay');
    await me.waitForEvent(group, (e) => e.getSender() === env.botMxid && /Relay removed/.test(e.getContent().body ?? ''));
    await me.sendText(group, '!sandbox unset-relay');
    await me.waitForEvent(group, (e) => e.getSender() === env.botMxid && /has no relay/.test(e.getContent().body ?? ''));
  });

  it('deletes a portal: the room is emptied and a new message makes a fresh room', async () => {
    const room = await portalRoom(env, me, 'dm:alice:bob');
    await me.sendText(room, '!sandbox delete-portal');
    await me.waitForMembership(room, me.userId, 'leave', 30_000);
    await sendAs(env, 'dm:alice:bob', 'alice', { text: 'are you still there?' });
    // Double puppeting joins the person to the new room, so it shows up as a joined room.
    const fresh = await eventually('a new room carrying the next message of the deleted portal', () =>
      me.client.getRooms().find((r) => r.roomId !== room
        && r.getLiveTimeline().getEvents().some((e) => e.getContent().body === 'are you still there?')), 30_000);
    assert.notEqual(fresh.roomId, room);
    assert.equal(me.timeline(room).some((e) => e.getContent().body === 'are you still there?'), false);
  });
});
