/**
 * Provisioning API authentication against a tiny fake homeserver: the shared secret (through the
 * constant-time comparison), Matrix access tokens (whoami), OpenID tokens (federation userinfo),
 * the short cache of successful checks, and that tokens never reach a log line.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { ProvisioningAuth, type AuthOptions } from '../../shared/src/provisioning/auth.js';
import { ApiError } from '../../shared/src/provisioning/errors.js';
import { safeEqual } from '../../shared/src/matrix/http-util.js';
import { configureLogging } from '../../shared/src/logging.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'silent';

const SECRET = 'the-shared-secret-0123456789';
const ALICE = '@alice:example.org';

/** The two homeserver endpoints the API calls, with a call log and switchable failure. */
class FakeHomeserver {
  readonly calls: string[] = [];
  mode: 'ok' | 'error' | 'garbage' = 'ok';
  readonly accessTokens = new Map<string, { user_id: string; is_guest?: boolean }>([
    ['syt_alice', { user_id: ALICE }],
    ['syt_guest', { user_id: '@guest:example.org', is_guest: true }],
    ['syt_eve', { user_id: '@eve:elsewhere.org' }],
    ['syt_ghost', { user_id: '@fake_carol:example.org' }],
  ]);
  readonly openidTokens = new Map([['oid_alice', ALICE]]);
  private server!: http.Server;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://hs');
      this.calls.push(url.pathname);
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (this.mode === 'error') return send(500, { errcode: 'M_UNKNOWN', error: 'boom' });
      if (this.mode === 'garbage') return send(200, '<html>');
      if (url.pathname === '/_matrix/client/v3/account/whoami') {
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        const who = this.accessTokens.get(token);
        return who ? send(200, { ...who, device_id: 'DEV' }) : send(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.' });
      }
      if (url.pathname === '/_matrix/federation/v1/openid/userinfo') {
        const sub = this.openidTokens.get(url.searchParams.get('access_token') ?? '');
        return sub ? send(200, { sub }) : send(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Access Token unknown' });
      }
      send(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

function request(authorization?: string, query = ''): { req: IncomingMessage; url: URL } {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  return { req: { headers } as IncomingMessage, url: new URL(`http://bridge/_matrix/provision/v3/whoami${query}`) };
}

async function refused(p: Promise<unknown>, status: number, errcode: string): Promise<ApiError> {
  const err = await p.then(() => assert.fail('expected a refusal'), (e: unknown) => e);
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.status, status, err.message);
  assert.equal(err.errcode, errcode);
  return err;
}

describe('provisioning auth', () => {
  const hs = new FakeHomeserver();
  let clock = 1_000_000;
  const make = (extra: Partial<AuthOptions> = {}) => new ProvisioningAuth({
    sharedSecret: SECRET, homeserverUrl: hs.url, now: () => clock,
    allowed: (mxid) => mxid.endsWith(':example.org') && !mxid.startsWith('@fake_'),
    ...extra,
  });

  before(() => hs.start());
  after(() => hs.stop());
  beforeEach(() => {
    hs.calls.length = 0;
    hs.mode = 'ok';
  });

  describe('missing or malformed credentials', () => {
    it('answers 401 M_MISSING_TOKEN without an Authorization header or with another scheme', async () => {
      const auth = make();
      const a = request();
      await refused(auth.authenticate(a.req, a.url), 401, 'M_MISSING_TOKEN');
      const b = request(`Basic ${SECRET}`, `?user_id=${encodeURIComponent(ALICE)}`);
      await refused(auth.authenticate(b.req, b.url), 401, 'M_MISSING_TOKEN');
      assert.deepEqual(hs.calls, [], 'nothing is asked of the homeserver');
    });

    it('refuses a user_id that is not a Matrix id with 400', async () => {
      const r = request(`Bearer ${SECRET}`, '?user_id=alice');
      await refused(make().authenticate(r.req, r.url), 400, 'M_INVALID_PARAM');
    });
  });

  describe('shared secret', () => {
    it('acts for the user named by user_id, without asking the homeserver', async () => {
      const r = request(`Bearer ${SECRET}`, `?user_id=${encodeURIComponent(ALICE)}`);
      assert.deepEqual(await make().authenticate(r.req, r.url), { userId: ALICE, kind: 'shared_secret' });
      assert.deepEqual(hs.calls, []);
    });

    it('needs user_id', async () => {
      const r = request(`Bearer ${SECRET}`);
      await refused(make().authenticate(r.req, r.url), 400, 'M_MISSING_PARAM');
    });

    it('compares through the constant-time function, with the configured secret', async () => {
      const seen: Array<[string, string]> = [];
      const auth = make({ equals: (given, expected) => (seen.push([given, expected]), safeEqual(given, expected)) });
      const r = request(`Bearer ${SECRET}`, `?user_id=${encodeURIComponent(ALICE)}`);
      await auth.authenticate(r.req, r.url);
      assert.deepEqual(seen, [[SECRET, SECRET]]);
    });

    it('does not accept near misses (prefix, longer, other case): they are treated as tokens and refused', async () => {
      const auth = make();
      for (const wrong of [SECRET.slice(0, -1), `${SECRET}x`, SECRET.toUpperCase()]) {
        const r = request(`Bearer ${wrong}`, `?user_id=${encodeURIComponent(ALICE)}`);
        await refused(auth.authenticate(r.req, r.url), 401, 'M_UNKNOWN_TOKEN');
      }
      assert.equal(hs.calls.length, 3, 'each went to the homeserver as an access token');
    });

    it('is off when the secret is "disable": the word itself is just an unknown token', async () => {
      const r = request('Bearer disable', `?user_id=${encodeURIComponent(ALICE)}`);
      await refused(make({ sharedSecret: 'disable' }).authenticate(r.req, r.url), 401, 'M_UNKNOWN_TOKEN');
    });

    it('still refuses a user without the user permission level', async () => {
      const r = request(`Bearer ${SECRET}`, `?user_id=${encodeURIComponent('@mallory:elsewhere.org')}`);
      await refused(make().authenticate(r.req, r.url), 403, 'M_FORBIDDEN');
    });
  });

  describe('Matrix access token', () => {
    it('is checked with whoami and names the user', async () => {
      const r = request('Bearer syt_alice');
      assert.deepEqual(await make().authenticate(r.req, r.url), { userId: ALICE, kind: 'access_token' });
      assert.deepEqual(hs.calls, ['/_matrix/client/v3/account/whoami']);
    });

    it('is cached for the TTL, then checked again', async () => {
      const auth = make({ cacheTtlMs: 60_000 });
      const r = request('Bearer syt_alice');
      await auth.authenticate(r.req, r.url);
      clock += 59_000;
      await auth.authenticate(r.req, r.url);
      assert.equal(hs.calls.length, 1, 'the second check came from the cache');
      clock += 2_000;
      await auth.authenticate(r.req, r.url);
      assert.equal(hs.calls.length, 2, 'expired: asked again');
    });

    it('caches under a hash, never the token, and does not cache refusals', async () => {
      const auth = make();
      const ok = request('Bearer syt_alice');
      await auth.authenticate(ok.req, ok.url);
      const keys = [...(auth as unknown as { cache: Map<string, unknown> }).cache.keys()];
      assert.equal(keys.length, 1);
      assert.match(keys[0]!, /^[0-9a-f]{64}$/);
      assert.ok(!keys[0]!.includes('syt_alice'));
      const bad = request('Bearer syt_nobody');
      await refused(auth.authenticate(bad.req, bad.url), 401, 'M_UNKNOWN_TOKEN');
      await refused(auth.authenticate(bad.req, bad.url), 401, 'M_UNKNOWN_TOKEN');
      assert.equal(hs.calls.filter((c) => c.endsWith('whoami')).length, 3);
      assert.equal(auth.cacheSize, 1);
    });

    it('refuses a token of another user than user_id with 403', async () => {
      const r = request('Bearer syt_alice', `?user_id=${encodeURIComponent('@bob:example.org')}`);
      await refused(make().authenticate(r.req, r.url), 403, 'M_FORBIDDEN');
    });

    it('accepts user_id when it names the token\'s own user', async () => {
      const r = request('Bearer syt_alice', `?user_id=${encodeURIComponent(ALICE)}`);
      assert.equal((await make().authenticate(r.req, r.url)).userId, ALICE);
    });

    it('refuses guests, users without permission, and the bridge\'s own ghosts with 403', async () => {
      const auth = make();
      for (const token of ['syt_guest', 'syt_eve', 'syt_ghost']) {
        const r = request(`Bearer ${token}`);
        await refused(auth.authenticate(r.req, r.url), 403, 'M_FORBIDDEN');
      }
    });

    it('answers 502 M_UNKNOWN when the homeserver fails, answers garbage, or cannot be reached', async () => {
      const r = request('Bearer syt_alice');
      hs.mode = 'error';
      await refused(make().authenticate(r.req, r.url), 502, 'M_UNKNOWN');
      hs.mode = 'garbage';
      await refused(make().authenticate(r.req, r.url), 502, 'M_UNKNOWN');
      await refused(make({ homeserverUrl: 'http://127.0.0.1:9' }).authenticate(r.req, r.url), 502, 'M_UNKNOWN');
    });
  });

  describe('OpenID token', () => {
    it('is checked with the federation userinfo endpoint and cached', async () => {
      const auth = make();
      const r = request('Bearer openid:oid_alice');
      assert.deepEqual(await auth.authenticate(r.req, r.url), { userId: ALICE, kind: 'openid' });
      await auth.authenticate(r.req, r.url);
      assert.deepEqual(hs.calls, ['/_matrix/federation/v1/openid/userinfo']);
    });

    it('refuses an unknown or empty OpenID token with 401', async () => {
      const auth = make();
      for (const token of ['openid:oid_nobody', 'openid:']) {
        const r = request(`Bearer ${token}`);
        await refused(auth.authenticate(r.req, r.url), 401, 'M_UNKNOWN_TOKEN');
      }
    });

    it('is not confused with an access token of the same text', async () => {
      const auth = make();
      hs.accessTokens.set('oid_alice', { user_id: '@bob:example.org' });
      try {
        const asOpenId = request('Bearer openid:oid_alice');
        const asAccess = request('Bearer oid_alice');
        assert.equal((await auth.authenticate(asOpenId.req, asOpenId.url)).userId, ALICE);
        assert.equal((await auth.authenticate(asAccess.req, asAccess.url)).userId, '@bob:example.org');
      } finally {
        hs.accessTokens.delete('oid_alice');
      }
    });
  });

  it('never writes a token or the secret to the log', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    configureLogging({ level: 'trace', destination: out });
    try {
      const auth = make();
      for (const token of ['syt_alice', 'syt_nobody_secret_1', 'openid:oid_nobody_secret_2', SECRET.slice(1)]) {
        const r = request(`Bearer ${token}`);
        await auth.authenticate(r.req, r.url).catch(() => undefined);
      }
      hs.mode = 'error';
      const r = request('Bearer syt_failing_secret_3');
      await auth.authenticate(r.req, r.url).catch(() => undefined);
      await new Promise((res) => setImmediate(res));
    } finally {
      configureLogging({ level: process.env.TRIBUTARY_LOG_LEVEL });
    }
    assert.match(text, /refused by the homeserver/, 'the refusals were logged');
    for (const secret of ['syt_alice', 'syt_nobody_secret_1', 'oid_nobody_secret_2', SECRET.slice(1), 'syt_failing_secret_3']) {
      assert.ok(!text.includes(secret), `the log contains ${secret}`);
    }
  });
});
