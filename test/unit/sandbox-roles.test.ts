import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { BridgeError, portalKey, type RemoteUserId, type UserLoginId } from '../../shared/src/network/index.js';
import { SandboxNetwork } from '../../bridges/sandbox/src/server/network.js';
import { NetworkError } from '../../bridges/sandbox/src/server/errors.js';
import { startSandboxServer, type SandboxServer } from '../../bridges/sandbox/src/server/server.js';
import { SandboxClient, SandboxClientError } from '../../bridges/sandbox/src/client/index.js';
import { SandboxEventHandler } from '../../bridges/sandbox/src/connector/handle-sandbox.js';
import { SandboxAPI } from '../../bridges/sandbox/src/connector/sandbox-api.js';
import type { SandboxPort } from '../../bridges/sandbox/src/connector/port.js';
import type { Op, OpArgs, WireChat, WireEvent } from '../../bridges/sandbox/src/wire.js';
import { RecordingLogin } from '../helpers/fake-login.js';

type MembersChanged = Extract<WireEvent, { type: 'members_changed' }>;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof NetworkError, `expected NetworkError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a NetworkError');
}

/** A group `g:1` owned by `owner`, with `admin` (an admin), `member` and `other`; `outsider` is not in it. */
function setup() {
  const net = new SandboxNetwork();
  for (const id of ['owner', 'admin', 'member', 'other', 'outsider']) net.createAccount({ id, name: id });
  const g = net.createGroup('owner', 'Club', ['admin', 'member', 'other']).id;
  net.setRole('owner', g, 'admin', 'admin');
  const events: Array<{ account: string; event: WireEvent }> = [];
  net.on('event', (account, frame) => events.push({ account, event: frame.event }));
  const roles = () => Object.fromEntries(net.chat(g).members);
  return { net, g, events, roles };
}

describe('sandbox member roles: the model', () => {
  it('a plain member cannot change roles, not even their own; nothing changes', () => {
    const { net, g, events, roles } = setup();
    const before = { roles: roles(), history: net.chat(g).history.length };
    assert.equal(code(() => net.setRole('member', g, 'other', 'admin')), 'forbidden');
    assert.equal(code(() => net.setRole('member', g, 'member', 'admin')), 'forbidden');
    assert.deepEqual(roles(), before.roles);
    assert.equal(net.chat(g).history.length, before.history);
    assert.deepEqual(events, []);
  });

  it('an admin promotes and demotes; the owner demotes admins; setting the same role is a no-op', () => {
    const { net, g, events, roles } = setup();
    assert.equal(net.setRole('admin', g, 'member', 'admin').members.find((m) => m.user_id === 'member')?.role, 'admin');
    net.setRole('admin', g, 'member', 'member');
    net.setRole('owner', g, 'admin', 'member');
    assert.deepEqual(roles(), { owner: 'owner', admin: 'member', member: 'member', other: 'member' });
    const count = events.length;
    net.setRole('owner', g, 'other', 'member');
    assert.equal(events.length, count, 'no event when nothing changed');
    assert.deepEqual(net.chat(g).history.slice(-3).map(({ by, type, users, value }) => ({ by, type, users, value })), [
      { by: 'admin', type: 'promote', users: ['member'], value: 'admin' },
      { by: 'admin', type: 'demote', users: ['member'], value: 'member' },
      { by: 'owner', type: 'demote', users: ['admin'], value: 'member' },
    ]);
  });

  it('the owner\'s role cannot be changed, not by an admin and not by the owner', () => {
    const { net, g, events, roles } = setup();
    assert.equal(code(() => net.setRole('admin', g, 'owner', 'member')), 'forbidden');
    assert.equal(code(() => net.setRole('owner', g, 'owner', 'admin')), 'forbidden');
    assert.equal(roles().owner, 'owner');
    assert.deepEqual(events, []);
  });

  it('refuses DMs with bad_request, and unknown users, non-members and outsiders with not_found', () => {
    const { net, g, events } = setup();
    const dm = net.createDm('owner', 'member').chat.id;
    events.length = 0;
    assert.equal(code(() => net.setRole('owner', dm, 'member', 'admin')), 'bad_request');
    assert.equal(code(() => net.setRole('owner', g, 'nobody', 'admin')), 'not_found');
    assert.equal(code(() => net.setRole('owner', g, 'outsider', 'admin')), 'not_found');
    assert.equal(code(() => net.setRole('outsider', g, 'member', 'admin')), 'not_found');
    assert.equal(code(() => net.ownerOf(dm)), 'bad_request');
    assert.deepEqual(events, []);
  });

  it('every member hears a role change once, with self only for the one who made it', () => {
    const { net, g, events } = setup();
    net.setRole('admin', g, 'member', 'admin');
    for (const account of ['owner', 'admin', 'member', 'other']) {
      const got = events.filter((e) => e.account === account).map((e) => e.event as MembersChanged);
      assert.equal(got.length, 1, account);
      const [ev] = got;
      assert.deepEqual([ev!.type, ev!.change, ev!.by, ev!.users, ev!.self], ['members_changed', 'promote', 'admin', ['member'], account === 'admin'], account);
      assert.equal(ev!.chat.members.find((m) => m.user_id === 'member')?.role, 'admin', 'the chat carries the new role');
    }
    assert.equal(events.some((e) => e.account === 'outsider'), false);
  });

  it('when the owner leaves, the new owner\'s promotion follows the leave as an event of its own', () => {
    const { net, g, events, roles } = setup();
    net.leave('owner', g);
    assert.equal(roles().admin, 'owner');
    const seen = (account: string) => events.filter((e) => e.account === account).map((e) => {
      const ev = e.event as MembersChanged;
      return [ev.change, ev.by, ev.users.join(), ev.self];
    });
    assert.deepEqual(seen('other'), [['leave', 'owner', 'owner', false], ['promote', 'admin', 'admin', false]]);
    assert.deepEqual(seen('admin'), [['leave', 'owner', 'owner', false], ['promote', 'admin', 'admin', true]]);
    assert.deepEqual(seen('owner'), [['leave', 'owner', 'owner', true]], 'the leaver hears only the leave');
    assert.deepEqual(net.chat(g).history.at(-1), { ts: net.chat(g).history.at(-1)!.ts, by: 'admin', type: 'promote', users: ['admin'], value: 'owner' });
  });
});

describe('sandbox member roles: wire op and control API', () => {
  let server: SandboxServer;
  let g: string;
  const clients: SandboxClient[] = [];
  const client = async (account: string) => {
    const c = new SandboxClient({ url: server.url, token: server.network.account(account).token, reconnect: { minMs: 5, maxMs: 40 } });
    clients.push(c);
    const got: MembersChanged[] = [];
    c.on('event', (e) => {
      if (e.type === 'members_changed') got.push(e);
    });
    await c.connect();
    return { c, got };
  };
  const until = async (pred: () => boolean, what: string) => {
    const deadline = Date.now() + 5_000;
    while (!pred()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const rejectsWith = (p: Promise<unknown>, code: string) =>
    assert.rejects(p, (err: unknown) => err instanceof SandboxClientError && err.code === code);

  beforeEach(async () => {
    server = await startSandboxServer({});
    for (const id of ['owner', 'admin', 'member', 'other']) server.network.createAccount({ id, name: id });
    g = server.network.createGroup('owner', 'Club', ['admin', 'member', 'other']).id;
    server.network.setRole('owner', g, 'admin', 'admin');
    server.network.createDm('admin', 'member');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
  });

  it('set_role: members are refused, the owner is untouchable, admins succeed and every member hears it', async () => {
    const member = await client('member');
    const admin = await client('admin');
    const other = await client('other');
    await rejectsWith(member.c.setRole(g, 'other', 'admin'), 'forbidden');
    await rejectsWith(admin.c.setRole(g, 'owner', 'member'), 'forbidden');
    await rejectsWith(admin.c.setRole('dm:admin:member', 'member', 'admin'), 'bad_request');
    await rejectsWith(admin.c.setRole(g, 'nobody', 'admin'), 'not_found');
    await rejectsWith(admin.c.request('set_role', { chat: g, user: 'other', role: 'owner' as 'admin' }), 'bad_request');
    const chat = await admin.c.setRole(g, 'other', 'admin');
    assert.equal(chat.members.find((m) => m.user_id === 'other')?.role, 'admin');
    await until(() => [member, admin, other].every((x) => x.got.length >= 1), 'the event on every socket');
    for (const [x, self] of [[member, false], [admin, true], [other, false]] as const) {
      assert.deepEqual(x.got.map((e) => [e.change, e.by, e.users, e.self]), [['promote', 'admin', ['other'], self]], 'one event: the refusals emitted nothing');
    }
  });

  it('control-API role changes emit the event too: by the owner, or by `as` with its permissions', async () => {
    const call = async (path: string, body: unknown) => {
      const res = await fetch(`${server.url}/control/${path}`, { method: 'POST', body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as { error?: { code: string } } };
    };
    const events: Array<{ account: string; event: WireEvent }> = [];
    server.network.on('event', (account, frame) => events.push({ account, event: frame.event }));
    const gid = encodeURIComponent(g);
    assert.equal((await call(`chats/${gid}/roles`, { user: 'member', role: 'admin' })).status, 200);
    const promoted = events.map((e) => [e.account, (e.event as MembersChanged).change, (e.event as MembersChanged).by, e.event.self]);
    assert.deepEqual(promoted, [['owner', 'promote', 'owner', true], ['admin', 'promote', 'owner', false], ['member', 'promote', 'owner', false], ['other', 'promote', 'owner', false]]);
    events.length = 0;
    assert.equal((await call(`chats/${gid}/roles`, { as: 'other', user: 'member', role: 'member' })).status, 403);
    assert.equal((await call(`chats/${encodeURIComponent('dm:admin:member')}/roles`, { user: 'member', role: 'admin' })).status, 400);
    assert.equal((await call(`chats/${gid}/roles`, { user: 'owner', role: 'member' })).status, 403);
    assert.equal(events.length, 0, 'refused changes emit nothing');
    assert.equal((await call(`chats/${gid}/roles`, { as: 'admin', user: 'member', role: 'member' })).status, 200);
    assert.deepEqual(events.map((e) => (e.event as MembersChanged).change + ' by ' + (e.event as MembersChanged).by), Array(4).fill('demote by admin'));
    const info = await (await fetch(`${server.url}/control/chats/${gid}`)).json() as { history: Array<{ type: string }> };
    assert.deepEqual(info.history.map((h) => h.type).slice(-3), ['promote', 'promote', 'demote']);
  });
});

/** A port that answers get_chat with a fixed chat and records every request. */
class RecordingPort extends EventEmitter implements SandboxPort {
  readonly requests: Array<[Op, unknown]> = [];
  constructor(private readonly chat: WireChat) {
    super();
  }
  async connect(): Promise<unknown> { return {}; }
  async close(): Promise<void> {}
  async request<K extends Op>(op: K, args: OpArgs<K>): Promise<never> {
    this.requests.push([op, args]);
    return (op === 'get_chat' ? this.chat : {}) as never;
  }
  ack(): void {}
  async uploadMedia(): Promise<never> { throw new Error('not used'); }
  async downloadMedia(): Promise<{ stream: Readable; size: number; mimetype: string }> { throw new Error('not used'); }
}

describe('sandbox connector: roles', () => {
  const chat: WireChat = {
    id: 'g:1', type: 'group', name: 'Club', topic: null, avatar: null, created_at: 1, last_message_id: null, read_receipts: {}, disappear_ms: null,
    members: [{ user_id: 'alice', role: 'owner' }, { user_id: 'me', role: 'admin' }, { user_id: 'bob', role: 'admin' }, { user_id: 'carol', role: 'member' }],
  };
  const change = (h: SandboxEventHandler, ev: Omit<MembersChanged, 'type' | 'ts' | 'self' | 'chat'>) => {
    const out = h.toRemote({ type: 'members_changed', ts: 5, self: ev.by === 'me', chat, ...ev });
    assert.equal(out.length, 1);
    assert.equal(out[0]!.type, 'chat_info_change');
    return out[0]!.type === 'chat_info_change' ? out[0]! : assert.fail('not a chat_info_change');
  };

  it('promote and demote become member changes carrying the new power level', () => {
    const h = new SandboxEventHandler(new RecordingLogin('me' as UserLoginId), new RecordingPort(chat));
    const promoted = change(h, { by: 'alice', change: 'promote', users: ['bob'] });
    assert.deepEqual(promoted.portal, { id: 'g:1', receiver: '' });
    assert.deepEqual(promoted.sender, { user: 'alice', isFromMe: false });
    assert.deepEqual(promoted.change, { members: { changed: [{ user: 'bob', isFromMe: false, membership: 'join', powerLevel: 50 }] } });
    const demoted = change(h, { by: 'me', change: 'demote', users: ['carol'] });
    assert.deepEqual(demoted.sender, { user: 'me', isFromMe: true });
    assert.deepEqual(demoted.change.members?.changed?.map((m) => [m.user, m.powerLevel]), [['carol', 0]]);
    const own = change(h, { by: 'alice', change: 'promote', users: ['me'] });
    assert.deepEqual(own.change.members?.changed?.map((m) => [m.user, m.isFromMe, m.powerLevel]), [['me', true, 50]], 'our own promotion is no resync');
    const owner = change(h, { by: 'alice', change: 'promote', users: ['alice'] });
    assert.deepEqual(owner.change.members?.changed?.map((m) => [m.user, m.powerLevel]), [['alice', 75]]);
    assert.equal(owner.change.members?.removed, undefined);
  });

  it('Matrix power levels become set_role calls: ≥ 50 admin, below member; the owner and unchanged roles are skipped', async () => {
    const port = new RecordingPort(chat);
    const api = new SandboxAPI(new RecordingLogin('me' as UserLoginId), port);
    const base = { roomId: '!r:example.org', eventId: '$pl', sender: '@me:example.org', timestamp: 1 };
    const users = [['bob', 0], ['carol', 100], ['alice', 100], ['me', 50]].map(([user, level]) => ({ user: user as RemoteUserId, level: level as number }));
    await api.handleMatrixPowerLevels({ ...base, portal: portalKey('g:1'), users });
    assert.deepEqual(port.requests, [
      ['get_chat', { chat: 'g:1' }],
      ['set_role', { chat: 'g:1', user: 'bob', role: 'member' }],
      ['set_role', { chat: 'g:1', user: 'carol', role: 'admin' }],
    ]);
    port.requests.length = 0;
    await assert.rejects(api.handleMatrixPowerLevels({ ...base, portal: portalKey('dm:bob:me', 'me'), users }), (err: unknown) => err instanceof BridgeError && err.reason === 'm_unsupported');
    assert.deepEqual(port.requests, [], 'nothing sent for a DM');
  });
});
