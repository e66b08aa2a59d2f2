/**
 * Message requests end to end, Messenger and Instagram (real Synapse, the bridge as its own process, the Meta
 * emulator as Meta): a stranger's DM arrives as a portal whose topic and one bot notice say it is a
 * request and how to accept it; `!<bridge> accept` moves it to the inbox (the topic drops the
 * request line) and later messages still arrive; replying accepts a second request; `!<bridge>
 * decline` deletes a third. Strangers are sandbox accounts the emulator marks with setStranger.
 */
import assert from 'node:assert/strict';
import type * as sdk from 'matrix-js-sdk';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import { portalRoom, sendAs, waitForNetworkMessage } from '../helpers/portal-setup.js';

const ME = '15550000000';
const STRANGERS = { dave: '15550000009', erin: '15550000008', frank: '15550000007' } as const;
for (const kind of ['messenger', 'instagram'] as const) {
  const app = kind === 'messenger' ? 'Messenger' : 'Instagram';
  const REQUEST = new RegExp(`message request on ${app}`);

  describe(`e2e: ${app} message requests over the Meta emulator (real Synapse)`, function () {
    this.timeout(120_000);
    let env: BridgeEnv;
    let me: TestClient;
    let mgmt: string;
    const fromBot = (room: string, re: RegExp) => me.waitForEvent(room, (e: sdk.MatrixEvent) => e.getSender() === env.botMxid && re.test(e.getContent().body ?? ''), 30_000);
    const isMsg = (body: string) => (e: sdk.MatrixEvent) => e.getType() === 'm.room.message' && e.getContent().body === body;
    const topicOf = (room: string) => String(me.client.getRoom(room)?.currentState.getStateEvents('m.room.topic', '')?.getContent().topic ?? '');

    async function stranger(id: keyof typeof STRANGERS, text: string): Promise<string> {
      env.metaEmulator!.setStranger(id, true);
      await env.control('POST', '/accounts', { id, name: `${id} Stranger`, phone: `+${STRANGERS[id]}` });
      const chat = `dm:${[id, 'me'].sort().join(':')}`;
      await env.control('POST', '/dms', { a: id, b: 'me' });
      await sendAs(env, chat, id, { text });
      return chat;
    }

    before(async function () {
      this.timeout(240_000);
      env = await BridgeEnv.start({ bridge: kind });
      ({ client: me } = await env.user('person_requests'));
      mgmt = (await me.client.createRoom({ is_direct: true, invite: [env.botMxid] })).room_id;
      await me.waitForMembership(mgmt, env.botMxid, 'join', 30_000);
      const token = (await env.control<{ token: string }>('GET', '/accounts/me')).token;
      await me.sendText(mgmt, 'login cookies');
      await fromBot(mgmt, /Please send your .* cookies/);
      await me.sendText(mgmt, kind === 'messenger'
        ? `xs=${token}; c_user=${ME}; datr=datr-e2e`
        : `sessionid=${token}; ds_user_id=${ME}; csrftoken=csrf-e2e; mid=mid-e2e; ig_did=did-e2e`);
      await fromBot(mgmt, new RegExp(`Logged in to ${app}`));
    });
    after(async () => {
      await me?.stop();
      await env?.stop();
    });

    it('a stranger\'s DM is a request portal: the topic and one notice say so; accept moves it to the inbox', async () => {
      const chat = await stranger('dave', 'hi, we met at the conference');
      const room = await portalRoom(env, me, STRANGERS.dave, 60_000);
      await me.waitForEvent(room, isMsg('hi, we met at the conference'), 30_000);
      await fromBot(room, new RegExp(`message request on ${app}.*!${kind} accept`, 's'));
      await eventually('the request topic', () => REQUEST.test(topicOf(room)));
      await sendAs(env, chat, 'dave', { text: 'are you there?' });
      await me.waitForEvent(room, isMsg('are you there?'), 30_000);
      assert.equal(me.timeline(room).filter((e) => e.getSender() === env.botMxid && REQUEST.test(e.getContent().body ?? '')).length, 1, 'one notice');

      await me.sendText(room, `!${kind} accept`);
      await fromBot(room, /^Accepted/);
      await eventually('the topic without the request line', () => !REQUEST.test(topicOf(room)));
      await sendAs(env, chat, 'dave', { text: 'thanks for accepting' });
      await me.waitForEvent(room, isMsg('thanks for accepting'), 30_000);
    });

    it('replying from Matrix accepts a request and the reply reaches the stranger', async () => {
      const chat = await stranger('erin', 'hello from erin');
      const room = await portalRoom(env, me, STRANGERS.erin, 60_000);
      await me.waitForEvent(room, isMsg('hello from erin'), 30_000);
      await me.sendText(room, 'hi erin');
      await waitForNetworkMessage(env, chat, (m) => m.sender === 'me' && (m.content as { text?: string }).text === 'hi erin');
      await eventually('the topic without the request line', () => !REQUEST.test(topicOf(room)));
    });

    it('decline deletes a request; a chat that is not a request says so', async () => {
      await stranger('frank', 'buy my stuff');
      const room = await portalRoom(env, me, STRANGERS.frank, 60_000);
      await me.waitForEvent(room, isMsg('buy my stuff'), 30_000);
      await me.sendText(room, `!${kind} decline`);
      await fromBot(room, /^Declined/);
      await me.sendText(room, `!${kind} accept`);
      await fromBot(room, /not a message request/);
    });
  });
}
