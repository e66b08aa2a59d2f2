/**
 * Sessions from messenger.com: the site is read from the cookies (a JSON export's domains, or the
 * host a "Copy as cURL" command was copied from), kept through the stored login, and the client
 * then opens www.messenger.com (its inbox at "/", its gateway) instead of www.facebook.com (the
 * client against a recording fetch; against the emulator: test/connectors/meta-client-site.test.ts).
 */
import assert from 'node:assert/strict';
import { MetaClient } from '../../bridges/meta/src/client/meta-client.js';
import { defaultEndpoints } from '../../bridges/meta/src/client/http-session.js';
import { MetaCookies, siteOf } from '../../bridges/meta/src/cookies.js';
import { storeCookies } from '../../bridges/meta/src/connector/login.js';

const NOW = 1_800_000_000_000;
const values = { xs: '44%3Axs-value', c_user: '100012345678901', datr: 'datr-value' };
const exported = (domain: string) => JSON.stringify(Object.entries(values).map(([name, value]) => ({ name, value, domain })));
const curlFrom = (url: string) => `curl '${url}' -H 'cookie: xs=${values.xs}; c_user=${values.c_user}; datr=${values.datr}'`;

describe('Messenger sessions from messenger.com', () => {
  it('reads the site from the cookies: export domains, the cURL host, else facebook.com', () => {
    assert.equal(MetaCookies.load(exported('.messenger.com'), 'messenger', { now: NOW }).site, 'messenger.com');
    assert.equal(MetaCookies.load(exported('.facebook.com'), 'messenger', { now: NOW }).site, 'facebook.com');
    assert.equal(MetaCookies.load(curlFrom('https://www.messenger.com/t/123'), 'messenger', { now: NOW }).site, 'messenger.com');
    assert.equal(MetaCookies.load(curlFrom('https://www.facebook.com/messages/'), 'messenger', { now: NOW }).site, 'facebook.com');
    assert.equal(MetaCookies.load(`xs=${values.xs}; c_user=${values.c_user}; datr=${values.datr}`, 'messenger', { now: NOW }).site, 'facebook.com');
    // A look-alike host is not messenger.com.
    assert.equal(MetaCookies.load(curlFrom('https://messenger.com.evil.example/'), 'messenger', { now: NOW }).site, 'facebook.com');
    assert.equal(siteOf('instagram', []), 'instagram.com');
    assert.equal(JSON.stringify(MetaCookies.load(exported('.messenger.com'), 'messenger', { now: NOW })).includes(values.xs), false, 'no value in JSON');
  });

  it('the stored login keeps the site, so a restart opens messenger.com again', () => {
    const stored = storeCookies(MetaCookies.load(curlFrom('https://www.messenger.com/'), 'messenger', { now: NOW }));
    assert.ok(stored.every((c) => c.domain === '.messenger.com'));
    assert.equal(MetaCookies.load(stored, 'messenger', { now: NOW }).site, 'messenger.com');
    const fb = storeCookies(MetaCookies.load(exported('.facebook.com'), 'messenger', { now: NOW }));
    assert.ok(fb.every((c) => c.domain === undefined));
    assert.equal(MetaCookies.load(fb, 'messenger', { now: NOW }).site, 'facebook.com');
  });

  it('the client loads https://www.messenger.com/ (never facebook.com) and uses gateway.messenger.com', async () => {
    assert.deepEqual(defaultEndpoints('messenger', 'messenger.com'), {
      web: 'https://www.messenger.com', inboxPath: '/', gateway: 'wss://gateway.messenger.com/ws/lightspeed', uploadPath: '/ajax/mercury/upload.php',
    });
    assert.equal(defaultEndpoints('messenger', 'facebook.com').web, 'https://www.facebook.com');
    const seen: Array<{ url: string; cookie: boolean }> = [];
    const fetchStub: typeof fetch = async (input, init) => {
      seen.push({ url: String(input), cookie: Boolean((init?.headers as Record<string, string> | undefined)?.cookie) });
      if (new URL(String(input)).pathname === '/login/') return new Response('<html><body>Log in to Messenger</body></html>', { status: 200 });
      return new Response(null, { status: 302, headers: { location: 'https://www.messenger.com/login/' } });
    };
    const client = new MetaClient({ platform: 'messenger', cookies: MetaCookies.load(exported('.messenger.com'), 'messenger', { now: NOW }), fetch: fetchStub });
    await assert.rejects(client.connect());
    assert.deepEqual(seen, [{ url: 'https://www.messenger.com/', cookie: true }, { url: 'https://www.messenger.com/login/', cookie: true }]);
    assert.equal(client.state.state, 'logged-out');
  });
});
