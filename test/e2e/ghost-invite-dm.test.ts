/**
 * Starting a direct chat from Matrix by inviting a contact's ghost into a new room, as clients do:
 * the room becomes the chat's portal; a second room for a chat that already has one is pointed to
 * the existing room.
 */
import assert from 'node:assert/strict';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import { loginAsMe, networkMessages, sendAs, textOf } from '../helpers/portal-setup.js';

describe('e2e: a DM started by inviting a ghost (sandbox network, real Synapse)', function () {
  this.timeout(120_000);
  let env: BridgeEnv;
  let me: TestClient;

  before(async function () {
    env = await BridgeEnv.start();
    ({ client: me } = await env.user('alice_g'));
    await loginAsMe(env, me);
    await env.control('POST', '/accounts', { id: 'dave', name: 'Dave Bowman' });
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  it('turns the person\'s room into the portal of a new chat, both ways', async () => {
    const room = (await me.client.createRoom({ is_direct: true, invite: [env.ghost('dave')] })).room_id;
    await me.waitForMembership(room, env.ghost('dave'), 'join', 30_000);
    await me.waitForMembership(room, env.botMxid, 'join', 30_000);
    await me.sendText(room, 'hello dave, from a room I made');
    const chats = await eventually('the chat on the network', async () => (await env.control<Array<{ id: string }>>('GET', '/chats?account=me')).find((c) => c.id === 'dm:dave:me'));
    await eventually('the message on the network', async () => (await networkMessages(env, chats.id)).find((m) => m.sender === 'me' && textOf(m) === 'hello dave, from a room I made'));
    await sendAs(env, chats.id, 'dave', { text: 'hi, I got it' });
    const reply = await me.waitForEvent(room, (e) => e.getContent().body === 'hi, I got it');
    assert.equal(reply.getSender(), env.ghost('dave'));
  });

  it('points a room for a chat that already has one to the existing room', async () => {
    const room = (await me.client.createRoom({ is_direct: true, invite: [env.ghost('alice')] })).room_id;
    const notice = await me.waitForEvent(room, (e) => e.getSender() === env.ghost('alice') && /already have a chat/.test(e.getContent().body ?? ''), 30_000);
    assert.match(notice.getContent().body, /matrix\.to\/#\/!/);
    await me.waitForMembership(room, env.ghost('alice'), 'leave', 30_000);
  });

  it('rejects the invite of a person who is not logged in, saying why', async () => {
    const { client: other } = await env.user('bob_g');
    try {
      const room = (await other.client.createRoom({ is_direct: true, invite: [env.ghost('carol')] })).room_id;
      await other.waitForMembership(room, env.ghost('carol'), 'leave', 30_000);
      const ev = other.client.getRoom(room)?.currentState.getStateEvents('m.room.member', env.ghost('carol'));
      assert.match(String(ev?.getContent().reason ?? ''), /not logged in/);
    } finally {
      await other.stop();
    }
  });
});
