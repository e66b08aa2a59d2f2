/** Disappearing messages: a chat timer set on the network makes bridged messages vanish from Matrix. */
import assert from 'node:assert/strict';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import { loginAsMe, portalRoom, sendAs, waitForNetworkMessage } from '../helpers/portal-setup.js';

const DM = 'dm:bob:me';

describe('e2e: disappearing messages', function () {
  this.timeout(120_000);
  let env: BridgeEnv;
  let me: TestClient;
  let room: string;

  before(async () => {
    env = await BridgeEnv.start();
    ({ client: me } = await env.user('vanish'));
    await loginAsMe(env, me);
    room = await portalRoom(env, me, DM);
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  const redacted = (eventId: string) => async () => {
    const ev = await me.client.fetchRoomEvent(room, eventId);
    return ev.unsigned?.redacted_because !== undefined || Object.keys(ev.content ?? {}).length === 0;
  };

  it('announces the chat timer and redacts a contact\'s message once it runs out', async () => {
    await env.control('PATCH', `/chats/${encodeURIComponent(DM)}`, { as: 'bob', disappear_ms: 3000 });
    const notice = await me.waitForEvent(room, (e) => /Disappearing messages are now on/.test(e.getContent().body ?? ''));
    assert.match(notice.getContent().body, /3 seconds after they are sent/);
    await sendAs(env, DM, 'bob', { text: 'this will vanish' });
    const ev = await me.waitForEvent(room, (e) => e.getContent().body === 'this will vanish');
    await eventually('the message to be redacted', redacted(ev.getId()!), 30_000);
  });

  it('redacts the person\'s own Matrix message in a disappearing chat too', async () => {
    const eventId = await me.sendText(room, 'mine vanishes too');
    await waitForNetworkMessage(env, DM, (m) => m.content.kind === 'text' && m.content.text === 'mine vanishes too');
    await eventually('my message to be redacted', redacted(eventId), 30_000);
  });

  it('stops when the timer is turned off', async () => {
    await env.control('PATCH', `/chats/${encodeURIComponent(DM)}`, { as: 'bob', disappear_ms: null });
    await me.waitForEvent(room, (e) => /Disappearing messages are now off/.test(e.getContent().body ?? ''));
    await sendAs(env, DM, 'bob', { text: 'this one stays' });
    const ev = await me.waitForEvent(room, (e) => e.getContent().body === 'this one stays');
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(await redacted(ev.getId()!)(), false);
  });
});
