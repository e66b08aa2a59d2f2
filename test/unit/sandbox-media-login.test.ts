import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { startSandboxServer, type SandboxServer } from '../../bridges/sandbox/src/server/server.js';
import { SandboxClient, SandboxClientError, type QrCode } from '../../bridges/sandbox/src/client/index.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof SandboxClientError && err.code === code);
}

describe('sandbox media and login', () => {
  let server: SandboxServer;
  const clients: SandboxClient[] = [];
  const newClient = (token?: string) => {
    const c = new SandboxClient({ url: server.url, token, reconnect: { minMs: 5, maxMs: 20 } });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    server = await startSandboxServer({ seed: 'demo', maxMediaBytes: 64 * 1024, qrRotateMs: 80, qrMaxCodes: 50 });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
  });

  describe('media', () => {
    it('round-trips bytes and streams, and sends them as an image message', async () => {
      const me = newClient(server.network.account('me').token);
      const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
      const up = await me.uploadMedia(bytes, 'application/x-test');
      assert.deepEqual([up.size, up.mimetype], [5000, 'application/x-test']);
      const down = await me.downloadMedia(up.media_id);
      assert.deepEqual([down.size, down.mimetype], [5000, 'application/x-test']);
      assert.deepEqual(await readAll(down.stream), bytes);

      const streamed = await me.uploadMedia(Readable.from([bytes.subarray(0, 100), bytes.subarray(100, 300)]), 'image/png');
      assert.equal(streamed.size, 300);
      assert.deepEqual(await readAll((await me.downloadMedia(streamed.media_id)).stream), bytes.subarray(0, 300));

      await me.connect();
      const sent = await me.send('dm:alice:me', { kind: 'image', media_id: up.media_id, mimetype: 'image/png', size: 5000 });
      assert.equal(sent.content.kind, 'image');
      await rejectsWith(me.send('dm:alice:me', { kind: 'file', media_id: 'doesnotexist0000000', mimetype: 'a/b', size: 1 }), 'not_found');
    });

    it('enforces the size cap, auth for uploads, and 404 for unknown ids', async () => {
      const me = newClient(server.network.account('me').token);
      await rejectsWith(me.uploadMedia(Buffer.alloc(64 * 1024 + 1), 'application/octet-stream'), 'too_large');
      // Without content-length (a stream), the cap is enforced while reading.
      await rejectsWith(me.uploadMedia(Readable.from([Buffer.alloc(40 * 1024), Buffer.alloc(40 * 1024)]), 'application/octet-stream'), 'too_large');
      assert.equal(server.media.list().length, 0, 'nothing was stored');
      await rejectsWith(newClient().uploadMedia(Buffer.from('x'), 'text/plain'), 'unauthorized');
      await rejectsWith(me.downloadMedia('nonexistentmediaid00'), 'not_found');
      const bad = await fetch(`${server.url}/media`, { method: 'POST', body: 'x', headers: { authorization: `Bearer ${me.token}`, 'content-type': 'nonsense' } });
      assert.equal(bad.status, 400);
    });
  });

  describe('login flows', () => {
    it('token: valid tokens connect, unknown ones are bad_credentials', async () => {
      const c = newClient();
      await rejectsWith(c.connect(), 'unauthorized');
      const r = await c.tokenLogin(server.network.account('bob').token);
      assert.equal(r.account_id, 'bob');
      await rejectsWith(newClient().tokenLogin('forged'), 'bad_credentials');
      const ready = await c.connect();
      assert.equal(ready.account.id, 'bob');
    });

    it('password: account id or phone with the password, wrong ones are bad_credentials', async () => {
      const c = newClient();
      const r = await c.passwordLogin('alice', 'sandbox');
      assert.deepEqual(r, { account_id: 'alice', token: server.network.account('alice').token });
      assert.equal((await newClient().passwordLogin('+15550000002', 'sandbox')).account_id, 'bob');
      await rejectsWith(newClient().passwordLogin('alice', 'wrong'), 'bad_credentials');
      await rejectsWith(newClient().passwordLogin('nobody', 'sandbox'), 'bad_credentials');
      const bad = await fetch(`${server.url}/login/password`, { method: 'POST', body: '{"username":1}' });
      assert.equal(bad.status, 400);
      assert.equal((await c.connect()).account.id, 'alice');
    });

    it('qr: codes rotate until one is approved through the control API', async () => {
      const c = newClient();
      const codes: QrCode[] = [];
      const login = c.startQrLogin();
      for await (const code of login) {
        codes.push(code);
        if (codes.length === 1) {
          // A stale or unknown code cannot be approved.
          const wrong = await fetch(`${server.url}/control/login-codes/ZZZZ-ZZZZ/approve`, { method: 'POST', body: '{"account":"me"}' });
          assert.equal(wrong.status, 404);
          const pending = (await (await fetch(`${server.url}/control/login-codes`)).json()) as Array<{ code: string }>;
          assert.deepEqual(pending.map((p) => p.code), [code.code]);
        }
        if (codes.length === 3) {
          const ok = await fetch(`${server.url}/control/login-codes/${code.code}/approve`, { method: 'POST', body: '{"account":"me"}' });
          assert.equal(ok.status, 200);
        }
      }
      assert.equal(codes.length, 3);
      assert.equal(new Set(codes.map((x) => x.code)).size, 3, 'codes rotate');
      const result = await login.result;
      assert.equal(result.account_id, 'me');
      assert.equal(c.token, server.network.account('me').token);
      assert.equal((await c.connect()).account.id, 'me');
    });

    it('qr: an expired session or cancel ends the login with a clear error', async () => {
      const short = await startSandboxServer({ qrRotateMs: 20, qrMaxCodes: 2 });
      try {
        const c = new SandboxClient({ url: short.url, reconnect: { minMs: 5, maxMs: 20 } });
        await rejectsWith(c.startQrLogin().result, 'login_expired');
        const seen: QrCode[] = [];
        const cancelled = c.startQrLogin((code) => seen.push(code));
        while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
        cancelled.cancel();
        await rejectsWith(cancelled.result, 'login_expired');
      } finally {
        await short.close();
      }
    });
  });
});
