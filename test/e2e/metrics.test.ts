/**
 * The operator's view of a running bridge process after real traffic through Synapse (issue 7,
 * items 3 and 4): /metrics, and bridge states pushed to a status endpoint.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import { loginAsMe, portalRoom, sendAs, waitForNetworkMessage, textOf } from '../helpers/portal-setup.js';
import { freePort } from '../helpers/ports.js';

function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && want.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('e2e: metrics and state push of a running bridge', function () {
  this.timeout(120_000);
  let env: BridgeEnv;
  let me: TestClient;
  let metricsUrl: string;
  let statusServer: Server;
  const pushes: Array<{ auth: string | undefined; body: Record<string, unknown> }> = [];

  before(async function () {
    this.timeout(240_000);
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    statusServer = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c));
      req.on('end', () => {
        pushes.push({ auth: req.headers.authorization, body: JSON.parse(text) as Record<string, unknown> });
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => statusServer.listen(0, '127.0.0.1', () => r()));
    const statusUrl = `http://127.0.0.1:${(statusServer.address() as AddressInfo).port}/status`;
    env = await BridgeEnv.start({
      config: { metrics: { enabled: true, hostname: '127.0.0.1', port }, homeserver: { status_endpoint: statusUrl } },
    });
    ({ client: me } = await env.user('person_metrics'));
    await loginAsMe(env, me);
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
    statusServer?.close();
  });

  it('pushes the login\'s bridge state to the status endpoint with the as_token', async () => {
    const connected = await eventually('a CONNECTED push', () => pushes.find((p) => p.body.state_event === 'CONNECTED'));
    assert.equal(connected.auth, `Bearer ${env.config.appservice.as_token}`);
    assert.equal(connected.body.remote_id, 'me');
    assert.equal(connected.body.network, 'sandbox');
    assert.match(String(connected.body.user_id), /^@person_metrics:/);
  });

  it('counts bridged messages both ways, transaction acks and logins by state', async () => {
    const room = await portalRoom(env, me, 'dm:alice:me');
    await sendAs(env, 'dm:alice:me', 'alice', { text: 'count me' });
    await me.waitForEvent(room, (e) => e.getContent().body === 'count me', 30_000);
    await me.sendText(room, 'and me');
    await waitForNetworkMessage(env, 'dm:alice:me', (m) => textOf(m) === 'and me');
    const text = await eventually('both directions counted', async () => {
      const t = await (await fetch(metricsUrl)).text();
      return sample(t, 'tributary_messages_bridged_total', { direction: 'remote_to_matrix', kind: 'm.text' }) >= 1
        && sample(t, 'tributary_messages_bridged_total', { direction: 'matrix_to_remote', kind: 'm.text' }) >= 1 ? t : undefined;
    });
    assert.ok(sample(text, 'tributary_message_latency_seconds_count', { direction: 'remote_to_matrix', network: 'sandbox' }) >= 1);
    assert.ok(sample(text, 'tributary_transaction_ack_seconds_count', {}) >= 1, 'appservice transactions were timed');
    assert.equal(sample(text, 'tributary_logins', { state: 'CONNECTED' }), 1);
    assert.ok(sample(text, 'tributary_portals_loaded', {}) >= 1);
  });

  it('counts a failure by reason when a Matrix event cannot be bridged', async () => {
    const room = await portalRoom(env, me, 'dm:alice:me');
    await me.client.sendEvent(room, 'm.room.message' as never, { msgtype: 'org.example.unknown', body: 'odd' } as never);
    await eventually('a matrix_to_remote failure', async () => {
      const t = await (await fetch(metricsUrl)).text();
      return t.split('\n').some((l) => l.startsWith('tributary_bridge_failures_total{') && l.includes('direction="matrix_to_remote"') && !l.endsWith(' 0'));
    });
  });
});
