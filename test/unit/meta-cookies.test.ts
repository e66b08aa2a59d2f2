import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { MetaCookies, MetaCookieError, REQUIRED_COOKIES, parseCookieInput } from '../../bridges/meta/src/cookies.js';
import { shellWords } from '../../bridges/meta/src/cookie-input.js';

// Distinctive values, so a leak into any string is easy to spot.
const FB = { xs: 'XS-SECRET-31%3Aabc', c_user: '100012345678901', datr: 'DATR-SECRET-q9', fr: 'FR-SECRET' };
const IG = { sessionid: 'SESSION-SECRET%3A1', csrftoken: 'CSRF-SECRET', ds_user_id: '4242', mid: 'MID-SECRET', ig_did: 'IGDID-SECRET' };
const secrets = [...Object.values(FB), ...Object.values(IG)].filter((v) => /SECRET/.test(v));
const header = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join('; ');
const NOW = Date.parse('2026-09-01T00:00:00Z');

function assertNoSecrets(text: string): void {
  for (const s of secrets) assert.ok(!text.includes(s), `leaked ${s} in ${text}`);
}

function cookieError(fn: () => unknown): MetaCookieError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MetaCookieError, `expected MetaCookieError, got ${String(err)}`);
    assertNoSecrets(err.message);
    return err;
  }
  assert.fail('expected a MetaCookieError');
}

describe('meta cookies', () => {
  describe('input forms', () => {
    it('reads a Cookie header, with or without the "Cookie:" prefix', () => {
      for (const input of [header(FB), `Cookie: ${header(FB)};`]) {
        const jar = MetaCookies.load(input, 'messenger', { now: NOW });
        assert.equal(jar.format, 'header');
        assert.deepEqual(jar.exportValues(), FB);
        assert.equal(jar.userId, FB.c_user);
      }
    });

    it('reads a Cookie-Editor style JSON array with expiry in seconds and filters other domains', () => {
      const exported = [
        { domain: '.facebook.com', name: 'xs', value: FB.xs, expirationDate: NOW / 1000 + 3600 },
        { domain: '.facebook.com', name: 'c_user', value: FB.c_user, session: false, expirationDate: NOW / 1000 + 60 },
        { domain: '.messenger.com', name: 'datr', value: FB.datr, session: true },
        { domain: '.instagram.com', name: 'xs', value: 'OTHER-SITE' },
      ];
      const jar = MetaCookies.load(JSON.stringify(exported), 'messenger', { now: NOW });
      assert.equal(jar.format, 'json');
      assert.deepEqual(jar.exportValues(), { xs: FB.xs, c_user: FB.c_user, datr: FB.datr });
      assert.equal(jar.expiresAt('xs'), NOW + 3_600_000);
      assert.equal(jar.earliestRequiredExpiry(), NOW + 60_000);
    });

    it('reads Playwright storage state ({cookies}, expires -1 = session) and a plain object', () => {
      const state = { cookies: Object.entries(IG).map(([name, value]) => ({ name, value, domain: '.instagram.com', expires: -1 })) };
      const jar = MetaCookies.load(state, 'instagram', { now: NOW });
      assert.deepEqual(jar.exportValues(), IG);
      assert.equal(jar.expiresAt('sessionid'), undefined);
      assert.deepEqual(MetaCookies.load(JSON.stringify(IG), 'instagram', { now: NOW }).exportValues(), IG);
    });

    it('reads a bash "Copy as cURL" command with -H and -b, quotes and line continuations', () => {
      const curl = [
        `curl 'https://www.facebook.com/messages/' \\`,
        `  -H 'accept: text/html' \\`,
        `  -H $'cookie: xs=${FB.xs}; c_user=${FB.c_user}' \\`,
        `  -b "datr=${FB.datr}" \\`,
        `  --compressed`,
      ].join('\n');
      const parsed = parseCookieInput(curl);
      assert.equal(parsed.format, 'curl');
      assert.deepEqual(Object.fromEntries(parsed.cookies.map((c) => [c.name, c.value])), { xs: FB.xs, c_user: FB.c_user, datr: FB.datr });
      assert.equal(MetaCookies.load(curl, 'messenger', { now: NOW }).userId, FB.c_user);
    });

    it('splits shell words like bash does', () => {
      assert.deepEqual(shellWords(`a 'b c' "d \\"e\\"" $'f\\x41\\n' g\\ h`), ['a', 'b c', 'd "e"', 'fA\n', 'g h']);
    });

    it('refuses unparseable input without echoing it', () => {
      const cases: Array<[unknown, RegExp]> = [
        ['', /no cookies/],
        [`{"xs": "${FB.xs}"`, /JSON/],
        [`curl 'https://x' -H 'accept: */*'`, /no cookie header/],
        [`curl 'https://x' -b cookies.txt`, /file/],
        [`curl 'https://x' -H 'cookie: xs=${FB.xs}`, /unclosed/],
        [`curl ^"https://x^" -H ^"cookie: xs=${FB.xs}^"`, /bash/],
        [`xs${FB.xs}`, /name=value/],
        [[{ name: 'xs' }], /name and value/],
        [42, /array|object/],
      ];
      for (const [input, re] of cases) {
        const err = cookieError(() => parseCookieInput(input));
        assert.equal(err.code, 'unparseable');
        assert.match(err.message, re);
      }
    });

    it('refuses values that would break a header', () => {
      const err = cookieError(() => MetaCookies.load({ ...FB, xs: 'a\r\nX-Evil: 1' }, 'messenger', { now: NOW }));
      assert.equal(err.code, 'invalid-cookie');
      assert.match(err.message, /"xs"/);
    });
  });

  describe('required cookies', () => {
    for (const platform of ['messenger', 'instagram'] as const) {
      const full = platform === 'messenger' ? FB : IG;
      for (const name of REQUIRED_COOKIES[platform]) {
        it(`${platform}: names the missing "${name}"`, () => {
          const rest = Object.fromEntries(Object.entries(full).filter(([k]) => k !== name));
          const err = cookieError(() => MetaCookies.load(header(rest), platform, { now: NOW }));
          assert.equal(err.code, 'missing-cookies');
          assert.deepEqual(err.missing, [name]);
          assert.match(err.message, new RegExp(`missing ${platform === 'messenger' ? 'Messenger' : 'Instagram'} cookie: ${name}\\.`, 'i'));
        });
      }
    }

    it('names every missing cookie at once', () => {
      const err = cookieError(() => MetaCookies.load('fr=1', 'messenger', { now: NOW }));
      assert.deepEqual(err.missing, ['xs', 'c_user', 'datr']);
      assert.match(err.message, /cookies: xs, c_user, datr/);
    });

    it('treats an empty value as missing', () => {
      assert.deepEqual(cookieError(() => MetaCookies.load({ ...FB, xs: '' }, 'messenger', { now: NOW })).missing, ['xs']);
    });

    it('names expired cookies with their expiry, and missing ones take precedence in the code', () => {
      const entries = (o: Record<string, string>, exp: Record<string, number>) => Object.entries(o).map(([name, value]) => ({ name, value, expirationDate: exp[name] }));
      const expired = cookieError(() => MetaCookies.load(entries(FB, { xs: NOW / 1000 - 1 }), 'messenger', { now: NOW }));
      assert.equal(expired.code, 'expired-cookies');
      assert.deepEqual(expired.expired, ['xs']);
      assert.match(expired.message, /expired Messenger cookie: xs \(expired 2026-08-31T23:59:59\.000Z\)/i);

      const both = cookieError(() => MetaCookies.load(entries({ xs: FB.xs, c_user: FB.c_user }, { c_user: 1 }), 'messenger', { now: NOW }));
      assert.equal(both.code, 'missing-cookies');
      assert.deepEqual([both.missing, both.expired], [['datr'], ['c_user']]);
    });

    it('requires a numeric account id cookie', () => {
      const err = cookieError(() => MetaCookies.load({ ...IG, ds_user_id: 'abc' }, 'instagram', { now: NOW }));
      assert.equal(err.code, 'invalid-cookie');
      assert.match(err.message, /ds_user_id/);
    });
  });

  describe('redaction', () => {
    it('JSON, String, inspect and template literals never show values', () => {
      const jar = MetaCookies.load(header({ ...FB, ...IG }), 'messenger', { now: NOW });
      const shown = [JSON.stringify(jar), String(jar), `${jar}`, inspect(jar), inspect({ nested: { jar } }, { depth: 5 }), JSON.stringify(jar.redact())];
      for (const text of shown) assertNoSecrets(text);
      assert.deepEqual(JSON.parse(JSON.stringify(jar)).cookies.xs, '[redacted]');
      assert.match(String(jar), /xs, c_user, datr/);
    });

    it('the header for requests still carries the real values', () => {
      const jar = MetaCookies.load(header(FB), 'messenger', { now: NOW });
      assert.equal(jar.toCookieHeader(), header(FB));
      jar.update('xs', 'NEW');
      assert.match(jar.toCookieHeader(), /xs=NEW/);
      assert.throws(() => jar.update('xs', 'a;b'), MetaCookieError);
    });
  });
});
