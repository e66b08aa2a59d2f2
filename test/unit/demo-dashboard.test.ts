/**
 * The demo dashboard's server (scripts/demo-dashboard.ts) against a real sandbox network and a
 * fake bridge: what it proxies, that it keeps the hs_token server-side, and that every input it
 * refuses leaves the network unchanged. The page itself is tested in Chromium by the demo e2e.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandboxServer, type SandboxServer } from '../../bridges/sandbox/src/server/index.js';
import { startDashboard, type Dashboard } from '../../scripts/demo-dashboard.js';

const HS_TOKEN = 'hs-token-that-must-stay-server-side';

type Json = Record<string, unknown> & { error?: string };

describe('demo dashboard server', () => {
  let dir: string;
  let sandbox: SandboxServer;
  let bridge: Server;
  let dashboard: Dashboard;
  const authSeen: string[] = [];

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Json; headers: Headers }> => {
    const res = await fetch(`${dashboard.url}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json().catch(() => ({}))) as Json, headers: res.headers };
  };
  const aliceMessages = () => sandbox.network.chat('dm:alice:me').messages.length;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-dashboard-'));
    sandbox = await startSandboxServer({ seed: 'demo' });
    // A bridge's /_tributary/v1/bridge_state, answering only the hs_token.
    bridge = createServer((req, res) => {
      authSeen.push(req.headers.authorization ?? '');
      const ok = req.headers.authorization === `Bearer ${HS_TOKEN}` && req.url === '/_tributary/v1/bridge_state';
      res.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok
        ? { bridge: 'sandbox', logins: { me: { state_event: 'CONNECTED', user_id: '@demo:localhost', remote_name: 'Me (sandbox)', timestamp: 1 } } }
        : { errcode: 'M_FORBIDDEN' }));
    });
    await new Promise<void>((r) => bridge.listen(0, '127.0.0.1', r));
    const bridgeUrl = `http://127.0.0.1:${(bridge.address() as AddressInfo).port}`;
    await writeFile(join(dir, 'good.yaml'), `appservice:\n  hs_token: ${HS_TOKEN}\n  as_token: other\n`);
    await writeFile(join(dir, 'wrong.yaml'), 'appservice:\n  hs_token: not-the-token\n');
    dashboard = await startDashboard({
      port: 0,
      bridges: [
        { id: 'sandbox', name: 'Sandbox bridge', bot: '@sandboxbot:localhost', url: bridgeUrl, configPath: join(dir, 'good.yaml') },
        { id: 'refused', name: 'Refused bridge', bot: '@refused:localhost', url: bridgeUrl, configPath: join(dir, 'wrong.yaml') },
        { id: 'gone', name: 'Gone bridge', bot: '@gone:localhost', url: 'http://127.0.0.1:9', configPath: join(dir, 'good.yaml') },
      ],
      networks: [{ id: 'sandbox', name: 'Sandbox', controlUrl: `${sandbox.url}/control`, self: 'me' }],
      intro: { homeserver_url: 'http://127.0.0.1:8008', user_id: '@demo:localhost', password: 'demo' },
    });
  });
  after(async () => {
    await dashboard?.close();
    await sandbox?.close();
    bridge?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the page with a strict CSP and no external assets', async () => {
    const res = await fetch(dashboard.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.match(html, /<script src="\/dashboard\.js" defer><\/script>/);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'nothing is loaded from elsewhere');
    assert.doesNotMatch(html, /<script>|\son[a-z]+=/i, 'no inline script or handler (the CSP would block them)');
    for (const asset of ['/dashboard.js', '/dashboard.css', '/favicon.svg']) assert.equal((await fetch(dashboard.url + asset)).status, 200, asset);
    assert.equal((await fetch(`${dashboard.url}/../scripts/demo.ts`)).status, 404);
  });

  it('reports every bridge\'s logins, asking with the hs_token without handing it out', async () => {
    const { status, json } = await call('GET', '/api/state');
    assert.equal(status, 200);
    const bridges = json.bridges as Array<{ id: string; reachable: boolean; problem: string | null; logins: Array<{ id: string; state: string; remote_name: string }> }>;
    assert.deepEqual(bridges.find((b) => b.id === 'sandbox')?.logins.map((l) => [l.id, l.state, l.remote_name]), [['me', 'CONNECTED', 'Me (sandbox)']]);
    assert.match(bridges.find((b) => b.id === 'refused')?.problem ?? '', /HTTP 403/);
    assert.equal(bridges.find((b) => b.id === 'gone')?.reachable, false);
    assert.ok(authSeen.includes(`Bearer ${HS_TOKEN}`));
    for (const path of ['/api/state', '/api/info', '/dashboard.js', '/']) {
      assert.ok(!(await (await fetch(dashboard.url + path)).text()).includes(HS_TOKEN), `${path} does not contain the hs_token`);
    }
  });

  it('lists the contacts (not the bridge\'s own account) and a contact\'s chats', async () => {
    const contacts = (await call('GET', '/api/networks/sandbox/contacts')).json as unknown as Array<{ id: string; name: string }>;
    assert.deepEqual(contacts.map((c) => c.id), ['alice', 'bob', 'carol']);
    const chats = (await call('GET', '/api/networks/sandbox/contacts/alice/chats')).json as unknown as Array<{ id: string; label: string }>;
    assert.deepEqual(chats.map((c) => [c.id, c.label]), [['g:1', 'Sandbox friends (group)'], ['dm:alice:me', 'Direct chat with Me (sandbox)']]);
  });

  it('sends a text as a contact and shows the chat with the bridge account\'s messages as from me', async () => {
    sandbox.network.send('me', 'dm:alice:me', { kind: 'text', text: 'sent by the bridge', entities: [] });
    const sent = await call('POST', `/api/networks/sandbox/chats/${encodeURIComponent('dm:alice:me')}/messages`, { as: 'alice', text: 'hi from the page' });
    assert.equal(sent.status, 201);
    const last = sandbox.network.chat('dm:alice:me').messages.at(-1);
    assert.equal(last?.sender, 'alice');
    assert.deepEqual(last?.content, { kind: 'text', text: 'hi from the page', entities: [] });
    const list = (await call('GET', '/api/networks/sandbox/chats/dm%3Aalice%3Ame/messages?as=alice')).json as unknown as Array<{ sender: string; from_self: boolean; text: string; sender_name: string }>;
    assert.deepEqual(list.slice(-2).map((m) => [m.sender, m.from_self, m.text, m.sender_name]), [
      ['me', true, 'sent by the bridge', 'Me (sandbox)'], ['alice', false, 'hi from the page', 'Alice Liddell'],
    ]);
  });

  it('approves a waiting login code as the demo account', async () => {
    const session = sandbox.loginCodes.start();
    const state = (await call('GET', '/api/state')).json as { networks: Array<{ id: string; login_codes: Array<{ code: string }> }> };
    assert.deepEqual(state.networks[0]?.login_codes.map((c) => c.code), [session.code]);
    const bad = await call('POST', '/api/networks/sandbox/login-codes/WRONG-CODE/approve', {});
    assert.equal(bad.status, 400);
    const approved = await call('POST', `/api/networks/sandbox/login-codes/${session.code}/approve`, {});
    assert.equal(approved.status, 200);
    assert.deepEqual(approved.json, { account: 'me' });
    const result = await sandbox.loginCodes.poll(session.session, session.code, 0);
    assert.equal(result.status, 'approved');
    assert.equal(result.status === 'approved' && result.account_id, 'me');
    const again = await call('POST', `/api/networks/sandbox/login-codes/${session.code}/approve`, {});
    assert.equal(again.status, 404, 'an approved code is gone');
  });

  it('refuses bad input with a clear 4xx and changes nothing', async () => {
    const before = aliceMessages();
    const dm = `/api/networks/sandbox/chats/${encodeURIComponent('dm:alice:me')}/messages`;
    const cases: Array<[string, number, RegExp, () => Promise<{ status: number; json: Json }>]> = [
      ['as the bridge account', 400, /account the bridge logs in as/, () => call('POST', dm, { as: 'me', text: 'x' })],
      ['an empty text', 400, /text is empty/, () => call('POST', dm, { as: 'alice', text: '  ' })],
      ['a too long text', 400, /longer than 4000/, () => call('POST', dm, { as: 'alice', text: 'x'.repeat(4001) })],
      ['an unknown field', 400, /unrecognized/i, () => call('POST', dm, { as: 'alice', text: 'x', image: {} })],
      ['a bad account id', 400, /as must be an account id/, () => call('POST', dm, { as: 'Alice!', text: 'x' })],
      ['not JSON', 400, /not valid JSON/, () => call('POST', dm, '{"as":')],
      ['a form post', 415, /Content-Type: application\/json/, () => call('POST', dm, undefined, { 'content-type': 'application/x-www-form-urlencoded' })],
      ['another origin', 403, /cross-origin/, () => call('POST', dm, { as: 'alice', text: 'x' }, { origin: 'http://evil.example' })],
      ['a bad chat id', 400, /chat id looks like/, () => call('POST', '/api/networks/sandbox/chats/..%2Faccounts/messages', { as: 'alice', text: 'x' })],
      ['a chat the contact is not in', 404, /Sandbox: /, () => call('POST', `/api/networks/sandbox/chats/${encodeURIComponent('dm:bob:me')}/messages`, { as: 'alice', text: 'x' })],
      ['an unknown network', 404, /no network "signal"/, () => call('POST', '/api/networks/signal/chats/g%3A1/messages', { as: 'alice', text: 'x' })],
      ['an operation the page does not need', 404, /no such dashboard operation/, () => call('POST', '/api/networks/sandbox/accounts/me/logout', {})],
      ['reading a chat as a non-member', 403, /carol is not in dm:alice:me/, () => call('GET', `${dm}?as=carol`)],
    ];
    for (const [what, status, message, run] of cases) {
      const res = await run();
      assert.equal(res.status, status, what);
      assert.match(res.json.error ?? '', message, what);
    }
    assert.equal(aliceMessages(), before, 'nothing was sent');
    assert.equal(sandbox.network.chat('dm:bob:me').messages.length, 0);
  });

  it('answers only requests addressed to itself (no DNS rebinding)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${dashboard.url}/api/info`, { headers: { host: `evil.example:${dashboard.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 403);
    assert.equal((await fetch(`http://localhost:${dashboard.port}/api/info`)).status, 200);
  });
});
