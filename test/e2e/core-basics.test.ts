/**
 * The core end to end through the sandbox network: management room, login by bot command,
 * portals for existing chats, and text both ways.
 */
import assert from 'node:assert/strict';
import { BridgeEnv, sleep } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import { portalRoom } from '../helpers/portal-setup.js';

describe('e2e: bridge basics (sandbox network, real Synapse)', function () {
  this.timeout(120_000);
  let env: BridgeEnv;
  let me: TestClient;
  let mgmt: string;
  let dm: string;

  before(async function () {
    env = await BridgeEnv.start();
    ({ client: me } = await env.user('alice_m'));
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  it('joins a DM from an allowed user and makes it the management room', async () => {
    mgmt = (await me.client.createRoom({ is_direct: true, invite: [env.botMxid] })).room_id;
    await me.waitForMembership(mgmt, env.botMxid, 'join');
    const hello = await me.waitForEvent(mgmt, (e) => e.getSender() === env.botMxid && /management room/.test(e.getContent().body ?? ''));
    assert.equal(hello.getContent().msgtype, 'm.notice');
  });

  it('answers help and lists the login flows', async () => {
    await me.sendText(mgmt, 'help');
    const help = await me.waitForEvent(mgmt, (e) => e.getSender() === env.botMxid && /Commands:/.test(e.getContent().body ?? ''));
    assert.match(help.getContent().body, /login/);
    await me.sendText(mgmt, 'login');
    const flows = await me.waitForEvent(mgmt, (e) => /Ways to log in/.test(e.getContent().body ?? ''));
    assert.match(flows.getContent().body, /password/);
  });

  it('logs in with the password flow and creates portals for existing chats', async () => {
    await me.sendText(mgmt, 'login password');
    await me.waitForEvent(mgmt, (e) => /your username/.test(e.getContent().body ?? ''));
    await me.sendText(mgmt, 'me');
    await me.waitForEvent(mgmt, (e) => /your password/.test(e.getContent().body ?? ''));
    await me.sendText(mgmt, 'sandbox');
    await me.waitForEvent(mgmt, (e) => /Logged in as me/.test(e.getContent().body ?? ''));
    dm = await portalRoom(env, me, 'dm:alice:me');
    const group = await portalRoom(env, me, 'g:1');
    assert.notEqual(dm, group);
  });

  it('double-puppets the person: their own remote message appears as sent by them, once', async () => {
    // The bridge accepted the portal invite for the person through the double-puppet registration.
    await me.waitForMembership(dm, me.userId, 'join');
    await env.control('POST', `/chats/${encodeURIComponent('dm:alice:me')}/messages`, { as: 'me', text: 'sent from my phone' });
    const ev = await me.waitForEvent(dm, (e) => e.getContent().body === 'sent from my phone');
    assert.equal(ev.getSender(), me.userId);
    await sleep(1500);
    const msgs = await env.control<Array<{ content: { text?: string } }>>('GET', `/chats/${encodeURIComponent('dm:alice:me')}/messages`);
    assert.equal(msgs.filter((m) => m.content.text === 'sent from my phone').length, 1, 'the puppeted event was not bridged back');
  });

  it('lists contacts and opens a new DM with start-chat', async () => {
    await me.sendText(mgmt, 'contacts');
    const list = await me.waitForEvent(mgmt, (e) => /carol/.test(e.getContent().body ?? '') && e.getSender() === env.botMxid);
    assert.match(list.getContent().body, /bob/);
    await me.sendText(mgmt, 'start-chat carol');
    const reply = await me.waitForEvent(mgmt, (e) => /Direct chat with/.test(e.getContent().body ?? ''));
    const roomId = /#\/(!\S+)/.exec(reply.getContent().body)?.[1];
    assert.ok(roomId, 'the reply links the new room');
    const chats = await env.control<Array<{ id: string }>>('GET', '/chats?account=me');
    assert.ok(chats.some((c) => c.id === 'dm:carol:me'), 'the DM exists on the network');
  });
});
