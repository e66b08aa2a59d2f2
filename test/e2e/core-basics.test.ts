/**
 * The core end to end through the sandbox network: management room, login by bot command,
 * portals for existing chats, and text both ways.
 */
import assert from 'node:assert/strict';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';

describe('e2e: bridge basics (sandbox network, real Synapse)', function () {
  this.timeout(120_000);
  let env: BridgeEnv;
  let me: TestClient;
  let mgmt: string;

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
    const dm = await me.waitForInvite((_r, inviter) => inviter === env.botMxid, 30_000);
    assert.ok(dm.startsWith('!'));
  });
});
