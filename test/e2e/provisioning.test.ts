/**
 * The provisioning API end to end: the bridge process on a real Synapse, called over HTTP with
 * each kind of credential, logging in through the API (sandbox password and QR flows, and the
 * WhatsApp bridge's QR flow over its emulated socket), then contacts, identifiers, a DM, a group,
 * bridge state and logout. Every response is validated against docs/provisioning.openapi.yaml.
 */
import assert from 'node:assert/strict';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import type { RegisteredUser } from '../helpers/synapse.js';
import { callProvisioning, type ApiReply } from '../helpers/openapi.js';

const SECRET = 'e2e-provisioning-secret-0123456789';
const enc = encodeURIComponent;

type Json = Record<string, unknown>;
type Step = {
  login_id: string; type: string; step_id: string;
  display_and_wait?: { type: string; data?: string };
  user_input?: { fields: Array<{ id: string }> };
  complete?: { user_login_id: string; remote_name: string };
};
type Auth = 'secret' | 'token' | 'openid' | { bearer: string | null; userId?: string };

/** Calls the API of `env` as `user`, authenticated the given way; the answer is checked against the spec. */
function client(env: BridgeEnv, user: () => RegisteredUser, openid: () => string) {
  return <T = Json>(method: string, path: string, opts: { auth?: Auth; body?: unknown } = {}): Promise<ApiReply<T>> => {
    const auth = opts.auth ?? 'secret';
    let token: string | undefined;
    let userId: string | undefined;
    if (auth === 'secret') [token, userId] = [SECRET, user().userId];
    else if (auth === 'token') token = user().accessToken;
    else if (auth === 'openid') token = `openid:${openid()}`;
    else [token, userId] = [auth.bearer ?? undefined, auth.userId];
    const sep = path.includes('?') ? '&' : '?';
    const full = `/_matrix/provision/v3${path}${userId ? `${sep}user_id=${enc(userId)}` : ''}`;
    return callProvisioning<T>(`http://127.0.0.1:${env.asPort}`, method, full, { token, body: opts.body });
  };
}

/** An OpenID token for the user, from Synapse's client API. */
async function requestOpenIdToken(env: BridgeEnv, user: RegisteredUser): Promise<string> {
  const res = await fetch(`${env.synapse.baseUrl}/_matrix/client/v3/user/${enc(user.userId)}/openid/request_token`, {
    method: 'POST', headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' }, body: '{}',
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { access_token: string }).access_token;
}

const stepPath = (s: Step, type = s.type) => `/login/step/${s.login_id}/${enc(s.step_id)}/${type}`;

describe('e2e: provisioning API (sandbox bridge)', function () {
  this.timeout(180_000);
  let env: BridgeEnv;
  let me: TestClient;
  let meUser: RegisteredUser;
  let openidToken: string;
  let api: ReturnType<typeof client>;

  before(async function () {
    this.timeout(240_000);
    env = await BridgeEnv.start({ config: { provisioning: { shared_secret: SECRET, rate_limit_per_minute: 1000 } } });
    ({ client: me, user: meUser } = await env.user('prov'));
    openidToken = await requestOpenIdToken(env, meUser);
    api = client(env, () => meUser, () => openidToken);
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  it('whoami answers for the same user with the shared secret, an access token and an OpenID token', async () => {
    for (const auth of ['secret', 'token', 'openid'] as const) {
      const r = await api<Json & { logins: unknown[]; network: Json }>('GET', '/whoami', { auth });
      assert.equal(r.status, 200, `${auth}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.user_id, meUser.userId, auth);
      assert.equal(r.body.bridge_bot, env.botMxid);
      assert.equal(r.body.network.network_id, 'sandbox');
      assert.deepEqual(r.body.logins, []);
    }
  });

  it('refuses missing, unknown and misused credentials', async () => {
    const cases: Array<[Auth, number, string]> = [
      [{ bearer: null }, 401, 'M_MISSING_TOKEN'],
      [{ bearer: 'syt_not_a_real_token' }, 401, 'M_UNKNOWN_TOKEN'],
      [{ bearer: 'openid:not_a_real_token' }, 401, 'M_UNKNOWN_TOKEN'],
      [{ bearer: SECRET }, 400, 'M_MISSING_PARAM'],
      [{ bearer: SECRET, userId: '@someone:elsewhere.example' }, 403, 'M_FORBIDDEN'],
      [{ bearer: meUser.accessToken, userId: '@admin:localhost' }, 403, 'M_FORBIDDEN'],
    ];
    for (const [auth, status, errcode] of cases) {
      const r = await api('GET', '/whoami', { auth });
      assert.deepEqual([r.status, r.body.errcode], [status, errcode], JSON.stringify(auth));
    }
  });

  it('lists the sandbox login flows', async () => {
    const r = await api<{ flows: Array<{ id: string }> }>('GET', '/login/flows', { auth: 'token' });
    assert.deepEqual(r.body.flows.map((f) => f.id).sort(), ['password', 'qr', 'token']);
  });

  it('logs in with the password flow; bad input and a wrong password change nothing', async () => {
    let step = (await api<Step>('POST', '/login/start/password')).body;
    assert.equal(step.type, 'user_input');
    assert.deepEqual(step.user_input!.fields.map((f) => f.id), ['username', 'password']);
    assert.equal((await api('POST', stepPath(step), { body: '{"username":' })).body.errcode, 'M_NOT_JSON');
    assert.equal((await api('POST', stepPath(step), { body: { username: 'me', password: 7 } })).body.errcode, 'M_BAD_JSON');
    assert.equal((await api('POST', stepPath(step), { body: { username: 'Bad Name', password: 'sandbox' } })).body.errcode, 'M_INVALID_PARAM');
    const wrong = await api('POST', stepPath(step), { body: { username: 'me', password: 'not-it' } });
    assert.equal(wrong.status, 403);
    assert.equal((await api<{ login_ids: string[] }>('GET', '/logins')).body.login_ids.length, 0);

    step = (await api<Step>('POST', '/login/start/password')).body;
    const done = await api<Step>('POST', stepPath(step), { body: { username: 'me', password: 'sandbox' } });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.deepEqual(done.body.complete, { user_login_id: 'me', remote_name: 'me' });
    assert.deepEqual((await api<{ login_ids: string[] }>('GET', '/logins')).body.login_ids, ['me']);
    await eventually('the login connected', async () =>
      (await api<{ logins: Record<string, { state_event: string }> }>('GET', '/bridge_state')).body.logins.me?.state_event === 'CONNECTED');
  });

  it('lists contacts and resolves an identifier to a ghost', async () => {
    const contacts = await api<{ contacts: Array<{ id: string; name?: string; mxid: string }> }>('GET', '/contacts?login_id=me', { auth: 'token' });
    const byId = new Map(contacts.body.contacts.map((c) => [c.id, c]));
    for (const who of ['alice', 'bob', 'carol']) assert.equal(byId.get(who)?.mxid, env.ghost(who), who);
    const alice = await env.control<{ name: string; phone: string }>('GET', '/accounts/alice');
    assert.equal(byId.get('alice')?.name, alice.name);

    const resolved = await api('GET', `/resolve_identifier/${enc(alice.phone)}`, { auth: 'openid' });
    assert.equal(resolved.status, 200);
    assert.deepEqual([resolved.body.id, resolved.body.mxid], ['alice', env.ghost('alice')]);
    assert.equal((await api('GET', '/resolve_identifier/nobody-at-all')).status, 404);
  });

  it('creates a DM: the portal room appears for the user and the chat exists on the network', async () => {
    const r = await api('POST', '/create_dm/carol');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const roomId = String(r.body.dm_room_mxid);
    await eventually('the DM portal room at the user', () => me.client.getRoom(roomId));
    const chats = await env.control<Array<{ id: string }>>('GET', '/chats?account=me');
    assert.ok(chats.some((c) => c.id === 'dm:carol:me'));
    const again = await api('POST', '/create_dm/carol');
    assert.deepEqual([again.status, again.body.dm_room_mxid], [200, roomId]);
  });

  it('creates a group with its room', async () => {
    const r = await api('POST', '/create_group?login_id=me', { body: { name: 'Made by the API', topic: 'provisioned', members: ['alice', env.ghost('bob')] } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const roomId = String(r.body.mxid);
    const chats = await env.control<Array<{ id: string; name?: string; members: Array<{ user_id?: string; id?: string } | string> }>>('GET', '/chats?account=me');
    const group = chats.find((c) => c.id === r.body.id);
    assert.equal(group?.name, 'Made by the API');
    const room = await eventually('the group portal room at the user', () => me.client.getRoom(roomId));
    await eventually('the group room named', () => room.name === 'Made by the API');
  });

  it('answers bad requests with 4xx and changes nothing', async () => {
    const before = (await env.control<unknown[]>('GET', '/chats?account=me')).length;
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/create_group', '{"name": "x", "members": [', 400, 'M_NOT_JSON'],
      ['POST', '/create_group', { name: 'x', members: 'alice' }, 400, 'M_BAD_JSON'],
      ['POST', '/create_group', { name: 'x', members: ['alice'], extra: true }, 400, 'M_BAD_JSON'],
      ['POST', '/create_group', { name: 'x', members: ['alice'.repeat(20_000)] }, 413, 'M_TOO_LARGE'],
      ['POST', '/create_group?login_id=someone-else', { name: 'x', members: ['alice'] }, 404, 'M_NOT_FOUND'],
      ['POST', '/create_dm/carol', { unexpected: 1 }, 400, 'M_BAD_JSON'],
      ['GET', '/contacts?login_id=nope', undefined, 404, 'M_NOT_FOUND'],
      ['POST', '/login/start/no-such-flow', undefined, 404, 'M_NOT_FOUND'],
      ['POST', '/login/step/unknownprocess/step/display_and_wait', undefined, 404, 'M_NOT_FOUND'],
      ['GET', '/no/such/endpoint', undefined, 404, 'M_UNRECOGNIZED'],
      ['GET', '/logout/me', undefined, 405, 'M_UNRECOGNIZED'],
    ];
    for (const [method, path, body, status, errcode] of cases) {
      const r = await api(method, path, { body });
      assert.deepEqual([r.status, r.body.errcode], [status, errcode], `${method} ${path}`);
    }
    assert.equal((await env.control<unknown[]>('GET', '/chats?account=me')).length, before, 'no chat was created');
    assert.deepEqual((await api<{ login_ids: string[] }>('GET', '/logins')).body.login_ids, ['me']);
  });

  it('logs in a second account with the QR flow: raw QR data, approved on the network, display_and_wait until complete', async () => {
    const step = (await api<Step>('POST', '/login/start/qr', { auth: 'token' })).body;
    assert.equal(step.type, 'display_and_wait');
    assert.equal(step.display_and_wait!.type, 'qr');
    const code = step.display_and_wait!.data!;
    const pending = await env.control<Array<{ code: string }>>('GET', '/login-codes');
    assert.ok(pending.some((c) => c.code === code), 'the QR data is the code the network waits for');
    await env.control('POST', `/login-codes/${enc(code)}/approve`, { account: 'bob' });
    let next: Step = step;
    for (let i = 0; i < 5 && next.type !== 'complete'; i++) {
      const r = await api<Step>('POST', stepPath(step, 'display_and_wait'), { auth: 'token' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      next = r.body;
    }
    assert.deepEqual(next.complete, { user_login_id: 'bob', remote_name: 'bob' });
    assert.deepEqual((await api<{ login_ids: string[] }>('GET', '/logins')).body.login_ids.sort(), ['bob', 'me']);
  });

  it('cancels a login in progress: the network forgets its code, the process is gone', async () => {
    const step = (await api<Step>('POST', '/login/start/qr')).body;
    const code = step.display_and_wait!.data!;
    const c = await api('POST', `/login/cancel/${step.login_id}`);
    assert.deepEqual([c.status, c.body], [200, {}]);
    await eventually('the code withdrawn on the network', async () =>
      !(await env.control<Array<{ code: string }>>('GET', '/login-codes')).some((p) => p.code === code));
    assert.equal((await api('POST', stepPath(step))).status, 404);
  });

  it('logs out one login, then all', async () => {
    assert.deepEqual([(await api('POST', '/logout/bob')).status], [200]);
    assert.deepEqual((await api<{ login_ids: string[] }>('GET', '/logins')).body.login_ids, ['me']);
    assert.equal((await api('POST', '/logout/bob')).status, 404);
    assert.equal((await api('POST', '/logout/all', { auth: 'token' })).status, 200);
    assert.deepEqual((await api<{ login_ids: string[] }>('GET', '/logins')).body.login_ids, []);
    assert.deepEqual((await api<{ logins: Json }>('GET', '/bridge_state')).body.logins, {});
    const who = await api<{ logins: unknown[] }>('GET', '/whoami');
    assert.deepEqual(who.body.logins, []);
  });
});

describe('e2e: provisioning API (WhatsApp bridge over the WhatsApp sandbox)', function () {
  this.timeout(180_000);
  let env: BridgeEnv;
  let me: TestClient;
  let meUser: RegisteredUser;
  let api: ReturnType<typeof client>;

  before(async function () {
    this.timeout(240_000);
    env = await BridgeEnv.start({ bridge: 'whatsapp', config: { provisioning: { shared_secret: SECRET } } });
    ({ client: me, user: meUser } = await env.user('prov_wa'));
    api = client(env, () => meUser, () => '');
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  it('logs in by QR code through the API: the code is scanned on the network and display_and_wait ends in complete', async () => {
    const flows = await api<{ flows: Array<{ id: string }> }>('GET', '/login/flows', { auth: 'token' });
    assert.ok(flows.body.flows.some((f) => f.id === 'qr'));
    const step = (await api<Step>('POST', '/login/start/qr', { auth: 'token' })).body;
    assert.equal(step.type, 'display_and_wait');
    assert.equal(step.display_and_wait!.type, 'qr');
    const qrData = step.display_and_wait!.data!;
    assert.ok(qrData.length > 0, 'the step carries the raw QR data');
    const code = await eventually('the login code waiting for a scan', async () =>
      (await env.control<Array<{ code: string }>>('GET', '/login-codes')).find((c) => qrData.includes(c.code))?.code);
    await env.control('POST', `/login-codes/${enc(code)}/approve`, { account: 'me' });
    let next: Step = step;
    for (let i = 0; i < 6 && next.type !== 'complete'; i++) {
      const r = await api<Step>('POST', stepPath(step, 'display_and_wait'), { auth: 'token' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      next = r.body;
    }
    assert.equal(next.type, 'complete');
    const logins = await api<{ login_ids: string[]; logins: Array<{ id: string; name: string }> }>('GET', '/logins', { auth: 'token' });
    assert.deepEqual(logins.body.login_ids, [next.complete!.user_login_id]);
    assert.match(logins.body.logins[0]!.name, /15550000000/);
    await eventually('the WhatsApp login connected', async () =>
      (await api<{ logins: Record<string, { state_event: string }> }>('GET', '/bridge_state')).body.logins[next.complete!.user_login_id]?.state_event === 'CONNECTED');
  });
});
