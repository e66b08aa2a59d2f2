/**
 * The group and connection-state cases of the Messenger / Instagram e2e suite (run inside the
 * describe of helpers/meta-e2e.ts, after its group case): admins as power levels, the group's name
 * and picture both ways, and Meta ending the session (the last case: it voids the login).
 */
import assert from 'node:assert/strict';
import { generateTestPng } from '../../bridges/sandbox/src/server/index.js';
import { eventually } from './bridge-env.js';
import { ALICE, uploadNetworkMedia, type MetaSuite } from './meta-e2e-more.js';
import { downloadMxc, downloadNetworkMedia, networkChat, portalRoom } from './portal-setup.js';

const BOB = '15550000002';
const GROUP_1 = '1000000000000001';
const GROUP_CHAT = 'g:1';
const enc = encodeURIComponent;

interface LoginState {
  state_event: string;
  error?: string;
  message?: string;
}

export function metaGroupCases(suite: () => MetaSuite): void {
  it('makes group admins Matrix power levels and follows a promotion and a demotion', async () => {
    const { env, me } = suite();
    const group = await portalRoom(env, me, GROUP_1, 60_000);
    const levels = () => (me.client.getRoom(group)?.currentState.getStateEvents('m.room.power_levels', '')?.getContent().users ?? {}) as Record<string, number>;
    await eventually('alice, the owner, at 75', () => levels()[env.ghost(ALICE)] === 75);
    assert.equal(levels()[env.ghost(BOB)] ?? 0, 0, 'bob starts as a member');
    await env.control('POST', `/chats/${enc(GROUP_CHAT)}/roles`, { user: 'bob', role: 'admin' });
    await eventually('bob, now an admin, at 50', () => levels()[env.ghost(BOB)] === 50);
    await env.control('POST', `/chats/${enc(GROUP_CHAT)}/roles`, { user: 'bob', role: 'member' });
    await eventually('bob back at 0', () => (levels()[env.ghost(BOB)] ?? 0) === 0);
    assert.equal(levels()[env.ghost(ALICE)], 75, 'alice keeps her level');
  });

  it('renames the group both ways', async () => {
    const { env, me } = suite();
    const group = await portalRoom(env, me, GROUP_1);
    await me.client.setRoomName(group, 'Renamed in Matrix');
    await eventually('the name on the network', async () => (await networkChat(env, GROUP_CHAT)).name === 'Renamed in Matrix');
    await env.control('PATCH', `/chats/${enc(GROUP_CHAT)}`, { as: 'alice', name: 'Renamed on Meta' });
    await eventually('the name in Matrix', () => me.client.getRoom(group)?.name === 'Renamed on Meta');
    assert.equal((await networkChat(env, GROUP_CHAT)).name, 'Renamed on Meta');
  });

  it('sets the group picture both ways with the same bytes', async () => {
    const s = suite();
    const { env, me } = s;
    const group = await portalRoom(env, me, GROUP_1);
    const red = generateTestPng(8, 8, [200, 0, 0]);
    const up = await me.client.uploadContent(red, { type: 'image/png', name: 'red.png' });
    await me.client.sendStateEvent(group, 'm.room.avatar' as never, { url: up.content_uri, info: { mimetype: 'image/png' } } as never, '');
    const avatar = await eventually('the picture on the network', async () => (await networkChat(env, GROUP_CHAT)).avatar ?? undefined);
    assert.ok((await downloadNetworkMedia(env, avatar)).equals(red), 'the network got the bytes Matrix set');

    const blue = generateTestPng(9, 9, [0, 0, 200]);
    await env.control('PATCH', `/chats/${enc(GROUP_CHAT)}`, { as: 'alice', avatar: await uploadNetworkMedia(env, 'alice', blue, 'image/png') });
    // The echo of our own change may re-set the red picture first: wait for the bytes, not an event.
    await eventually('the network\'s picture in Matrix', async () => {
      const url = me.client.getRoom(group)?.currentState.getStateEvents('m.room.avatar', '')?.getContent().url as string | undefined;
      return url && (await downloadMxc(env, s.meUser.accessToken, url)).equals(blue);
    });
  });

  it('tells the person and reports BAD_CREDENTIALS when Meta ends the session', async () => {
    const { env, me, mgmt, app } = suite();
    const since = Date.now();
    await env.control('POST', '/accounts/me/logout', { reason: 'logged out on the phone' });
    const state = await eventually('the login in BAD_CREDENTIALS', async () => {
      const res = await fetch(`http://127.0.0.1:${env.asPort}/_tributary/v1/bridge_state`, { headers: { Authorization: `Bearer ${env.config.appservice.hs_token}` } });
      const { logins } = (await res.json()) as { logins: Record<string, LoginState> };
      return Object.values(logins).find((l) => l.state_event === 'BAD_CREDENTIALS');
    });
    assert.match(state.error ?? '', /^meta-/);
    assert.match(state.message ?? '', new RegExp(`^${app} .*Log in again with fresh cookies`));
    const notice = await me.waitForEvent(mgmt, (e) => e.getSender() === env.botMxid && e.getTs() >= since
      && /Your login was rejected by the network; log in again/.test(String(e.getContent().body ?? '')), 30_000);
    assert.match(String(notice.getContent().body), new RegExp(`${app} .*Log in again with fresh cookies \\(send "login"\\)`));
  });
}
