import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startSandboxServer, type SandboxServer } from '../../bridges/sandbox/src/server/server.js';
import { SandboxClient } from '../../bridges/sandbox/src/client/index.js';

type Json = Record<string, unknown> & { error?: { code: string; message: string } };

describe('sandbox control API', () => {
  let server: SandboxServer;
  const call = async (method: string, path: string, body?: unknown, raw?: string): Promise<{ status: number; json: Json }> => {
    const res = await fetch(`${server.url}/control/${path}`, {
      method, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)), headers: { 'content-type': 'application/json' },
    });
    return { status: res.status, json: (await res.json()) as Json };
  };
  const enc = encodeURIComponent;

  beforeEach(async () => {
    server = await startSandboxServer({ seed: 'demo' });
  });
  afterEach(async () => {
    await server.close();
  });

  it('seeds the demo network', async () => {
    const accounts = await call('GET', 'accounts');
    assert.deepEqual((accounts.json as unknown as Array<{ id: string }>).map((a) => a.id), ['me', 'alice', 'bob', 'carol']);
    assert.equal('token' in (accounts.json as unknown as object[])[0]!, false, 'the list carries no secrets');
    const chats = await call('GET', 'chats?account=me');
    const list = chats.json as unknown as Array<{ id: string; name: string | null; members: unknown[] }>;
    assert.deepEqual(list.map((c) => c.id), ['g:1', 'dm:alice:me', 'dm:bob:me']);
    assert.equal(list[0]?.name, 'Sandbox friends');
    assert.equal(list[0]?.members.length, 4);
    const health = await call('GET', 'health');
    assert.equal(health.json.ok, true);
  });

  it('creates and reads accounts, with validation', async () => {
    const created = await call('POST', 'accounts', { id: 'dave', name: 'Dave', phone: '+15557654321' });
    assert.equal(created.status, 201);
    assert.equal(typeof created.json.token, 'string');
    const got = await call('GET', 'accounts/dave');
    assert.equal(got.json.token, created.json.token);
    assert.equal(got.json.phone, '+15557654321');
    assert.equal((await call('POST', 'accounts', { id: 'dave', name: 'Again' })).status, 409);
    assert.equal((await call('POST', 'accounts', { id: 'Bad Id', name: 'x' })).status, 400);
    assert.equal((await call('POST', 'accounts', { name: 'no id' })).status, 400);
    const badJson = await call('POST', 'accounts', undefined, '{not json');
    assert.deepEqual([badJson.status, badJson.json.error?.code], [400, 'bad_request']);
    assert.equal((await call('GET', 'accounts/nobody')).status, 404);
  });

  it('plays contacts: messages of every kind, edits, reactions, deletes, reads, typing', async () => {
    const dm = enc('dm:alice:me');
    const t = await call('POST', `chats/${dm}/messages`, { as: 'alice', text: 'hi' });
    assert.equal(t.status, 201);
    const id = t.json.id as string;
    assert.equal(id, 'dm:alice:me/1');
    const f = await call('POST', `chats/${dm}/messages`, { as: 'alice', formatted: { text: 'bold', entities: [{ type: 'bold', offset: 0, length: 4 }] }, reply_to: id });
    assert.equal(f.json.reply_to, id);
    const img = await call('POST', `chats/${dm}/messages`, { as: 'alice', image: { generate: { width: 10, height: 7 }, caption: 'pic' } });
    const content = img.json.content as { kind: string; width: number; height: number; media_id: string };
    assert.deepEqual([content.kind, content.width, content.height], ['image', 10, 7]);
    const bytes = Buffer.from(await (await fetch(`${server.url}/media/${content.media_id}`)).arrayBuffer());
    assert.equal(bytes.subarray(1, 4).toString('ascii'), 'PNG');
    const b64 = await call('POST', `chats/${dm}/messages`, { as: 'alice', image: { base64: bytes.toString('base64') } });
    assert.equal((b64.json.content as { size: number }).size, bytes.length);
    const loc = await call('POST', `chats/${dm}/messages`, { as: 'alice', location: { lat: 52.5, lon: 13.4, name: 'Berlin' } });
    assert.equal((loc.json.content as { kind: string }).kind, 'location');
    const file = await call('POST', `chats/${dm}/messages`, { as: 'alice', media: { kind: 'file', base64: Buffer.from('doc').toString('base64'), mimetype: 'text/plain', filename: 'a.txt' } });
    assert.equal((file.json.content as { filename: string }).filename, 'a.txt');

    const edited = await call('POST', `messages/${enc(id)}/edit`, { as: 'alice', text: 'hi there' });
    assert.equal(edited.json.edit_count, 1);
    assert.equal((await call('POST', `messages/${enc(id)}/reactions`, { as: 'me', emoji: '😀' })).status, 200);
    assert.equal(((await call('DELETE', `messages/${enc(id)}/reactions`, { as: 'me' })).json.reactions as unknown[]).length, 0);
    await call('POST', `messages/${enc(id)}/reactions`, { as: 'me', emoji: '🎉' });
    assert.equal((await call('POST', `chats/${dm}/read`, { as: 'me', message: id })).status, 200);
    assert.equal((await call('POST', `chats/${dm}/typing`, { as: 'alice', typing: true })).status, 200);
    assert.equal(server.network.isTyping('dm:alice:me', 'alice'), true);
    assert.equal((await call('DELETE', `messages/${enc(f.json.id as string)}`, { as: 'alice' })).json.deleted, true);

    const all = (await call('GET', `chats/${dm}/messages`)).json as unknown as Array<{ id: string; deleted: boolean; read_by: string[]; reactions: unknown[]; edits: unknown[] }>;
    assert.equal(all.length, 6);
    assert.deepEqual(all[0]?.read_by, ['me']);
    assert.equal(all[0]?.reactions.length, 1);
    assert.equal(all[0]?.edits.length, 1);
    assert.equal(all[1]?.deleted, true);
    assert.equal((await call('GET', `messages/${enc(id)}`)).json.id, id);
  });

  it('refuses bad message bodies and unknown targets with 4xx', async () => {
    const dm = enc('dm:alice:me');
    const cases: Array<[string, string, unknown, number]> = [
      ['POST', `chats/${dm}/messages`, { as: 'alice' }, 400],
      ['POST', `chats/${dm}/messages`, { as: 'alice', text: 'a', location: { lat: 0, lon: 0 } }, 400],
      ['POST', `chats/${dm}/messages`, { text: 'no sender' }, 400],
      ['POST', `chats/${dm}/messages`, { as: 'carol', text: 'not a member' }, 404],
      ['POST', `chats/${enc('g:999')}/messages`, { as: 'alice', text: 'x' }, 404],
      ['POST', `chats/${dm}/messages`, { as: 'alice', formatted: { text: 'ab', entities: [{ type: 'bold', offset: 1, length: 5 }] } }, 400],
      ['POST', `chats/${dm}/messages`, { as: 'alice', location: { lat: 200, lon: 0 } }, 400],
      ['POST', `messages/${enc('dm:alice:me/42')}/edit`, { as: 'alice', text: 'x' }, 404],
      ['POST', `messages/${enc('garbage')}/reactions`, { as: 'alice', emoji: 'x' }, 404],
      ['DELETE', `messages/${enc('dm:alice:me/1')}`, { as: 'alice' }, 404],
      ['POST', `chats/${dm}/read`, { as: 'me' }, 400],
      ['POST', `chats/${dm}/typing`, { as: 'me', typing: 'yes' }, 400],
      ['PATCH', `chats/${dm}`, { as: 'me', name: 'DMs have no name' }, 400],
      ['POST', 'groups', { name: 'x', creator: 'me', members: ['ghost'] }, 404],
      ['POST', 'dms', { a: 'me' }, 400],
      ['GET', 'nothing-here', undefined, 404],
      ['PUT', 'accounts', {}, 405],
    ];
    for (const [method, path, body, status] of cases) {
      const r = await call(method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)} → ${JSON.stringify(r.json)}`);
      assert.equal(typeof r.json.error?.code, 'string');
    }
    assert.equal((await call('POST', `chats/${dm}/messages`, undefined, '[1,2')).status, 400);
  });

  it('manages groups, DMs, members and chat state', async () => {
    const g = await call('POST', 'groups', { name: 'Club', creator: 'alice', members: ['bob'], topic: 'golf' });
    assert.equal(g.status, 201);
    const gid = enc(g.json.id as string);
    const added = await call('POST', `chats/${gid}/members`, { as: 'alice', add: 'carol' });
    assert.equal((added.json.members as unknown[]).length, 3);
    assert.equal((await call('POST', `chats/${gid}/members`, { as: 'bob', add: 'me' })).status, 403);
    assert.equal((await call('POST', `chats/${gid}/members`, { as: 'alice', add: 'me', remove: 'bob' })).status, 400);
    const removed = await call('POST', `chats/${gid}/members`, { as: 'alice', remove: 'bob' });
    assert.equal((removed.json.members as unknown[]).length, 2);
    const left = await call('POST', `chats/${gid}/members`, { as: 'carol', remove: 'carol' });
    assert.equal((left.json.members as unknown[]).length, 1);
    const patched = await call('PATCH', `chats/${gid}`, { as: 'alice', name: 'Club 2', topic: '' });
    assert.deepEqual([patched.json.name, patched.json.topic], ['Club 2', null]);
    const info = await call('GET', `chats/${gid}`);
    assert.deepEqual((info.json.history as Array<{ type: string }>).map((h) => h.type), ['created', 'invite', 'kick', 'leave', 'name', 'topic']);
    assert.equal((await call('POST', 'dms', { a: 'carol', b: 'bob' })).status, 201);
    assert.equal((await call('POST', 'dms', { a: 'bob', b: 'carol' })).status, 200);
    assert.equal((await call('POST', `chats/${gid}/roles`, { user: 'alice', role: 'member' })).status, 403);
  });

  it('sets presence, drops connections, and logs accounts out remotely', async () => {
    const presence = await call('POST', 'accounts/alice/presence', { online: true });
    assert.equal((presence.json.presence as { online: boolean }).online, true);
    assert.equal((await call('POST', 'accounts/alice/presence', {})).status, 400);
    assert.equal((await call('POST', 'accounts/nobody/disconnect', {})).status, 404);
    const token = server.network.account('me').token;
    const me = new SandboxClient({ url: server.url, token, reconnect: { minMs: 5, maxMs: 20 } });
    const loggedOut = once(me, 'logged_out');
    await me.connect();
    assert.equal((await call('GET', 'accounts/me')).json.connected, 1);
    const out = await call('POST', 'accounts/me/logout', { reason: 'unlinked' });
    assert.equal(out.status, 200);
    assert.deepEqual(await loggedOut, ['unlinked']);
    assert.notEqual((await call('GET', 'accounts/me')).json.token, token);
    await me.close();
  });

  it('requires the control token when one is configured', async () => {
    const locked = await startSandboxServer({ controlToken: 's3cret' });
    try {
      const denied = await fetch(`${locked.url}/control/health`);
      assert.equal(denied.status, 401);
      const ok = await fetch(`${locked.url}/control/health`, { headers: { authorization: 'Bearer s3cret' } });
      assert.equal(ok.status, 200);
    } finally {
      await locked.close();
    }
  });
});
