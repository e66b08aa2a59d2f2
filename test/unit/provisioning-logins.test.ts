/**
 * The provisioning API's behaviour on a real Bridge with a scripted connector: logging in by
 * password, QR (rotating codes, display_and_wait) and cookies; cancelling, abandoning and logging
 * out; whoami, capabilities and bridge state; contacts, identifiers, DMs and groups. Every response
 * is checked against the OpenAPI file.
 */
import assert from 'node:assert/strict';
import { BridgeError } from '../../shared/src/network/index.js';
import { ALICE, BOB, ProvisioningHarness } from '../helpers/provisioning-harness.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'silent';

type Step = {
  login_id: string; type: string; step_id: string;
  display_and_wait?: { type: string; data?: string };
  user_input?: { fields: Array<{ id: string; type: string; pattern?: string }> };
  cookies?: { url: string; fields: Array<{ id: string; required: boolean; sources: Array<{ type: string; name: string; cookie_domain?: string }> }> };
  complete?: { user_login_id: string; remote_name: string };
};
type Json = Record<string, unknown>;

describe('provisioning API: logins and chats', () => {
  let h: ProvisioningHarness;
  let clock = 1_700_000_000_000;

  before(async () => {
    h = await ProvisioningHarness.start({ api: { now: () => clock, logins: { waitMs: 300 } } });
  });
  after(() => h.stop());
  afterEach(async () => {
    await h.call('POST', '/logout/all', { as: ALICE });
    await h.call('POST', '/logout/all', { as: BOB });
  });

  const stepPath = (s: Step, type = s.type) => `/login/step/${s.login_id}/${encodeURIComponent(s.step_id)}/${type}`;
  const start = async (flow: string, as = ALICE) => {
    const r = await h.call<Step>('POST', `/login/start/${flow}`, { as });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return { step: r.body, process: h.connector.processes.at(-1)! };
  };
  const waitStep = (s: Step, as = ALICE) => h.call<Step>('POST', stepPath(s, 'display_and_wait'), { as });
  const loginAlice = async () => {
    const { step } = await start('password');
    const done = await h.call<Step>('POST', stepPath(step), { body: { username: 'alice', password: 'right' } });
    assert.equal(done.body.type, 'complete');
  };

  describe('password (user_input)', () => {
    it('shows the fields, completes with the right password, and the login is listed with its state', async () => {
      const { step } = await start('password');
      assert.equal(step.type, 'user_input');
      assert.deepEqual(step.user_input!.fields.map((f) => [f.id, f.type]), [['username', 'username'], ['password', 'password']]);
      const done = await h.call<Step>('POST', stepPath(step), { body: { username: 'alice', password: 'right' } });
      assert.deepEqual(done.body.complete, { user_login_id: 'alice', remote_name: 'alice' });
      const logins = await h.call<{ login_ids: string[]; logins: Array<{ id: string; state: { state_event: string } }> }>('GET', '/logins');
      assert.deepEqual(logins.body.login_ids, ['alice']);
      assert.equal(logins.body.logins[0]!.state.state_event, 'CONNECTED');
      const state = await h.call<{ logins: Record<string, Json> }>('GET', '/bridge_state');
      assert.equal(state.body.logins.alice!.state_event, 'CONNECTED');
      assert.equal(state.body.logins.alice!.user_id, ALICE);
      assert.deepEqual((await h.call<{ login_ids: string[] }>('GET', '/logins', { as: BOB })).body.login_ids, [], 'bob sees none of it');
      await h.call('POST', stepPath(step), { body: { username: 'alice', password: 'right' } }).then((r) => assert.equal(r.status, 404, 'a completed process is gone'));
    });

    it('a wrong password ends the process with 403 and the network\'s message; nothing is logged in', async () => {
      const { step } = await start('password');
      const r = await h.call('POST', stepPath(step), { body: { username: 'alice', password: 'wrong' } });
      assert.equal(r.status, 403);
      assert.equal(r.body.error, 'Wrong username or password');
      assert.equal((await h.call('POST', stepPath(step), { body: { username: 'alice', password: 'right' } })).status, 404);
      assert.equal(h.bridge.loginsOf(ALICE).length, 0);
    });
  });

  describe('QR (display_and_wait)', () => {
    it('returns the raw QR data, then each rotated code once, then complete', async () => {
      const { step, process } = await start('qr');
      assert.deepEqual(step.display_and_wait, { type: 'qr', data: 'code-1' });
      // Nothing new: after waitMs the same step comes back, and the client asks again.
      const t0 = Date.now();
      const same = await waitStep(step);
      assert.ok(Date.now() - t0 >= 250, 'it waited');
      assert.equal(same.body.display_and_wait!.data, 'code-1');
      // A rotation that happened between requests is not missed.
      process.rotate('code-2');
      await new Promise((r) => setTimeout(r, 20));
      assert.equal((await waitStep(step)).body.display_and_wait!.data, 'code-2');
      // A rotation during a wait answers it at once.
      const waiting = waitStep(step);
      setTimeout(() => process.rotate('code-3'), 50);
      assert.equal((await waiting).body.display_and_wait!.data, 'code-3');
      const completing = waitStep(step);
      setTimeout(() => void process.approve('alice'), 50);
      const done = await completing;
      assert.equal(done.body.type, 'complete');
      assert.equal(done.body.complete!.user_login_id, 'alice');
      assert.deepEqual(h.bridge.loginsOf(ALICE).map((l) => l.id), ['alice']);
    });

    it('a code approved while no request was waiting: the next display_and_wait answers complete at once', async () => {
      const { step, process } = await start('qr');
      process.rotate('code-2');
      await process.approve('alice');
      await new Promise((r) => setTimeout(r, 20));
      const t0 = Date.now();
      const r = await waitStep(step);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.type, 'complete', 'the rotation in between is skipped: complete is newer');
      assert.ok(Date.now() - t0 < 250, 'no waiting');
    });

    it('a failure while waiting is the answer to the next request, and ends the process', async () => {
      const { step, process } = await start('qr');
      process.fail(new BridgeError('expired', { reason: 'm_timeout', userMessage: 'The code expired; start again' }));
      const r = await waitStep(step);
      assert.equal(r.status, 504);
      assert.deepEqual(r.body, { errcode: 'M_UNKNOWN', error: 'The code expired; start again' });
      assert.equal((await waitStep(step)).status, 404);
    });

    it('cancel ends the process (and a request waiting on it), and later requests get 404', async () => {
      const { step, process } = await start('qr');
      const waiting = waitStep(step);
      await new Promise((r) => setTimeout(r, 50));
      const c = await h.call('POST', `/login/cancel/${step.login_id}`);
      assert.deepEqual([c.status, c.body], [200, {}]);
      assert.equal(process.cancelled, true);
      assert.equal((await waiting).status, 404);
      assert.equal((await waitStep(step)).status, 404);
      assert.equal((await h.call('POST', `/login/cancel/${step.login_id}`)).status, 404);
    });

    it('a process nobody asks about for ten minutes is cancelled', async () => {
      const { step, process } = await start('qr');
      clock += 9 * 60_000;
      h.api.logins.sweep();
      assert.equal(process.cancelled, false);
      clock += 2 * 60_000;
      h.api.logins.sweep();
      assert.equal(process.cancelled, true);
      assert.equal((await waitStep(step)).status, 404);
    });

    it('logging out cancels the user\'s open processes, not other users\'', async () => {
      await loginAlice();
      const mine = await start('qr');
      const bobs = await start('qr', BOB);
      const r = await h.call('POST', '/logout/alice');
      assert.equal(r.status, 200);
      assert.equal(mine.process.cancelled, true);
      assert.equal(bobs.process.cancelled, false);
      assert.equal(h.connector.apis.get('alice')!.loggedOut, true, 'logged out on the network too');
      assert.deepEqual((await h.call<{ login_ids: string[] }>('GET', '/logins')).body.login_ids, []);
    });

    it('keeps at most three open processes per user, cancelling the oldest', async () => {
      const first = await start('qr');
      await start('qr');
      await start('qr');
      assert.equal(first.process.cancelled, false);
      await start('qr');
      assert.equal(first.process.cancelled, true);
      assert.equal(h.api.logins.countOf(ALICE), 3);
      h.api.logins.cancelAllOf(ALICE);
    });
  });

  describe('cookies', () => {
    it('describes where each value comes from, checks required and patterned fields, and completes', async () => {
      const { step, process } = await start('cookies');
      assert.equal(step.cookies!.url, 'https://fake.example/login');
      assert.deepEqual(step.cookies!.fields[0], { id: 'session', required: true, sources: [{ type: 'cookie', name: 'sid', cookie_domain: '.fake.example' }] });
      assert.equal((await h.call('POST', stepPath(step), { body: { xs: '12' } })).body.errcode, 'M_MISSING_PARAM');
      assert.equal((await h.call('POST', stepPath(step), { body: { session: 'abc', xs: 'no' } })).body.errcode, 'M_INVALID_PARAM');
      assert.deepEqual(process.submitted, []);
      const done = await h.call<Step>('POST', stepPath(step), { body: { session: 'abc' } });
      assert.equal(done.body.complete!.user_login_id, 'cookie-abc');
      assert.deepEqual(process.submitted, [{ session: 'abc' }]);
    });
  });

  describe('info', () => {
    it('whoami names the caller, the network, the flows, the bot and the management room', async () => {
      await h.db.users.getOrCreate(ALICE);
      await h.db.users.setManagementRoom(ALICE, '!mgmt:example.org');
      const r = await h.call<Json & { network: Json; login_flows: Json[] }>('GET', '/whoami');
      assert.equal(r.body.user_id, ALICE);
      assert.equal(r.body.network.network_id, 'fake');
      assert.deepEqual(r.body.login_flows.map((f) => f.id), ['password', 'qr', 'cookies']);
      assert.equal(r.body.homeserver, 'example.org');
      assert.equal(r.body.bridge_bot, '@fakebot:example.org');
      assert.equal(r.body.command_prefix, '!fake');
      assert.equal(r.body.management_room, '!mgmt:example.org');
      assert.deepEqual(r.body.logins, []);
    });

    it('capabilities are all false without a login and follow the login\'s guards with one', async () => {
      const none = await h.call<{ resolve_identifier: Record<string, boolean>; group_creation: Json }>('GET', '/capabilities');
      assert.ok(Object.values(none.body.resolve_identifier).every((v) => v === false));
      assert.deepEqual(none.body.group_creation, {});
      await loginAlice();
      const some = await h.call<{ resolve_identifier: Record<string, boolean>; group_creation: Json }>('GET', '/capabilities');
      assert.equal(some.body.resolve_identifier.create_dm, true);
      assert.equal(some.body.resolve_identifier.contact_list, true);
      assert.ok(some.body.group_creation.group);
    });
  });

  describe('chats', () => {
    it('needs a login: FI.MAU.NOT_LOGGED_IN without one', async () => {
      const r = await h.call('GET', '/contacts');
      assert.deepEqual([r.status, r.body.errcode], [400, 'FI.MAU.NOT_LOGGED_IN']);
    });

    it('lists contacts and resolves identifiers with their ghosts', async () => {
      await loginAlice();
      const roomsBefore = h.matrixCalls.filter((c) => c.method === 'createRoom').length;
      const contacts = await h.call<{ contacts: Json[] }>('GET', '/contacts?login_id=alice');
      assert.deepEqual(contacts.body.contacts, [{ id: 'carol', mxid: '@fake_carol:example.org', name: 'Carol', identifiers: ['tel:+15550000003'] }]);
      const carol = await h.call('GET', `/resolve_identifier/${encodeURIComponent('+15550000003')}`);
      assert.equal(carol.body.id, 'carol');
      assert.equal(carol.body.dm_room_mxid, undefined, 'looking someone up opens no chat');
      assert.equal((await h.call('GET', '/resolve_identifier/nobody')).status, 404);
      assert.equal(h.matrixCalls.filter((c) => c.method === 'createRoom').length, roomsBefore);
    });

    it('create_dm makes the portal room (201), and again only re-invites (200)', async () => {
      await loginAlice();
      const rooms = () => h.matrixCalls.filter((c) => c.method === 'createRoom');
      const roomsBefore = rooms().length;
      const first = await h.call('POST', '/create_dm/carol');
      assert.equal(first.status, 201);
      assert.match(String(first.body.dm_room_mxid), /^!room\d+:example\.org$/);
      const create = rooms()[roomsBefore]!;
      assert.deepEqual((create.args[0] as { invite: string[] }).invite, [ALICE]);
      const again = await h.call('POST', '/create_dm/carol');
      assert.equal(again.status, 200);
      assert.equal(again.body.dm_room_mxid, first.body.dm_room_mxid);
      assert.equal(rooms().length, roomsBefore + 1);
    });

    it('create_group passes name, topic and members (ghost ids mapped back) and answers with the room', async () => {
      await loginAlice();
      const r = await h.call('POST', '/create_group', { body: { name: 'Plans', topic: 'weekend', members: ['carol', '@fake_dave:example.org'] } });
      assert.equal(r.status, 200);
      assert.equal(r.body.id, 'g:1');
      assert.match(String(r.body.mxid), /^!room\d+:example\.org$/);
      assert.deepEqual(h.connector.apis.get('alice')!.groups.at(-1), { name: 'Plans', topic: 'weekend', members: ['carol', 'dave'] });
      // mautrix's spelling: participants and state-content objects.
      const m = await h.call('POST', '/create_group/group', { body: { type: 'group', name: { name: 'Other' }, topic: { topic: 't' }, participants: ['carol'] } });
      assert.equal(m.status, 200);
      assert.deepEqual(h.connector.apis.get('alice')!.groups.at(-1), { name: 'Other', topic: 't', members: ['carol'] });
    });

    it('logout of an unknown or another user\'s login is 404; "all" logs out every login', async () => {
      await loginAlice();
      assert.equal((await h.call('POST', '/logout/alice', { as: BOB })).status, 404);
      assert.equal((await h.call('POST', '/logout/nobody')).status, 404);
      assert.equal(h.bridge.loginsOf(ALICE).length, 1);
      assert.equal((await h.call('POST', '/logout/all')).status, 200);
      assert.equal(h.bridge.loginsOf(ALICE).length, 0);
    });
  });
});
