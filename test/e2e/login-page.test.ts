/**
 * The login page in headless Chromium, against the bridge process on a real Synapse: signing in
 * with a Matrix password or access token, each kind of login step (fields, a live QR code read
 * back out of screenshots, a pairing code), the list of logins with their states, logging out,
 * signing out, clear errors for bad input, and the page's security headers. Happy paths must
 * leave the browser console clean and make no request outside the bridge and the homeserver.
 *
 * TRIBUTARY_UPDATE_SCREENSHOTS=1 writes docs/images/login-page-qr.png and login-page-logins.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import { launchBrowser } from '../helpers/browser.js';
import { qrMismatches, type Box } from '../helpers/qr-screenshot.js';
import type { RegisteredUser } from '../helpers/synapse.js';

const ROOT = resolve(import.meta.dirname, '../..');
const UPDATE_SCREENSHOTS = process.env.TRIBUTARY_UPDATE_SCREENSHOTS === '1';
const TOKEN_KEY = 'tributary.login.token';

const pageUrl = (env: BridgeEnv) => `http://127.0.0.1:${env.asPort}/_tributary/login/`;

function saveScreenshot(name: string, png: Buffer): void {
  if (!UPDATE_SCREENSHOTS) return;
  mkdirSync(resolve(ROOT, 'docs/images'), { recursive: true });
  writeFileSync(resolve(ROOT, 'docs/images', name), png);
}

interface OpenPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and warnings, uncaught exceptions, failed requests. */
  problems: string[];
  /** Origins the page sent requests to. */
  origins: Set<string>;
}

async function openPage(browser: Browser, env: BridgeEnv): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: { width: 960, height: 1000 }, deviceScaleFactor: 1, colorScheme: 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  const origins = new Set<string>();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith('blob:')) origins.add(new URL(r.url()).origin);
  });
  await page.goto(pageUrl(env));
  await page.locator('#signin').waitFor();
  return { page, context, problems, origins };
}

async function signInWithPassword(page: Page, user: RegisteredUser): Promise<void> {
  await page.getByLabel('Matrix user').fill(user.userId);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByLabel('Password', { exact: true }).press('Enter');
  await page.locator('#account-user', { hasText: user.userId }).waitFor();
}

async function signInWithToken(page: Page, token: string): Promise<void> {
  await page.getByText('Sign in with an access token instead').click();
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Use this token' }).click();
}

// The test's TypeScript has no DOM types: code that runs in the page is passed as text.
const storedToken = (page: Page) => page.evaluate<string | null>(`sessionStorage.getItem(${JSON.stringify(TOKEN_KEY)})`);

/** The login's state badge once it shows `state`. */
const loginState = (page: Page, loginId: string, state: string) =>
  page.locator(`#logins li[data-login-id="${loginId}"] .state[data-state="${state}"]`);

async function provisioning<T>(env: BridgeEnv, token: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${env.asPort}/_matrix/provision/v3${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as T };
}

/** The page loaded nothing from anywhere but the bridge and the homeserver. */
function assertOrigins(origins: Set<string>, env: BridgeEnv): void {
  const allowed = new Set([`http://127.0.0.1:${env.asPort}`, env.synapse.baseUrl]);
  assert.deepEqual([...origins].filter((o) => !allowed.has(o)), []);
}

/** The QR image's content box in page (full-screenshot) pixels. */
async function qrBox(page: Page): Promise<Box> {
  return page.evaluate<Box>(`(() => {
    const img = document.getElementById('qr-image');
    const r = img.getBoundingClientRect();
    return { x: r.left + window.scrollX + img.clientLeft, y: r.top + window.scrollY + img.clientTop, width: img.clientWidth, height: img.clientHeight };
  })()`);
}

/** The pending login code whose QR code the screenshot shows; every other pending code must not match. */
async function codeInScreenshot(env: BridgeEnv, png: Buffer, box: Box): Promise<string> {
  const pending = await env.control<Array<{ code: string }>>('GET', '/login-codes');
  const scored = pending.map((p) => ({ code: p.code, mismatches: qrMismatches(png, box, p.code) }));
  const hit = scored.filter((s) => s.mismatches === 0);
  assert.equal(hit.length, 1, `exactly one pending code is the QR code on screen: ${JSON.stringify(scored)}`);
  return hit[0]!.code;
}

describe('e2e: login page (sandbox bridge)', function () {
  this.timeout(120_000);
  let env: BridgeEnv;
  let browser: Browser;
  let user: RegisteredUser;

  before(async function () {
    this.timeout(240_000);
    env = await BridgeEnv.start();
    user = await env.synapse.registerUser('webpage');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await env?.stop();
  });

  it('serves the page and its files with CSP, X-Frame-Options and nosniff; config.json names the homeserver', async () => {
    for (const path of ['', 'app.js', 'login.css', 'config.json']) {
      const res = await fetch(`${pageUrl(env)}${path}`);
      assert.equal(res.status, 200, path);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /(^|; )default-src 'self'(;|$)/, path);
      assert.match(csp, new RegExp(`(^|; )connect-src 'self' ${env.synapse.baseUrl}(;|$)`), path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.ok(res.headers.get('cache-control'), path);
    }
    const config = (await (await fetch(`${pageUrl(env)}config.json`)).json()) as Record<string, unknown>;
    assert.equal(config.homeserver_url, env.synapse.baseUrl);
    assert.equal(config.provisioning_url, '/_matrix/provision/v3');
  });

  it('signs in with the Matrix password, runs the password flow, shows the login CONNECTED, logs out of it and signs out', async () => {
    const { page, context, problems, origins } = await openPage(browser, env);
    try {
      await signInWithPassword(page, user);
      const token = await storedToken(page);
      assert.ok(token, 'the access token is in sessionStorage');
      assert.equal(await page.evaluate<number>('localStorage.length'), 0, 'nothing in localStorage');
      assert.deepEqual(await context.cookies(), [], 'no cookies');

      const flows = await Promise.all((await page.locator('#flows button').all()).map((b) => b.getAttribute('data-flow')));
      assert.deepEqual(flows, ['qr', 'password', 'token']);
      await page.getByRole('button', { name: /^Password/ }).click();
      await page.getByLabel('Your username').fill('me');
      await page.getByLabel('Your password').fill('sandbox');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.locator('#status', { hasText: 'Logged in as me.' }).waitFor();
      await loginState(page, 'me', 'CONNECTED').waitFor({ timeout: 30_000 });
      assert.equal(await loginState(page, 'me', 'CONNECTED').textContent(), 'Connected');
      const listed = await provisioning<{ login_ids: string[] }>(env, token, '/logins');
      assert.deepEqual(listed.body.login_ids, ['me'], 'the bridge has the login the page shows');

      await page.getByRole('button', { name: 'Log out of me' }).click();
      await page.locator('#status', { hasText: 'Logged out of me.' }).waitFor();
      await page.locator('#logins-empty').waitFor();
      assert.equal(await page.locator('#logins li').count(), 0);
      assert.deepEqual((await provisioning<{ login_ids: string[] }>(env, token, '/logins')).body.login_ids, []);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.locator('#signin').waitFor();
      assert.equal(await storedToken(page), null, 'the token is gone from sessionStorage');
      const whoami = await fetch(`${env.synapse.baseUrl}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(whoami.status, 401, 'signing out logged the page\'s token out at the homeserver');
      assert.deepEqual(problems, []);
      assertOrigins(origins, env);
      assert.ok(origins.has(env.synapse.baseUrl), 'the password went to the homeserver');
    } finally {
      await context.close();
    }
  });

  it('renders a cookies step from its fields: a labelled box per cookie with help on where to find it; submits the values', async () => {
    // No network has a cookie login yet (Messenger and Instagram will): the bridge's answers for
    // this flow are stood in for in the browser, in the provisioning API's shapes.
    const { page, context, problems } = await openPage(browser, env);
    const submitted: unknown[] = [];
    try {
      await page.route('**/_matrix/provision/v3/login/flows', (route) => route.fulfill({
        json: { flows: [{ id: 'cookies', name: 'Browser cookies', description: 'Copy two cookies from your browser' }] },
      }));
      await page.route('**/_matrix/provision/v3/login/start/cookies', (route) => route.fulfill({
        json: {
          login_id: 'proc1', type: 'cookies', step_id: 'meta.cookies', instructions: 'Log in at the website, then copy these cookies.',
          cookies: {
            url: 'https://www.example.com/login',
            fields: [
              { id: 'c_user', required: true, sources: [{ type: 'cookie', name: 'c_user', cookie_domain: '.example.com' }], pattern: '^[0-9]+$' },
              { id: 'xs', required: true, sources: [{ type: 'cookie', name: 'xs', cookie_domain: '.example.com' }] },
              { id: 'extra', required: false, sources: [{ type: 'local_storage', name: 'session_hint' }] },
            ],
          },
        },
      }));
      await page.route('**/_matrix/provision/v3/login/step/proc1/meta.cookies/cookies', (route) => {
        submitted.push(route.request().postDataJSON());
        return route.fulfill({ json: { login_id: 'proc1', type: 'complete', step_id: 'meta.complete', instructions: '', complete: { user_login_id: '42', remote_name: 'Cookie Person' } } });
      });
      await signInWithPassword(page, user);
      await page.getByRole('button', { name: /^Browser cookies/ }).click();
      await page.getByText('Log in at the website, then copy these cookies.').waitFor();
      const cUser = page.getByLabel('c_user');
      assert.equal(await cUser.evaluate((e) => e.tagName), 'TEXTAREA');
      const help = await page.locator(`#${await cUser.getAttribute('aria-describedby')}`).textContent();
      assert.match(help ?? '', /cookie "c_user" of \.example\.com/);
      assert.match(help ?? '', /developer tools/);
      assert.match(await page.locator(`#${await page.getByLabel('session_hint').getAttribute('aria-describedby')}`).textContent() ?? '', /local storage entry "session_hint"/);
      assert.equal(await page.getByRole('link', { name: 'https://www.example.com/login' }).getAttribute('rel'), 'noopener noreferrer');

      await cUser.fill('not-digits');
      await page.getByLabel('xs').fill('secret%3Avalue');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator('#error', { hasText: 'c_user does not have the expected format' }).waitFor();
      assert.deepEqual(submitted, [], 'nothing was sent');
      await cUser.fill('100012345');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator('#status', { hasText: 'Logged in as Cookie Person.' }).waitFor();
      assert.deepEqual(submitted, [{ c_user: '100012345', xs: 'secret%3Avalue' }], 'the optional empty field is left out');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('shows clear errors for a bad token, a wrong password and bad step input, and keeps nothing', async () => {
    const { page, context } = await openPage(browser, env);
    try {
      await signInWithToken(page, 'syt_not_a_real_token_0123');
      await page.locator('#error', { hasText: 'the access token was not accepted' }).waitFor();
      assert.match(await page.locator('#error').textContent() ?? '', /Unrecognised access token/);
      assert.equal(await storedToken(page), null);
      assert.equal(await page.locator('#signin').isVisible(), true);

      await page.getByLabel('Matrix user').fill(user.userId);
      await page.getByLabel('Password', { exact: true }).fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.locator('#error', { hasText: /Sign-in failed: .*(password|Forbidden)/i }).waitFor();
      assert.equal(await storedToken(page), null);

      await signInWithPassword(page, user);
      await page.getByRole('button', { name: /^Password/ }).click();
      await page.getByLabel('Your username').fill('Not A Username');
      await page.getByLabel('Your password').fill('sandbox');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.locator('#error', { hasText: 'Your username does not have the expected format' }).waitFor();
      assert.equal(await page.getByLabel('Your username').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.evaluate<string | null>(`document.activeElement?.getAttribute('name') ?? null`), 'username', 'focus moves to the bad field');

      await page.getByLabel('Your username').fill('me');
      await page.getByLabel('Your password').fill('wrong-password');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.locator('#error', { hasText: 'The login did not go through' }).waitFor();
      await page.locator('#flows-section').waitFor();
      const token = (await storedToken(page))!;
      assert.deepEqual((await provisioning<{ login_ids: string[] }>(env, token, '/logins')).body.login_ids, [], 'no login was made');
    } finally {
      await context.close();
    }
  });
});

describe('e2e: login page (WhatsApp bridge)', function () {
  this.timeout(180_000);
  let env: BridgeEnv;
  let browser: Browser;
  let user: RegisteredUser;
  let open: OpenPage;

  before(async function () {
    this.timeout(240_000);
    // Codes rotate every 10 s, so the test sees the page follow a rotation.
    env = await BridgeEnv.start({ bridge: 'whatsapp', qrRotateMs: 10_000 });
    user = await env.synapse.registerUser('webpage_wa');
    browser = await launchBrowser();
    open = await openPage(browser, env);
  });
  after(async () => {
    await open?.context.close();
    await browser?.close();
    await env?.stop();
  });

  it('QR flow: the screenshots show the pending code\'s QR code, live as it rotates; scanning it completes the login', async () => {
    const { page } = open;
    await signInWithToken(page, user.accessToken);
    await page.locator('#account-user', { hasText: user.userId }).waitFor();
    assert.equal(await storedToken(page), user.accessToken);

    await page.getByRole('button', { name: /^QR code/ }).click();
    const img = page.locator('#qr-image[data-qr-shown="1"]');
    await img.waitFor();
    const size = await img.boundingBox();
    assert.ok(size && size.width >= 200 && size.height >= 200, `the QR image is big enough to scan: ${JSON.stringify(size)}`);
    const first = await page.screenshot({ fullPage: true });
    saveScreenshot('login-page-qr.png', first);
    const firstCode = await codeInScreenshot(env, first, await qrBox(page));

    await page.locator('#qr-image[data-qr-shown="2"]').waitFor({ timeout: 25_000 });
    const second = await page.screenshot({ fullPage: true });
    const secondCode = await codeInScreenshot(env, second, await qrBox(page));
    assert.notEqual(secondCode, firstCode, 'the page shows the rotated code');

    await env.control('POST', `/login-codes/${encodeURIComponent(secondCode)}/approve`, { account: 'me' });
    await page.locator('#status', { hasText: /Logged in as .*15550000000/ }).waitFor({ timeout: 30_000 });
    const { body } = await provisioning<{ login_ids: string[] }>(env, user.accessToken, '/logins');
    assert.equal(body.login_ids.length, 1);
    await loginState(page, body.login_ids[0]!, 'CONNECTED').waitFor({ timeout: 30_000 });
    assert.deepEqual(open.problems, []);
  });

  it('pairing-code flow: a bad phone number is refused in the page; a good one shows the 8-character code, which links the phone', async () => {
    const { page } = open;
    await page.getByRole('button', { name: /^Pairing code/ }).click();
    const phone = page.getByLabel('Phone number');
    await phone.fill('12ab');
    await phone.press('Enter');
    await page.locator('#error', { hasText: 'Phone number does not have the expected format' }).waitFor();
    assert.equal(await phone.getAttribute('aria-invalid'), 'true');

    const bob = await env.control<{ phone: string }>('GET', '/accounts/bob');
    await phone.fill(bob.phone);
    await phone.press('Enter');
    const codeNode = page.locator('#pairing-code');
    await codeNode.waitFor();
    const code = (await codeNode.textContent())!;
    assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/, 'eight characters, shown as two groups');
    const pending = await env.control<Array<{ code: string }>>('GET', '/login-codes');
    assert.ok(pending.some((p) => p.code === code), `the code is the one the network waits for: ${code}`);

    await env.control('POST', `/login-codes/${encodeURIComponent(code)}/approve`, { account: 'bob' });
    await page.locator('#status', { hasText: /Logged in as .*15550000002/ }).waitFor({ timeout: 30_000 });
    await eventually('both logins connected in the page', async () =>
      (await page.locator('#logins .state[data-state="CONNECTED"]').count()) === 2, 30_000);
    await page.mouse.move(0, 0); // no hover highlight in the picture
    saveScreenshot('login-page-logins.png', await page.screenshot({ fullPage: true }));
    assert.deepEqual(open.problems, []);
  });

  it('cancels a QR login from the page: the network forgets the code', async () => {
    const { page } = open;
    await page.getByRole('button', { name: /^QR code/ }).click();
    await page.locator('#qr-image[data-qr-shown="1"]').waitFor();
    const code = await codeInScreenshot(env, await page.screenshot({ fullPage: true }), await qrBox(page));
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('#status', { hasText: 'The login was cancelled.' }).waitFor();
    assert.equal(await page.locator('#flows-section').isVisible(), true);
    await eventually('the code withdrawn on the network', async () =>
      !(await env.control<Array<{ code: string }>>('GET', '/login-codes')).some((p) => p.code === code));
    assert.deepEqual(open.problems, []);
    assertOrigins(open.origins, env);
  });
});
