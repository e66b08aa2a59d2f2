/**
 * The remaining media kinds both ways, presence both ways, ghost and room avatars, and membership
 * changes made from Matrix.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import type { RegisteredUser } from '../helpers/synapse.js';
import {
  downloadMxc, downloadNetworkMedia, loginAsMe, networkChat, portalRoom, sendAs, waitForNetworkMessage,
} from '../helpers/portal-setup.js';

const DM = 'dm:alice:me';
const GROUP = 'g:1';

describe('e2e: media kinds, presence, avatars, membership from Matrix', function () {
  this.timeout(180_000);
  let env: BridgeEnv;
  let me: TestClient;
  let user: RegisteredUser;
  let dm: string;
  let group: string;

  before(async () => {
    env = await BridgeEnv.start();
    ({ client: me, user } = await env.user('mediauser'));
    await loginAsMe(env, me);
    dm = await portalRoom(env, me, DM);
    group = await portalRoom(env, me, GROUP);
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  async function upload(bytes: Buffer, type: string, name: string): Promise<string> {
    const res = await fetch(`${env.synapse.baseUrl}/_matrix/media/v3/upload?filename=${name}`, {
      method: 'POST', headers: { Authorization: `Bearer ${user.accessToken}`, 'Content-Type': type }, body: bytes,
    });
    return ((await res.json()) as { content_uri: string }).content_uri;
  }

  for (const [kind, msgtype, mimetype] of [['file', 'm.file', 'application/pdf'], ['audio', 'm.audio', 'audio/ogg'], ['video', 'm.video', 'video/mp4']] as const) {
    it(`bridges ${kind} messages from the network with their bytes`, async () => {
      const bytes = randomBytes(3000 + kind.length);
      await sendAs(env, DM, 'alice', { media: { kind, base64: bytes.toString('base64'), mimetype, filename: `remote.${kind}`, duration_ms: kind === 'file' ? undefined : 1500 } });
      const ev = await me.waitForEvent(dm, (e) => e.getContent().msgtype === msgtype && e.getContent().filename === `remote.${kind}`);
      const c = ev.getContent();
      assert.equal(c.info.mimetype, mimetype);
      assert.equal(c.info.size, bytes.length);
      if (kind !== 'file') assert.equal(c.info.duration, 1500);
      assert.deepEqual(await downloadMxc(env, user.accessToken, c.url), bytes);
    });

    it(`sends ${kind} messages to the network with their bytes`, async () => {
      const bytes = randomBytes(4000 + kind.length);
      const url = await upload(bytes, mimetype, `local.${kind}`);
      await me.client.sendMessage(dm, { msgtype, body: `local.${kind}`, filename: `local.${kind}`, url, info: { mimetype, size: bytes.length } } as never);
      const msg = await waitForNetworkMessage(env, DM, (m) => m.content.kind === kind && m.content.filename === `local.${kind}`);
      assert.ok(msg.content.kind === kind);
      assert.equal(msg.content.mimetype, mimetype);
      assert.deepEqual(await downloadNetworkMedia(env, msg.content.media_id), bytes);
    });
  }

  it('sends a caption with a file', async () => {
    const bytes = randomBytes(500);
    const url = await upload(bytes, 'application/pdf', 'report.pdf');
    await me.client.sendMessage(dm, { msgtype: 'm.file', body: 'the quarterly report', filename: 'report.pdf', url, info: { mimetype: 'application/pdf', size: 500 } } as never);
    const msg = await waitForNetworkMessage(env, DM, (m) => m.content.kind === 'file' && m.content.filename === 'report.pdf');
    assert.ok(msg.content.kind === 'file');
    assert.equal(msg.content.caption?.text, 'the quarterly report');
  });

  it('shows a contact going online as the ghost\'s presence', async () => {
    await env.control('POST', '/accounts/bob/presence', { online: false });
    await env.control('POST', '/accounts/bob/presence', { online: true });
    await eventually('bob\'s ghost to be online', async () => {
      const r = await fetch(`${env.synapse.baseUrl}/_matrix/client/v3/presence/${encodeURIComponent(env.ghost('bob'))}/status`, { headers: { Authorization: `Bearer ${user.accessToken}` } });
      return ((await r.json()) as { presence?: string }).presence === 'online';
    });
  });

  it('forwards the person\'s own Matrix presence to their account', async () => {
    // The syncing client is already online; go away and come back so the homeserver sees a change.
    await me.client.setPresence({ presence: 'unavailable' });
    await env.control('POST', '/accounts/me/presence', { online: false });
    await me.client.setPresence({ presence: 'online' });
    await eventually('me to be online on the network', async () => {
      const a = await env.control<{ presence: { online: boolean } }>('GET', '/accounts/me');
      return a.presence.online;
    });
  });

  it('gives a ghost the network account\'s picture', async () => {
    const alice = await env.control<{ token: string }>('GET', '/accounts/alice');
    // A new contact with a picture, who then writes in the group: their ghost gets that picture.
    const picture = randomBytes(64);
    const up = await fetch(`${env.sandbox.url}/media`, { method: 'POST', headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'image/png' }, body: picture });
    const mediaId = ((await up.json()) as { media_id: string }).media_id;
    await env.control('POST', '/accounts', { id: 'dave', name: 'Dave Pictured', avatar: mediaId });
    await env.control('POST', `/chats/${encodeURIComponent(GROUP)}/members`, { as: 'alice', add: 'dave' });
    await sendAs(env, GROUP, 'dave', { text: 'hi, I am dave' });
    await me.waitForEvent(group, (e) => e.getContent().body === 'hi, I am dave');
    const profile = await eventually('dave\'s ghost avatar', async () => {
      const p = (await me.client.getProfileInfo(env.ghost('dave'))) as { avatar_url?: string; displayname?: string };
      return p.avatar_url ? p : undefined;
    });
    assert.equal(profile.displayname, 'Dave Pictured');
    assert.deepEqual(await downloadMxc(env, user.accessToken, profile.avatar_url!), picture);
  });

  it('bridges a group picture change both ways', async () => {
    const alice = await env.control<{ token: string }>('GET', '/accounts/alice');
    const picture = randomBytes(80);
    const up = await fetch(`${env.sandbox.url}/media`, { method: 'POST', headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'image/png' }, body: picture });
    const mediaId = ((await up.json()) as { media_id: string }).media_id;
    await env.control('PATCH', `/chats/${encodeURIComponent(GROUP)}`, { as: 'alice', avatar: mediaId });
    const ev = await me.waitForRoomState(group, 'm.room.avatar', '', (e) => typeof e.getContent().url === 'string', 30_000);
    assert.deepEqual(await downloadMxc(env, user.accessToken, ev.getContent().url), picture);

    const mine = randomBytes(90);
    const url = await upload(mine, 'image/png', 'group.png');
    await me.client.sendStateEvent(group, 'm.room.avatar' as never, { url, info: { mimetype: 'image/png' } } as never, '');
    const chat = await eventually('the network group picture to change', async () => {
      const c = await networkChat(env, GROUP);
      return c.avatar && c.avatar !== mediaId ? c : undefined;
    });
    assert.deepEqual(await downloadNetworkMedia(env, chat.avatar!), mine);
  });

  it('adds and removes a network member when the person invites or kicks a ghost', async () => {
    await env.control('POST', `/chats/${encodeURIComponent(GROUP)}/members`, { as: 'alice', remove: 'carol' });
    await eventually('carol out of the network group', async () => !(await networkChat(env, GROUP)).members.some((m) => m.user_id === 'carol'));
    // ... and her ghost out of the room, before the person invites her back.
    await me.waitForMembership(group, env.ghost('carol'), 'leave', 30_000);
    // The person is only a member on the network; make them admin so they may add people.
    await env.control('POST', `/chats/${encodeURIComponent(GROUP)}/roles`, { user: 'me', role: 'admin' });
    await me.client.invite(group, env.ghost('carol'));
    await eventually('carol back in the network group', async () => (await networkChat(env, GROUP)).members.some((m) => m.user_id === 'carol'));
    await me.waitForMembership(group, env.ghost('carol'), 'join');
    await me.client.kick(group, env.ghost('carol'), 'testing');
    await eventually('carol removed again', async () => !(await networkChat(env, GROUP)).members.some((m) => m.user_id === 'carol'));
  });
});
