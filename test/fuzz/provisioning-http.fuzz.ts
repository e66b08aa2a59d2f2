/**
 * Malformed requests against the provisioning API, mounted with `mountProvisioning` on a real
 * TributaryAppService listener, on a real Bridge with SQLite and a connector that records what it
 * is asked to do. Properties: an answer always comes, never a 5xx, every non-2xx answer is JSON
 * with a Matrix errcode, a refused request changes nothing (no login started, no row written),
 * and no connection is left open.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { z } from 'zod';
import { makeConfigSchema, parseConfig } from '../../shared/src/config/index.js';
import { Bridge } from '../../shared/src/core/bridge.js';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { TributaryAppService } from '../../shared/src/matrix/appservice.js';
import type { LoginProcess, NetworkConnector } from '../../shared/src/network/index.js';
import { mountProvisioning, type ProvisioningApi } from '../../shared/src/provisioning/index.js';
import { authArb, buildRequest, extraHeaders, framed, invalidUtf8, jsonishText, methodArb, segmentArb } from './arbitraries-http.js';
import { hostileText } from './arbitraries-text.js';
import { rawRequest, type RawReply, type RawRequest } from '../helpers/raw-http.js';
import { expectNone } from './checks.js';
import { HTTP_CASE_LIMIT_MS, HTTP_RUNS, fuzzAsync, timeoutFor } from './fuzz-config.js';
import { replyProblems } from './http-checks.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'silent';

const SECRET = 'prov_fuzz_secret_0123456789abcdef';
const GOOD_TOKEN = 'syt_good_access_token';
const PREFIX = '/_matrix/provision/v3';

/** The connector: one login flow; every call is counted (a refused request must make none). */
function recordingConnector(calls: string[]): NetworkConnector<unknown> {
  const process: LoginProcess = {
    start: async () => {
      calls.push('start');
      return { type: 'user_input', stepId: 'fuzz.credentials', instructions: 'Enter', fields: [{ id: 'username', type: 'username', name: 'Username' }] };
    },
    submitUserInput: async () => {
      calls.push('submit');
      return { type: 'user_input', stepId: 'fuzz.credentials', instructions: 'Again', fields: [{ id: 'username', type: 'username', name: 'Username' }] };
    },
    cancel: () => void calls.push('cancel'),
  };
  return {
    name: { displayName: 'Fuzz', networkId: 'fuzz', networkUrl: 'https://fuzz.invalid', protocolId: 'fuzz', defaultPort: 29399, botDisplayName: 'Fuzz bridge' },
    getLoginFlows: () => [{ id: 'password', name: 'Password', description: 'Log in with a password' }],
    createLogin: () => {
      calls.push('createLogin');
      return process;
    },
  } as unknown as NetworkConnector<unknown>;
}

/** The homeserver's /whoami and OpenID userinfo, for token authentication. */
const fakeHomeserver: typeof fetch = async (input) => {
  const url = String(input instanceof Request ? input.url : input);
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  if (url.includes('/account/whoami')) return json(200, { user_id: '@alice:example.org' });
  if (url.includes('/openid/userinfo')) return json(200, { sub: '@alice:example.org' });
  return json(404, { errcode: 'M_UNRECOGNIZED', error: 'no' });
};

const ROUTES = [
  'whoami', 'capabilities', 'bridge_state', 'login/flows', 'login/start/password', 'login/start', 'login/step', 'login/cancel', 'logout/all',
  'logout', 'logins', 'contacts', 'resolve_identifier', 'create_dm', 'create_group', 'create_group/group', 'create_group/x',
];

const query = fc.oneof(
  { arbitrary: fc.constant(''), weight: 2 },
  { arbitrary: fc.constantFrom('?user_id=@alice:example.org', '?user_id=@alice:example.org&login_id=l1', '?user_id=@fuzzbot:example.org', '?user_id=@fuzz_ghost:example.org', '?user_id=%40alice%3Aexample.org', '?user_id=alice', '?user_id=', '?user_id=@a:b&user_id=@c:d', '?login_id=%ZZ'), weight: 4 },
  { arbitrary: hostileText(10).map((s) => `?user_id=${encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))}`), weight: 1 },
);

const target: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom(...ROUTES), fc.oneof(fc.constant([]), fc.array(segmentArb, { maxLength: 3 })), query).map(([r, rest, q]) => `${PREFIX}/${[r, ...rest].join('/')}${q}`), weight: 8 },
  { arbitrary: fc.tuple(fc.constantFrom('/_matrix/provision/v3', '/_matrix/provision/v1/whoami', '/_matrix/provision/', '/_matrix/provision/v3/', '/_matrix/provision/v3//whoami', '/_matrix/provision/v3/whoami/'), query).map(([p, q]) => p + q), weight: 1 },
);

/** Bodies: the shapes the routes take, broken, and junk. */
const provBody: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: fc.constantFrom({}, { username: 'u' }, { name: 'g', members: ['bob'] }, { participants: ['@fuzz_bob:example.org'], name: { name: 'g' } }, { members: [] }, { name: 'x', members: ['a'], participants: ['b'] }, { topic: { topic: 5 } }).map((b) => Buffer.from(JSON.stringify(b))), weight: 3 },
  { arbitrary: fc.dictionary(hostileText(8), fc.oneof(hostileText(20), fc.integer(), fc.constant(null))).map((b) => Buffer.from(JSON.stringify(b))), weight: 2 },
  { arbitrary: jsonishText.map((t) => Buffer.from(t)), weight: 3 },
  { arbitrary: invalidUtf8, weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 100 }).map((n) => Buffer.from(`{"pad":"${'p'.repeat(64 * 1024 + n)}"}`)), weight: 1 },
);

const provAuth: fc.Arbitrary<Array<[string, string]>> = fc.oneof(
  { arbitrary: authArb(SECRET), weight: 3 },
  { arbitrary: fc.constantFrom<Array<[string, string]>>([['Authorization', `Bearer ${GOOD_TOKEN}`]], [['Authorization', `Bearer openid:${GOOD_TOKEN}`]], [['Authorization', `Bearer ${'t'.repeat(5000)}`]]), weight: 1 },
);

export const provisioningRequest: fc.Arbitrary<RawRequest> = fc
  .tuple(methodArb, target, provAuth, framed(provBody), extraHeaders)
  .map(([method, path, auth, body, extra]) => buildRequest(method, path, auth, body, extra));

describe('fuzz: provisioning API', function () {
  this.timeout(timeoutFor(HTTP_RUNS, 200));
  let db: Database;
  let as: TributaryAppService;
  let api: ProvisioningApi | undefined;
  let port = 0;
  const calls: string[] = [];
  const server = (): http.Server => (as as unknown as { server: http.Server }).server;

  before(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    const config = parseConfig(makeConfigSchema('fuzz', z.object({})), {
      homeserver: { domain: 'example.org', address: 'http://127.0.0.1:9' },
      provisioning: { shared_secret: SECRET, rate_limit_per_minute: 0 },
      permissions: { '*': 'relay', 'example.org': 'user' },
    });
    const bridge = new Bridge(config, db, recordingConnector(calls));
    as = new TributaryAppService({ homeserverToken: 'hs_token_not_used_here_0123', maxBodyBytes: 1024 * 1024, handlers: { onTransaction: async () => undefined } });
    api = mountProvisioning(as, bridge, { auth: { fetch: fakeHomeserver } });
    await as.listen(0, '127.0.0.1', 511);
    port = (server().address() as AddressInfo).port;
  });

  after(async () => {
    api?.stop();
    server().closeAllConnections();
    await as.close();
    await db.close();
  });

  async function rows(): Promise<string> {
    const counts = await Promise.all(['users', 'user_logins', 'portals', 'ghosts'].map(async (t) => Number((await db.knex(t).count({ n: '*' }).first())?.n ?? 0)));
    return counts.join(',');
  }

  it('malformed provisioning requests: an answer, no 5xx, JSON errcode, nothing changed when refused', async () => {
    const statuses = new Map<number, number>();
    await fuzzAsync('malformed provisioning requests: an answer, no 5xx, JSON errcode, nothing changed when refused', provisioningRequest, HTTP_RUNS, async (req) => {
      const before = await rows();
      const callsBefore = calls.length;
      let reply: RawReply;
      try {
        reply = await rawRequest(port, req);
      } catch (err) {
        throw new Error(`${(err as Error).message} for ${req.method} ${req.target.slice(0, 200)}`);
      }
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      const problems = replyProblems(req, reply);
      const refused = reply.status >= 300;
      if (refused && (await rows()) !== before) problems.push(`rows changed by a ${reply.status}`);
      if (refused && calls.length !== callsBefore) problems.push(`connector called (${calls.slice(callsBefore).join(', ')}) by a ${reply.status}`);
      expectNone(problems, { method: req.method, target: req.target.slice(0, 300), headers: req.headers.map(([k, v]) => `${k}: ${v.slice(0, 80)}`), body: req.body.subarray(0, 300).toString('latin1'), status: reply.status, reply: reply.body.subarray(0, 300).toString('utf8') });
    }, HTTP_CASE_LIMIT_MS);
    console.log(`      answers by status: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ')}`);
  });
});
