/**
 * The login page's server side on a plain HTTP server: the files it serves and their headers
 * (CSP, framing, nosniff, caching with ETags), the redirect to the trailing slash, config.json,
 * that only the page's own files are reachable, the page itself has no inline script or style,
 * and qr.svg (authorised, schema-checked, the payload never logged). The page in a browser is
 * test/e2e/login-page.test.ts.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { ApiError } from '../../shared/src/provisioning/errors.js';
import { LoginPage, LOGIN_PAGE_PATH, type LoginPageConfig } from '../../shared/src/web/login-page.js';
import { qrSvg } from '../../shared/src/web/qr-svg.js';
import { assetDir, loadAssets } from '../../shared/src/web/static-assets.js';
import { bearerToken } from '../../shared/src/matrix/http-util.js';
import { configureLogging } from '../../shared/src/logging.js';

const CONFIG: LoginPageConfig = {
  homeserver_url: 'https://matrix.example.org:8448',
  server_name: 'example.org',
  provisioning_url: '/_matrix/provision/v3',
  network: { id: 'sandbox', displayname: 'Sandbox', url: 'https://sandbox.invalid' },
  bridge_bot: '@sandboxbot:example.org',
};
const GOOD_TOKEN = 'syt_good_token';

describe('login page: server side', () => {
  let server: http.Server;
  let base: string;

  before(async () => {
    const page = new LoginPage({
      config: CONFIG,
      async authorize(req) {
        const token = bearerToken(req);
        if (!token) throw new ApiError(401, 'M_MISSING_TOKEN', 'Missing access token');
        if (token !== GOOD_TOKEN) throw new ApiError(401, 'M_UNKNOWN_TOKEN', 'Unrecognised access token');
      },
    });
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (!url.pathname.startsWith(LOGIN_PAGE_PATH)) {
        res.writeHead(404);
        res.end();
        return;
      }
      void page.handle(req, res, url);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const get = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, { redirect: 'manual', ...init });
  const postQr = (body: string, token: string | null = GOOD_TOKEN) => get(`${LOGIN_PAGE_PATH}/qr.svg`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });

  function assertSecurityHeaders(res: Response): void {
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));
    assert.deepEqual(directives.get('default-src'), ["'self'"]);
    assert.deepEqual(directives.get('connect-src'), ["'self'", 'https://matrix.example.org:8448']);
    assert.deepEqual(directives.get('img-src'), ["'self'", 'blob:']);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.equal(directives.has('script-src'), false, 'scripts fall back to default-src: this origin only, nothing inline');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  }

  it('redirects the bare path to the trailing slash, so relative asset URLs resolve', async () => {
    const res = await get(LOGIN_PAGE_PATH);
    assert.equal(res.status, 308);
    assert.equal(res.headers.get('location'), `${LOGIN_PAGE_PATH}/`);
  });

  it('serves the page with the security headers and revalidation caching', async () => {
    const res = await get(`${LOGIN_PAGE_PATH}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assertSecurityHeaders(res);
    const html = await res.text();
    assert.match(html, /<script type="module" src="app.js"><\/script>/);
    assert.equal(html, await (await get(`${LOGIN_PAGE_PATH}/index.html`)).text());
  });

  it('has no inline script, event handler attribute, style attribute or external URL in its files', () => {
    for (const [name, asset] of loadAssets(assetDir('login'))) {
      const text = asset.body.toString('utf8');
      if (name.endsWith('.html')) {
        for (const m of text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
          assert.match(m[1]!, /\ssrc="[^":/]+\.js"/, `${name}: every script is a file of this page`);
          assert.equal(m[2]!.trim(), '', `${name}: no inline script`);
        }
        assert.doesNotMatch(text, /\son[a-z]+=/i, `${name}: no event handler attributes`);
        assert.doesNotMatch(text, /\sstyle=/i, `${name}: no style attributes`);
        assert.doesNotMatch(text, /(?:src|href)="(?:https?:)?\/\//, `${name}: nothing loaded from elsewhere`);
      }
      if (name.endsWith('.js')) {
        assert.doesNotMatch(text, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, `${name}: no HTML from strings`);
        assert.doesNotMatch(text, /localStorage|document\.cookie/, `${name}: the token is kept in sessionStorage only`);
      }
      if (name.endsWith('.css')) assert.doesNotMatch(text, /@import|url\(/, `${name}: no external CSS`);
    }
  });

  it('serves scripts and styles with their types and answers a matching ETag with 304', async () => {
    const js = await get(`${LOGIN_PAGE_PATH}/app.js`);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assertSecurityHeaders(js);
    const etag = js.headers.get('etag')!;
    assert.match(etag, /^"[A-Za-z0-9_-]{22}"$/);
    const again = await get(`${LOGIN_PAGE_PATH}/app.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal((await get(`${LOGIN_PAGE_PATH}/app.js`, { headers: { 'if-none-match': '"other"' } })).status, 200);
    const css = await get(`${LOGIN_PAGE_PATH}/login.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    const head = await get(`${LOGIN_PAGE_PATH}/login.css`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  it('serves config.json, uncached', async () => {
    const res = await get(`${LOGIN_PAGE_PATH}/config.json`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await res.json(), CONFIG);
  });

  it('reaches nothing but its own files, and refuses other methods', async () => {
    for (const path of ['/nope.js', '/..%2F..%2Fpackage.json', '/%2e%2e/login-page.ts', '/login-page.ts', '/steps.js/', '/.hidden']) {
      const res = await get(`${LOGIN_PAGE_PATH}${path}`);
      assert.equal(res.status, 404, path);
      assertSecurityHeaders(res);
    }
    assert.equal((await get(`${LOGIN_PAGE_PATH}x/app.js`)).status, 404);
    const post = await get(`${LOGIN_PAGE_PATH}/app.js`, { method: 'POST', body: '{}' });
    assert.deepEqual([post.status, post.headers.get('allow')], [405, 'GET, HEAD']);
    const getQr = await get(`${LOGIN_PAGE_PATH}/qr.svg`);
    assert.deepEqual([getQr.status, getQr.headers.get('allow')], [405, 'POST']);
  });

  it('draws a QR code for an authorised caller, never cached', async () => {
    const res = await postQr(JSON.stringify({ data: 'ABCD-EFGH' }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assertSecurityHeaders(res);
    const svg = await res.text();
    assert.equal(svg, await qrSvg('ABCD-EFGH'));
    assert.match(svg, /^<svg [^>]*viewBox="0 0 29 29"/, 'version 1 (21 modules) plus a quiet zone of 4 on each side');
    assert.notEqual(svg, await qrSvg('ABCD-EFGX'), 'another payload draws another code');
  });

  it('refuses QR requests without a valid token or with a bad body, and never logs the payload', async () => {
    const lines: string[] = [];
    const out = new PassThrough();
    out.on('data', (c: Buffer) => lines.push(c.toString('utf8')));
    configureLogging({ level: 'trace', destination: out });
    const secret = 'QR-PAYLOAD-SECRET-0123456789';
    try {
      const cases: Array<[string, string | null, number, string]> = [
        [JSON.stringify({ data: secret }), null, 401, 'M_MISSING_TOKEN'],
        [JSON.stringify({ data: secret }), 'syt_wrong', 401, 'M_UNKNOWN_TOKEN'],
        [`{"data": "${secret}"`, GOOD_TOKEN, 400, 'M_NOT_JSON'],
        [JSON.stringify({ data: 7 }), GOOD_TOKEN, 400, 'M_BAD_JSON'],
        [JSON.stringify({ data: '' }), GOOD_TOKEN, 400, 'M_BAD_JSON'],
        [JSON.stringify({ data: secret.repeat(80) }), GOOD_TOKEN, 400, 'M_INVALID_PARAM'],
        [JSON.stringify({ data: '€'.repeat(2000) }), GOOD_TOKEN, 400, 'M_INVALID_PARAM'],
        [JSON.stringify({ data: 'x'.repeat(10_000) }), GOOD_TOKEN, 413, 'M_TOO_LARGE'],
      ];
      for (const [body, token, status, errcode] of cases) {
        const res = await postQr(body, token);
        const answer = (await res.json()) as { errcode: string; error: string };
        assert.deepEqual([res.status, answer.errcode], [status, errcode], body.slice(0, 40));
        assert.doesNotMatch(answer.error, /SECRET|€/, 'the error does not echo the payload');
      }
      await new Promise((r) => setImmediate(r));
    } finally {
      configureLogging({ level: process.env.TRIBUTARY_LOG_LEVEL ?? 'warn' });
    }
    assert.ok(lines.length > 0, 'the refusals were logged');
    assert.doesNotMatch(lines.join(''), /SECRET|€/);
  });
});
