/**
 * Bad input to the provisioning API: malformed JSON, wrong types, unknown or missing fields,
 * oversized bodies, bad path and query parameters. Each gets a 4xx with a Matrix errcode (checked
 * against the OpenAPI file like every response here), and nothing changes: no login process step
 * is submitted, no login or group created, a login process stays where it was.
 */
import assert from 'node:assert/strict';
import { provisioningSpec } from '../helpers/openapi.js';
import { ALICE, BOB, ProvisioningHarness, type ScriptedProcess } from '../helpers/provisioning-harness.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'silent';

type Step = { login_id: string; type: string; step_id: string };

describe('provisioning API: the OpenAPI file', () => {
  it('compiles every documented response schema', () => {
    assert.ok(provisioningSpec().compileAll() > 15);
  });

  it('documents exactly the routes the API serves', async () => {
    const h = await ProvisioningHarness.start();
    try {
      const served = h.api.router.routes.map((r) => `${r.method} /v3${r.path}`).sort();
      const documented = provisioningSpec().operations().map((o) => `${o.method} ${o.path}`)
        // The spec lists the step types separately, and the catch-all for the others.
        .map((o) => o.replace(/\/(user_input|cookies|display_and_wait)$/, '/{stepType}'));
      assert.deepEqual([...new Set(documented)].sort(), served);
    } finally {
      await h.stop();
    }
  });
});

describe('provisioning API: bad input changes nothing', () => {
  let h: ProvisioningHarness;
  let step: Step;
  let process: ScriptedProcess;

  before(async () => {
    h = await ProvisioningHarness.start();
  });
  after(() => h.stop());

  /** A fresh password login process for alice. */
  async function startPassword(): Promise<Step> {
    const r = await h.call<Step>('POST', '/login/start/password');
    assert.equal(r.status, 200);
    return r.body;
  }

  const stepPath = (s: Step, type = s.type) => `/login/step/${s.login_id}/${encodeURIComponent(s.step_id)}/${type}`;

  async function expectError(method: string, path: string, status: number, errcode: string, opts: Parameters<ProvisioningHarness['call']>[2] = {}) {
    const r = await h.call(method, path, opts);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.errcode, errcode, JSON.stringify(r.body));
    return r;
  }

  beforeEach(async () => {
    step = await startPassword();
    process = h.connector.processes.at(-1)!;
  });

  afterEach(async () => {
    // The process is still at its first step: a correct submission now completes it.
    assert.deepEqual(process.submitted, [], 'the connector never saw the bad input');
    assert.equal(h.bridge.loginsOf(ALICE).length, 0, 'no login was created');
    const ok = await h.call<Step>('POST', stepPath(step), { body: { username: 'alice', password: 'right' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.type, 'complete');
    await h.call('POST', '/logout/all');
  });

  it('malformed JSON → 400 M_NOT_JSON', async () => {
    await expectError('POST', stepPath(step), 400, 'M_NOT_JSON', { body: '{"username": "alice",' });
  });

  it('a body of the wrong type (array, string, number values) → 400 M_BAD_JSON', async () => {
    await expectError('POST', stepPath(step), 400, 'M_BAD_JSON', { body: ['alice', 'right'] });
    await expectError('POST', stepPath(step), 400, 'M_BAD_JSON', { body: '"alice"' });
    await expectError('POST', stepPath(step), 400, 'M_BAD_JSON', { body: { username: 'alice', password: 123 } });
    await expectError('POST', stepPath(step), 400, 'M_BAD_JSON', { body: { username: null, password: 'right' } });
  });

  it('no body where field values are needed → 400 M_BAD_JSON', async () => {
    await expectError('POST', stepPath(step), 400, 'M_BAD_JSON');
  });

  it('unknown, missing or badly formatted fields → 400, naming the field but not the value', async () => {
    await expectError('POST', stepPath(step), 400, 'M_BAD_JSON', { body: { username: 'alice', password: 'right', extra: 'x' } });
    const missing = await expectError('POST', stepPath(step), 400, 'M_MISSING_PARAM', { body: { username: 'alice' } });
    assert.match(String(missing.body.error), /password/);
    const pattern = await expectError('POST', stepPath(step), 400, 'M_INVALID_PARAM', { body: { username: 'Not-Valid!', password: 'right' } });
    assert.match(String(pattern.body.error), /username/);
    assert.doesNotMatch(String(pattern.body.error), /Not-Valid/);
  });

  it('oversized bodies → 413 M_TOO_LARGE', async () => {
    await expectError('POST', stepPath(step), 413, 'M_TOO_LARGE', { body: { username: 'alice', password: 'x'.repeat(100_000) } });
  });

  it('a value over the per-field cap, or too many fields → 400 M_BAD_JSON', async () => {
    await expectError('POST', stepPath(step), 400, 'M_BAD_JSON', { body: { username: 'alice', password: 'x'.repeat(20_000) } });
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`f${i}`, 'v']));
    await expectError('POST', stepPath(step), 400, 'M_BAD_JSON', { body: many });
  });

  it('the wrong step id or type → 400 M_BAD_STATE; an unknown type → 400 M_INVALID_PARAM', async () => {
    await expectError('POST', `/login/step/${step.login_id}/other.step/user_input`, 400, 'M_BAD_STATE', { body: { username: 'alice', password: 'right' } });
    await expectError('POST', stepPath(step, 'cookies'), 400, 'M_BAD_STATE', { body: { username: 'alice', password: 'right' } });
    await expectError('POST', stepPath(step, 'display_and_wait'), 400, 'M_BAD_STATE');
    await expectError('POST', stepPath(step, 'complete'), 400, 'M_INVALID_PARAM', { body: {} });
  });

  it('an unknown login process, or another user\'s → 404 M_NOT_FOUND', async () => {
    await expectError('POST', `/login/step/unknownprocess/${step.step_id}/user_input`, 404, 'M_NOT_FOUND', { body: { username: 'alice', password: 'right' } });
    await expectError('POST', stepPath(step), 404, 'M_NOT_FOUND', { as: BOB, body: { username: 'alice', password: 'right' } });
    await expectError('POST', `/login/cancel/${step.login_id}`, 404, 'M_NOT_FOUND', { as: BOB });
  });

  it('bad path parameters: malformed escapes, control characters, bad ids → 400 M_INVALID_PARAM', async () => {
    await expectError('POST', `/login/step/${step.login_id}/%ZZ/user_input`, 400, 'M_INVALID_PARAM', { body: {} });
    await expectError('POST', `/login/step/${'x'.repeat(65)}/a/user_input`, 400, 'M_INVALID_PARAM', { body: {} });
    await expectError('GET', '/resolve_identifier/a%00b', 400, 'M_INVALID_PARAM');
    await expectError('POST', '/login/start/no%20such%20flow', 400, 'M_INVALID_PARAM');
  });

  it('an unknown flow → 404; a body on start or cancel other than {} → 400', async () => {
    await expectError('POST', '/login/start/nosuchflow', 404, 'M_NOT_FOUND');
    await expectError('POST', '/login/start/password', 400, 'M_BAD_JSON', { body: { flow: 'x' } });
    await expectError('POST', `/login/cancel/${step.login_id}`, 400, 'M_BAD_JSON', { body: [] });
  });

  it('bad query parameters → 400 M_INVALID_PARAM', async () => {
    await expectError('GET', `/contacts?login_id=${'x'.repeat(300)}`, 400, 'M_INVALID_PARAM');
  });

  it('unknown endpoints → 404, wrong methods → 405, both M_UNRECOGNIZED', async () => {
    await expectError('GET', '/nope', 404, 'M_UNRECOGNIZED');
    await expectError('GET', '/login/start/password', 405, 'M_UNRECOGNIZED');
    await expectError('DELETE', '/logins', 405, 'M_UNRECOGNIZED');
  });

  describe('creating a group', () => {
    let groupsBefore: number;
    let roomsBefore: number;
    beforeEach(async () => {
      // A login to create groups through; the step of the outer beforeEach is left untouched.
      const other = (await h.call<Step>('POST', '/login/start/password', { as: BOB })).body;
      const done = await h.call<Step>('POST', stepPath(other), { as: BOB, body: { username: 'bob', password: 'right' } });
      assert.equal(done.body.type, 'complete', JSON.stringify(done.body));
      groupsBefore = h.connector.apis.get('bob')!.groups.length;
      roomsBefore = h.matrixCalls.filter((c) => c.method === 'createRoom').length;
    });
    afterEach(async () => {
      assert.equal(h.connector.apis.get('bob')!.groups.length, groupsBefore, 'no group was created on the network');
      assert.equal(h.matrixCalls.filter((c) => c.method === 'createRoom').length, roomsBefore, 'no room was created');
      await h.call('POST', '/logout/all', { as: BOB });
    });

    it('refuses members that are not a non-empty list of strings, and both or neither spelling', async () => {
      for (const body of [{ name: 'x' }, { name: 'x', members: [] }, { name: 'x', members: 'carol' }, { name: 'x', members: [1] },
        { name: 'x', members: ['carol'], participants: ['carol'] }, { name: 'x', members: [''] }]) {
        await expectError('POST', '/create_group', 400, 'M_BAD_JSON', { as: BOB, body });
      }
    });

    it('refuses unknown fields, an over-long name and a wrong group type', async () => {
      await expectError('POST', '/create_group', 400, 'M_BAD_JSON', { as: BOB, body: { members: ['carol'], avatar: 'mxc://x/y' } });
      await expectError('POST', '/create_group', 400, 'M_BAD_JSON', { as: BOB, body: { members: ['carol'], name: 'n'.repeat(300) } });
      await expectError('POST', '/create_group/channel', 400, 'M_INVALID_PARAM', { as: BOB, body: { members: ['carol'] } });
    });

    it('refuses a login_id that is not the caller\'s with 404', async () => {
      await expectError('POST', '/create_group?login_id=bob', 404, 'M_NOT_FOUND', { as: ALICE, body: { members: ['carol'] } });
    });
  });
});
