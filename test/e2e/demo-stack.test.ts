/**
 * The README's first command, as a new user would use it: start the demo stack, read
 * stack.json, log in with a Matrix client, talk to the bots, log in to the sandbox account and to
 * the emulated WhatsApp and see a portal of each; use the dashboard page in Chromium (bridge
 * states, playing alice, approving a WhatsApp login code); then Ctrl-C stops every process.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { parse } from 'yaml';
import { eventually } from '../helpers/bridge-env.js';
import { launchBrowser } from '../helpers/browser.js';
import { TestClient } from '../helpers/matrix-client.js';

const ROOT = resolve(import.meta.dirname, '../..');

interface Stack {
  homeserver_url: string;
  dashboard_url: string;
  user: { user_id: string; access_token: string; password: string };
  bots: { sandbox: string; whatsapp: string; messenger: string; instagram: string };
  sandbox: { control_url: string; login: { account: string; password: string } };
  whatsapp: { control_url: string; login: { account: string } };
  messenger: { control_url: string; login: { account: string; cookies: string } };
  instagram: { control_url: string; login: { account: string; cookies: string } };
}

describe('e2e: the demo stack (npm run demo)', function () {
  this.timeout(180_000);
  let dir: string;
  let demo: ChildProcess;
  let output = '';
  let client: TestClient | undefined;
  let browser: Browser | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-demo-'));
    demo = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'scripts/demo.ts'], {
      cwd: ROOT, env: { ...process.env, TRIBUTARY_DEMO_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout!.on('data', (d: Buffer) => (output += d));
    demo.stderr!.on('data', (d: Buffer) => (output += d));
    await eventually('the demo to print that it is running', () => {
      if (demo.exitCode !== null) throw new Error(`demo exited: ${output}`);
      return /Tributary demo is running/.test(output);
    }, 120_000);
  });
  after(async () => {
    await browser?.close();
    await client?.stop();
    if (demo.exitCode === null) demo.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('writes stack.json and prints how to connect', () => {
    const stack = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as Stack;
    assert.match(stack.homeserver_url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(stack.user.user_id, '@demo:localhost');
    assert.ok(output.includes(stack.homeserver_url));
    assert.ok(output.includes(stack.bots.sandbox));
    assert.ok(output.includes(stack.bots.whatsapp));
  });

  it('lets the demo user log in to the sandbox through the bot and see a portal', async () => {
    const stack = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as Stack;
    client = await TestClient.start(stack.homeserver_url, stack.user.user_id, stack.user.access_token);
    const mgmt = (await client.client.createRoom({ is_direct: true, invite: [stack.bots.sandbox] })).room_id;
    const bot = (re: RegExp) => client!.waitForEvent(mgmt, (e) => e.getSender() === stack.bots.sandbox && re.test(e.getContent().body ?? ''), 30_000);
    await bot(/management room/);
    await client.sendText(mgmt, 'login password');
    await bot(/your username/);
    await client.sendText(mgmt, stack.sandbox.login.account);
    await bot(/your password/);
    await client.sendText(mgmt, stack.sandbox.login.password);
    await bot(/Logged in as me/);
    await fetch(`${stack.sandbox.control_url}/chats/${encodeURIComponent('dm:alice:me')}/messages`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ as: 'alice', text: 'welcome to the demo' }),
    });
    await eventually('alice\'s message in a portal room', () =>
      client!.client.getRooms().some((r) => r.getLiveTimeline().getEvents().some((e) => e.getContent().body === 'welcome to the demo')), 60_000);
  });

  it('lets the demo user link the emulated WhatsApp by QR code and see a contact\'s message', async () => {
    const stack = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as Stack;
    client ??= await TestClient.start(stack.homeserver_url, stack.user.user_id, stack.user.access_token);
    const mgmt = (await client.client.createRoom({ is_direct: true, invite: [stack.bots.whatsapp] })).room_id;
    const bot = (re: RegExp) => client!.waitForEvent(mgmt, (e) => e.getSender() === stack.bots.whatsapp && re.test(e.getContent().body ?? ''), 30_000);
    await bot(/management room/);
    await client.sendText(mgmt, 'login qr');
    await bot(/Scan this QR code/);
    // The "scan": what the printed instructions tell a visitor to do with curl.
    const code = await eventually('a waiting login code', async () =>
      ((await (await fetch(`${stack.whatsapp.control_url}/login-codes`)).json()) as Array<{ code: string }>)[0]?.code);
    const approved = await fetch(`${stack.whatsapp.control_url}/login-codes/${encodeURIComponent(code)}/approve`, {
      method: 'POST', body: JSON.stringify({ account: stack.whatsapp.login.account }),
    });
    assert.equal(approved.status, 200);
    await bot(/Logged in to WhatsApp/);
    await fetch(`${stack.whatsapp.control_url}/chats/${encodeURIComponent('dm:alice:me')}/messages`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ as: 'alice', text: 'hello over WhatsApp' }),
    });
    await eventually('alice\'s WhatsApp message in a portal room', () =>
      client!.client.getRooms().some((r) => r.getLiveTimeline().getEvents().some((e) => e.getContent().body === 'hello over WhatsApp')), 60_000);
  });

  for (const [flavour, app] of [['messenger', 'Messenger'], ['instagram', 'Instagram']] as const) {
    it(`lets the demo user log in to the emulated ${app} with the printed cookies and see a contact's message`, async () => {
      const stack = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as Stack;
      assert.ok(output.includes(stack[flavour].login.cookies), 'the cookies are printed');
      client ??= await TestClient.start(stack.homeserver_url, stack.user.user_id, stack.user.access_token);
      const mgmt = (await client.client.createRoom({ is_direct: true, invite: [stack.bots[flavour]] })).room_id;
      const bot = (re: RegExp) => client!.waitForEvent(mgmt, (e) => e.getSender() === stack.bots[flavour] && re.test(e.getContent().body ?? ''), 30_000);
      await bot(/management room/);
      await client.sendText(mgmt, 'login cookies');
      await bot(/cookies/);
      await client.sendText(mgmt, stack[flavour].login.cookies);
      await bot(new RegExp(`Logged in to ${app}`));
      const text = `hello over ${app}`;
      await fetch(`${stack[flavour].control_url}/chats/${encodeURIComponent('dm:alice:me')}/messages`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ as: 'alice', text }),
      });
      await eventually(`alice's ${app} message in a portal room`, () =>
        client!.client.getRooms().some((r) => r.getLiveTimeline().getEvents().some((e) => e.getContent().body === text)), 60_000);
    });
  }

  it('serves the dashboard: both bridges connected, playing alice, approving a WhatsApp login code (Chromium)', async () => {
    const stack = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as Stack;
    assert.match(stack.dashboard_url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(output.includes(`Open ${stack.dashboard_url}`), 'the printed instructions point at the dashboard');
    client ??= await TestClient.start(stack.homeserver_url, stack.user.user_id, stack.user.access_token);
    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1280, height: 960 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    await page.goto(stack.dashboard_url);

    // Both bridges, with the logins the tests above made, as the bridges report them.
    await page.locator('[data-bridge="sandbox"] tr[data-state="CONNECTED"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-bridge="whatsapp"] tr[data-state="CONNECTED"]').waitFor({ timeout: 30_000 });
    assert.match(await page.locator('[data-bridge="whatsapp"]').innerText(), /\+15550000000/);
    const tokens = ['sandbox', 'whatsapp'].map((b) => (parse(readFileSync(join(dir, `${b}-bridge`, 'config.yaml'), 'utf8')) as { appservice: { hs_token: string } }).appservice.hs_token);
    const html = await page.content();
    assert.ok(tokens.every((t) => !html.includes(t)), 'no hs_token reaches the page');

    // Play alice on the sandbox network: the forms are found by their labels.
    await page.getByLabel('Network', { exact: true }).selectOption('sandbox');
    await page.getByLabel('Contact', { exact: true }).selectOption('alice');
    await page.getByLabel('Chat', { exact: true }).selectOption('dm:alice:me');
    await page.locator('#messages li[data-sender="alice"]', { hasText: 'welcome to the demo' }).waitFor();
    await page.getByLabel('Message', { exact: true }).fill('typed on the dashboard');
    await page.getByRole('button', { name: 'Send as alice' }).click();
    const arrived = await eventually('the dashboard message in a portal room', () =>
      client!.client.getRooms().find((r) => r.getLiveTimeline().getEvents().some((e) => e.getContent().body === 'typed on the dashboard')), 60_000);
    await page.locator('#messages li[data-sender="alice"]', { hasText: 'typed on the dashboard' }).waitFor();
    // The other way: what the bridge sends for the Matrix user shows in the chat as from me.
    await client.sendText(arrived.roomId, 'answered from Matrix');
    await page.locator('#messages li[data-sender="me"]', { hasText: 'answered from Matrix' }).waitFor({ timeout: 30_000 });

    // Link WhatsApp again, "scanning" the code on the page instead of with curl.
    const mgmt = (await client.client.createRoom({ is_direct: true, invite: [stack.bots.whatsapp] })).room_id;
    const bot = (re: RegExp) => client!.waitForEvent(mgmt, (e) => e.getSender() === stack.bots.whatsapp && re.test(e.getContent().body ?? ''), 30_000);
    await bot(/management room/);
    await client.sendText(mgmt, 'login qr');
    await bot(/Scan this QR code/);
    const waiting = page.locator('#codes li[data-network="whatsapp"]');
    await waiting.waitFor({ timeout: 30_000 });
    if (process.env.TRIBUTARY_UPDATE_SCREENSHOTS === '1') {
      mkdirSync(join(ROOT, 'docs/images'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'docs/images/demo-dashboard.png'), fullPage: true });
    }
    await waiting.getByRole('button', { name: /^Approve [A-Z0-9-]+ on WhatsApp as me$/ }).click();
    await bot(/Logged in to WhatsApp/);
    await page.getByRole('status').filter({ hasText: /Approved .* as me/ }).waitFor();
    await page.locator('#codes li[data-network="whatsapp"]').waitFor({ state: 'detached' });
    await page.locator('[data-bridge="whatsapp"] tr[data-state="CONNECTED"]').waitFor({ timeout: 30_000 });
    assert.deepEqual(problems, []);
  });

  it('stops every process on Ctrl-C', async () => {
    const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
    demo.kill('SIGINT');
    assert.equal(await exited, 0);
    const stack = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as Stack;
    await eventually('the homeserver to be gone', async () => {
      try {
        await fetch(`${stack.homeserver_url}/_matrix/client/versions`);
        return false;
      } catch {
        return true;
      }
    }, 20_000);
    assert.ok(existsSync(join(dir, 'sandbox-network.json')), 'the sandbox network state is kept for the next run');
    assert.ok(existsSync(join(dir, 'whatsapp-network.json')), 'so is the WhatsApp network\'s');
  });
});
