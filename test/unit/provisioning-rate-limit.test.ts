/**
 * Rate limiting of the provisioning API: the token bucket on a fake clock, and over HTTP the 429
 * per user (with retry_after_ms, as documented) and per address for refused credentials.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RateLimiter } from '../../shared/src/provisioning/rate-limit.js';
import { ALICE, BOB, ProvisioningHarness } from '../helpers/provisioning-harness.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'silent';

describe('provisioning rate limiter (token bucket)', () => {
  let clock = 0;
  const now = () => clock;
  beforeEach(() => (clock = 1_000_000));

  it('allows a burst of the per-minute limit, then refuses with the time until the next request', () => {
    const rl = new RateLimiter(6, now);
    for (let i = 0; i < 6; i++) assert.equal(rl.take('u').ok, true, `request ${i + 1}`);
    const refused = rl.take('u');
    assert.equal(refused.ok, false);
    assert.equal(refused.retryAfterMs, 10_000, 'six a minute: one every ten seconds');
    clock += 9_999;
    assert.equal(rl.take('u').ok, false);
    clock += 1;
    assert.equal(rl.take('u').ok, true, 'one request is back after retryAfterMs');
    assert.equal(rl.take('u').ok, false);
  });

  it('keeps keys apart', () => {
    const rl = new RateLimiter(1, now);
    assert.equal(rl.take('a').ok, true);
    assert.equal(rl.take('a').ok, false);
    assert.equal(rl.take('b').ok, true);
  });

  it('peek does not spend', () => {
    const rl = new RateLimiter(1, now);
    assert.equal(rl.peek('a').ok, true);
    assert.equal(rl.peek('a').ok, true);
    assert.equal(rl.take('a').ok, true);
    assert.equal(rl.peek('a').ok, false);
  });

  it('is off at 0', () => {
    const rl = new RateLimiter(0, now);
    for (let i = 0; i < 10_000; i++) assert.equal(rl.take('u').ok, true);
    assert.equal(rl.size, 0, 'nothing is tracked');
  });

  it('refills to the limit, never beyond, and forgets idle keys', () => {
    const rl = new RateLimiter(2, now);
    rl.take('a');
    rl.take('b');
    clock += 10 * 60_000;
    for (let i = 0; i < 2; i++) assert.equal(rl.take('a').ok, true);
    assert.equal(rl.take('a').ok, false, 'ten idle minutes still give only the burst');
    clock += 61_000;
    rl.take('c');
    assert.equal(rl.size, 1, 'a and b had refilled completely and were dropped');
  });
});

describe('provisioning rate limit over HTTP', () => {
  let h: ProvisioningHarness;
  let hs: http.Server;
  let hsCalls = 0;
  before(async () => {
    // A homeserver that knows no token.
    hs = http.createServer((_req, res) => {
      hsCalls++;
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown token' }));
    });
    await new Promise<void>((r) => hs.listen(0, '127.0.0.1', r));
    h = await ProvisioningHarness.start({ rateLimitPerMinute: 3, homeserverUrl: `http://127.0.0.1:${(hs.address() as AddressInfo).port}` });
  });
  after(async () => {
    await h.stop();
    await new Promise((r) => hs.close(r));
  });

  it('answers 429 M_LIMIT_EXCEEDED with retry_after_ms once a user spent the limit; other users are unaffected', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await h.call('GET', '/login/flows')).status, 200);
    const limited = await h.call('GET', '/whoami');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.errcode, 'M_LIMIT_EXCEEDED');
    assert.ok(Number(limited.body.retry_after_ms) > 0 && Number(limited.body.retry_after_ms) <= 20_000, String(limited.body.retry_after_ms));
    assert.equal((await h.call('GET', '/whoami', { as: BOB })).status, 200);
  });

  it('a limited request changes nothing', async () => {
    const before = h.connector.processes.length;
    const r = await h.call('POST', '/login/start/password', { as: ALICE });
    assert.equal(r.status, 429);
    assert.equal(h.connector.processes.length, before, 'no login process was created');
  });

  it('limits refused credentials per address, without asking the homeserver again', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await h.call('GET', '/whoami', { as: null, token: `wrong-${i}` })).status);
    assert.deepEqual(codes, [401, 401, 401, 429, 429]);
    assert.equal(hsCalls, 3, 'the limited attempts never reached the homeserver');
  });
});
