/**
 * The e2e suite of the Messenger and Instagram bridges (one body, run by messenger.test.ts and
 * instagram.test.ts): the bridge as its own process, a real Synapse, matrix-js-sdk as the person's
 * client, and the Meta emulator over the sandbox network as Meta. Contacts act through the sandbox
 * control API. What cannot run here is Meta itself; from the DGW frames inward it is production code.
 * The later cases live in meta-e2e-more.ts (messages, media) and meta-e2e-groups.ts (groups, the
 * session ending) and run in this describe, on the same stack and login.
 */
import assert from 'node:assert/strict';
import type * as sdk from 'matrix-js-sdk';
import { generateTestPng } from '../../bridges/sandbox/src/server/index.js';
import { BridgeEnv, eventually } from './bridge-env.js';
import type { TestClient } from './matrix-client.js';
import type { RegisteredUser } from './synapse.js';
import { metaGroupCases } from './meta-e2e-groups.js';
import { metaMessageCases, type MetaSuite } from './meta-e2e-more.js';
import { downloadMxc, networkChat, portalRoom, sendAs, waitForNetworkMessage } from './portal-setup.js';

const USER = { me: '15550000000', alice: '15550000001', bob: '15550000002', carol: '15550000003' } as const;
const GROUP_1 = '1000000000000001';
const DM_ALICE = 'dm:alice:me';
const enc = encodeURIComponent;

export function metaBridgeSuite(kind: 'messenger' | 'instagram'): void {
  const app = kind === 'messenger' ? 'Messenger' : 'Instagram';
  describe(`e2e: ${app} bridge over the Meta emulator (real Synapse)`, function () {
    this.timeout(120_000);
    let env: BridgeEnv;
    let me: TestClient;
    let meUser: RegisteredUser;
    let mgmt: string;
    let dm: string;
    /** How far in the past the sandbox network's clock runs (see MetaSuite.age). */
    let agedMs = 0;
    const suite = (): MetaSuite => ({ kind, app, env, me, meUser, mgmt, dm, age: (ms) => { agedMs = ms; } });

    const fromBot = (re: RegExp) => (e: sdk.MatrixEvent) => e.getSender() === env.botMxid && re.test(e.getContent().body ?? '');
    const isMsg = (body: string) => (e: sdk.MatrixEvent) => e.getType() === 'm.room.message' && e.getContent().body === body;
    const cookies = async (drop?: string) => {
      const token = (await env.control<{ token: string }>('GET', '/accounts/me')).token;
      const all = kind === 'messenger'
        ? { xs: token, c_user: USER.me, datr: 'datr-e2e' }
        : { sessionid: token, ds_user_id: USER.me, csrftoken: 'csrf-e2e', mid: 'mid-e2e', ig_did: 'did-e2e' };
      return Object.entries(all).filter(([k]) => k !== drop).map(([k, v]) => `${k}=${v}`).join('; ');
    };

    before(async function () {
      this.timeout(240_000);
      env = await BridgeEnv.start({ bridge: kind, sandboxNow: () => Date.now() - agedMs });
      await sendAs(env, DM_ALICE, 'alice', { text: 'sent before the login' });
      ({ client: me, user: meUser } = await env.user(`person_${kind}`));
      mgmt = (await me.client.createRoom({ is_direct: true, invite: [env.botMxid] })).room_id;
      await me.waitForMembership(mgmt, env.botMxid, 'join', 30_000);
    });
    after(async () => {
      await me?.stop();
      await env?.stop();
    });

    it('logs in with cookies through the bot: a missing cookie is named, good cookies log in', async () => {
      const missing = kind === 'messenger' ? 'datr' : 'mid';
      await me.sendText(mgmt, 'login cookies');
      await me.waitForEvent(mgmt, fromBot(/Please send your .* cookies/), 30_000);
      await me.sendText(mgmt, await cookies(missing));
      await me.waitForEvent(mgmt, fromBot(new RegExp(`missing ${app} cookie: ${missing}`, 'i')), 30_000);
      await me.sendText(mgmt, 'login cookies');
      const prompts = () => me.timeline(mgmt).filter(fromBot(/Please send your .* cookies/)).length;
      await eventually('a second prompt', () => prompts() >= 2);
      const secret = await me.sendText(mgmt, await cookies());
      await me.waitForEvent(mgmt, fromBot(new RegExp(`Logged in to ${app} as Me \\(sandbox\\)`)), 30_000);
      // The message with the cookies does not stay in the room (redacted as the person: in a room
      // they made, the bot has no power to).
      await eventually('the cookies redacted', async () => {
        const ev = await me.client.fetchRoomEvent(mgmt, secret);
        return ev.content && Object.keys(ev.content).length === 0 ? true : undefined;
      });
    });

    it('makes portals for existing chats with their history, and bridges text both ways with a reply', async () => {
      dm = await portalRoom(env, me, USER.alice, 60_000);
      const old = await me.waitForEvent(dm, isMsg('sent before the login'), 30_000);
      assert.equal(old.getSender(), env.ghost(USER.alice));
      await sendAs(env, DM_ALICE, 'alice', { text: 'hello from alice' });
      const hello = await me.waitForEvent(dm, isMsg('hello from alice'), 30_000);
      await me.client.sendMessage(dm, { msgtype: 'm.text', body: 'hello back', 'm.relates_to': { 'm.in_reply_to': { event_id: hello.getId()! } } } as never);
      const back = await waitForNetworkMessage(env, DM_ALICE, (m) => m.sender === 'me' && (m.content as { text?: string }).text === 'hello back');
      assert.ok(back.reply_to, 'the reply reached the network as a reply');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(me.timeline(dm).filter(isMsg('hello back')).length, 1, 'our own send is not bridged back');
    });

    it('bridges an edit, a reaction and an unsend from the network, and the same from Matrix', async () => {
      const target = await sendAs(env, DM_ALICE, 'alice', { text: 'typo here' });
      const ev = await me.waitForEvent(dm, isMsg('typo here'), 30_000);
      await env.control('POST', `/messages/${enc(target.id)}/edit`, { as: 'alice', text: 'fixed here' });
      const edit = await me.waitForEvent(dm, (e) => e.getContent()['m.relates_to']?.rel_type === 'm.replace' && e.getContent()['m.relates_to']?.event_id === ev.getId(), 30_000);
      assert.equal(edit.getContent()['m.new_content']?.body, 'fixed here');
      await env.control('POST', `/messages/${enc(target.id)}/reactions`, { as: 'alice', emoji: '😂' });
      const reaction = await me.waitForEvent(dm, (e) => e.getType() === 'm.reaction' && e.getSender() === env.ghost(USER.alice), 30_000);
      assert.equal(reaction.getContent()['m.relates_to']?.key, '😂');
      await env.control('DELETE', `/messages/${enc(target.id)}`, { as: 'alice' });
      await me.waitForEvent(dm, (e) => e.getType() === 'm.room.redaction' && e.event.redacts === ev.getId(), 30_000);

      const mine = await me.sendText(dm, 'mine to change');
      const net = await waitForNetworkMessage(env, DM_ALICE, (m) => m.sender === 'me' && (m.content as { text?: string }).text === 'mine to change');
      await me.client.sendMessage(dm, { msgtype: 'm.text', body: '* changed', 'm.new_content': { msgtype: 'm.text', body: 'changed' }, 'm.relates_to': { rel_type: 'm.replace', event_id: mine } } as never);
      await eventually('the edit on the network', async () => (await env.control<{ content: { text?: string } }>('GET', `/messages/${enc(net.id)}`)).content.text === 'changed');
      await me.client.sendEvent(dm, 'm.reaction' as never, { 'm.relates_to': { rel_type: 'm.annotation', event_id: hello(me, dm), key: '👍' } } as never);
      const helloNet = await waitForNetworkMessage(env, DM_ALICE, (m) => (m.content as { text?: string }).text === 'hello from alice');
      await eventually('the reaction on the network', async () =>
        (await env.control<{ reactions: Array<{ user_id: string; emoji: string }> }>('GET', `/messages/${enc(helloNet.id)}`)).reactions.some((r) => r.user_id === 'me' && r.emoji === '👍'));
      await me.client.redactEvent(dm, mine);
      await eventually('the unsend on the network', async () => (await env.control<{ deleted: boolean }>('GET', `/messages/${enc(net.id)}`)).deleted);
    });

    it('bridges an image both ways with the same bytes', async () => {
      const png = generateTestPng(12, 9);
      await sendAs(env, DM_ALICE, 'alice', { image: { base64: png.toString('base64'), mimetype: 'image/png', caption: 'look' } });
      const img = await me.waitForEvent(dm, (e) => e.getContent().msgtype === 'm.image', 30_000);
      assert.ok((await downloadMxc(env, meUser.accessToken, img.getContent().url!)).equals(png), 'Matrix got the bytes alice sent');
      const green = generateTestPng(5, 5, [10, 200, 30]);
      const upload = await me.client.uploadContent(green, { type: 'image/png', name: 'green.png' });
      await me.client.sendMessage(dm, { msgtype: 'm.image', body: 'green.png', url: upload.content_uri, info: { mimetype: 'image/png' } } as never);
      const net = await waitForNetworkMessage(env, DM_ALICE, (m) => m.sender === 'me' && m.content.kind === 'image');
      const bytes = Buffer.from(await (await fetch(`${env.sandbox.url}/media/${enc((net.content as { media_id: string }).media_id)}`)).arrayBuffer());
      assert.ok(bytes.equals(green), 'alice got the bytes Matrix sent');
    });

    it('bridges typing and read receipts both ways', async () => {
      await env.control('POST', `/chats/${enc(DM_ALICE)}/typing`, { as: 'alice', typing: true });
      await eventually('alice typing in Matrix', () => me.client.getRoom(dm)?.getMember(env.ghost(USER.alice))?.typing);
      const last = await sendAs(env, DM_ALICE, 'alice', { text: 'read this' });
      const ev = await me.waitForEvent(dm, isMsg('read this'), 30_000);
      await me.client.sendReadReceipt(ev, 'm.read' as never);
      await eventually('the read on the network', async () => (await networkChat(env, DM_ALICE)).read_receipts.me === last.id);
      const mine = await me.sendText(dm, 'did you read it?');
      const net = await waitForNetworkMessage(env, DM_ALICE, (m) => m.sender === 'me' && (m.content as { text?: string }).text === 'did you read it?');
      await env.control('POST', `/chats/${enc(DM_ALICE)}/read`, { as: 'alice', message: net.id });
      await eventually('alice\'s receipt in Matrix', () => me.client.getRoom(dm)?.getUsersReadUpTo(me.client.getRoom(dm)!.findEventById(mine)!).includes(env.ghost(USER.alice)));
    });

    it('bridges the group with its name and members', async () => {
      const group = await portalRoom(env, me, GROUP_1, 60_000);
      await eventually('the group named', () => me.client.getRoom(group)?.name === 'Sandbox friends');
      for (const id of [USER.alice, USER.bob, USER.carol]) await me.waitForMembership(group, env.ghost(id), 'join', 30_000);
      await sendAs(env, 'g:1', 'bob', { text: 'hi group' });
      const msg = await me.waitForEvent(group, isMsg('hi group'), 30_000);
      assert.equal(msg.getSender(), env.ghost(USER.bob));
    });

    it('starts a DM from Matrix by inviting the contact\'s ghost into a new room', async () => {
      const room = (await me.client.createRoom({ is_direct: true, invite: [env.ghost(USER.carol)] })).room_id;
      await me.waitForMembership(room, env.ghost(USER.carol), 'join', 30_000);
      await me.waitForMembership(room, env.botMxid, 'join', 30_000);
      await me.sendText(room, 'hi carol');
      await waitForNetworkMessage(env, 'dm:carol:me', (m) => m.sender === 'me' && (m.content as { text?: string }).text === 'hi carol');
    });

    // Formatting, edit limits, reactions, media (meta-e2e-more.ts), then groups and, last since it
    // ends the session, Meta logging the account out (meta-e2e-groups.ts).
    metaMessageCases(suite);
    metaGroupCases(suite);
  });
}

/** The event id of alice's "hello from alice" in the DM (for a reaction from Matrix). */
function hello(me: TestClient, dm: string): string {
  return me.timeline(dm).find((e) => e.getContent().body === 'hello from alice')!.getId()!;
}
