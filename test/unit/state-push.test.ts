/** Bridge states pushed to an operator's status endpoint: body, auth, order, retries. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StatePusher } from '../../shared/src/core/state-push.js';
import type { LoginState } from '../../shared/src/core/bridge-state.js';

const state = (loginId: string, stateEvent: LoginState['stateEvent'], extra: Partial<LoginState> = {}): LoginState => ({
  loginId, stateEvent, userMxid: '@alice:hs', remoteName: '+1555', timestamp: 1_700_000_000_123, ...extra,
});

describe('bridge state push', () => {
  let server: Server;
  let url: string;
  let received: Array<{ auth: string | undefined; body: Record<string, unknown> }>;
  let failNext: number;

  beforeEach(async () => {
    received = [];
    failNext = 0;
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (failNext > 0) {
          failNext--;
          res.writeHead(503).end();
          return;
        }
        received.push({ auth: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/status`;
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  it('posts each state with the appservice token, in order per login', async () => {
    const p = new StatePusher({ url, token: 'as-token-secret', network: 'whatsapp', retryBaseMs: 5 });
    await Promise.all([
      p.push(state('l1', 'CONNECTING')),
      p.push(state('l1', 'CONNECTED')),
      p.push(state('l1', 'TRANSIENT_DISCONNECT', { error: 'wa-connection-lost', message: 'lost', info: { attempt: 1 } })),
    ]);
    assert.deepEqual(received.map((r) => r.body.state_event), ['CONNECTING', 'CONNECTED', 'TRANSIENT_DISCONNECT']);
    assert.ok(received.every((r) => r.auth === 'Bearer as-token-secret'));
    assert.deepEqual(received[2]!.body, {
      state_event: 'TRANSIENT_DISCONNECT', timestamp: 1_700_000_000, ttl: 240, source: 'bridge', network: 'whatsapp',
      user_id: '@alice:hs', remote_id: 'l1', remote_name: '+1555', error: 'wa-connection-lost', message: 'lost', info: { attempt: 1 },
    });
    assert.equal(received[1]!.body.ttl, 3600);
  });

  it('retries a failing endpoint and keeps the order; gives up after the attempts', async () => {
    const p = new StatePusher({ url, token: 't', network: 'sandbox', retryBaseMs: 5, attempts: 3 });
    failNext = 2;
    await Promise.all([p.push(state('l1', 'CONNECTING')), p.push(state('l1', 'CONNECTED'))]);
    assert.deepEqual(received.map((r) => r.body.state_event), ['CONNECTING', 'CONNECTED']);
    failNext = 3;
    await p.push(state('l1', 'BAD_CREDENTIALS'));
    await p.push(state('l1', 'LOGGED_OUT'));
    assert.deepEqual(received.map((r) => r.body.state_event), ['CONNECTING', 'CONNECTED', 'LOGGED_OUT'], 'the dropped state did not block the next');
  });

  it('survives an endpoint that is not there', async () => {
    const p = new StatePusher({ url: 'http://127.0.0.1:1/nothing', token: 't', network: 'sandbox', retryBaseMs: 1, attempts: 2 });
    await p.push(state('l1', 'CONNECTED'));
  });
});
