import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TributaryAppService } from '../../shared/src/matrix/appservice.js';
import { HttpError } from '../../shared/src/matrix/http-util.js';
import type { ParsedTransaction } from '../../shared/src/matrix/transaction.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'silent';

const HS_TOKEN = 'hs_secret_token_0123456789';
const MAX_BODY = 2048;

interface Reply { status: number; contentType: string | undefined; body: Record<string, unknown> }

interface ReqOpts {
  token?: string | null;
  headers?: Record<string, string>;
  body?: string;
  /** Sent as separate writes with chunked transfer encoding (no Content-Length). */
  chunks?: string[];
}

let port = 0;

function request(method: string, path: string, opts: ReqOpts = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? HS_TOKEN : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          reject(new Error(`response to ${method} ${path} is not JSON: ${text}`));
          return;
        }
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body });
      });
      res.on('error', reject);
    });
    // The server may answer (413) and close before the whole body is written.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    if (opts.chunks) {
      for (const c of opts.chunks) req.write(c);
      req.end();
    } else {
      req.end(opts.body);
    }
  });
}

const TXN_PATH = (id: string) => `/_matrix/app/v1/transactions/${id}`;

function roomEvent(n: number): Record<string, unknown> {
  return { event_id: `$ev${n}`, room_id: '!room:example.org', sender: '@alice:example.org', type: 'm.room.message', origin_server_ts: 1000 + n, content: { body: `hi ${n}` } };
}

describe('TributaryAppService HTTP intake', () => {
  let as: TributaryAppService;
  const calls: Array<{ txnId: string; txn: ParsedTransaction }> = [];
  let failWith: unknown;
  const knownUsers = new Set(['@sandbox_bob:example.org']);
  const extraHits: string[] = [];

  before(async () => {
    as = new TributaryAppService({
      homeserverToken: HS_TOKEN,
      maxBodyBytes: MAX_BODY,
      handlers: {
        onTransaction: async (txnId, txn) => {
          if (failWith !== undefined) throw failWith;
          calls.push({ txnId, txn });
        },
        onUserQuery: async (userId) => knownUsers.has(userId),
      },
    });
    as.addRoute('GET', '/health', (_req, res) => {
      extraHits.push('health');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
    });
    as.addRoute('*', '/_tributary/provision/', (req, _res, url) => {
      extraHits.push(`${req.method} ${url.pathname}`);
      throw new HttpError(418, 'M_TEAPOT', 'provisioning says no');
    });
    await as.listen(0, '127.0.0.1', 511);
    port = ((as as unknown as { server: http.Server }).server.address() as AddressInfo).port;
  });

  after(async () => {
    await as.close();
  });

  beforeEach(() => {
    calls.length = 0;
    failWith = undefined;
    extraHits.length = 0;
  });

  function assertError(r: Reply, status: number, errcode: string): void {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.match(r.contentType ?? '', /^application\/json/);
    assert.equal(r.body.errcode, errcode);
    assert.equal(typeof r.body.error, 'string');
  }

  describe('authentication', () => {
    const txnBody = JSON.stringify({ events: [roomEvent(1)] });
    const cases: Array<{ name: string; path: string; token: string | null; headers?: Record<string, string>; status: number; errcode: string }> = [
      { name: 'missing token', path: TXN_PATH('a1'), token: null, status: 401, errcode: 'M_UNAUTHORIZED' },
      { name: 'token only in the query string', path: `${TXN_PATH('a2')}?access_token=${HS_TOKEN}`, token: null, status: 401, errcode: 'M_UNAUTHORIZED' },
      { name: 'non-Bearer scheme', path: TXN_PATH('a3'), token: null, headers: { authorization: `Basic ${HS_TOKEN}` }, status: 401, errcode: 'M_UNAUTHORIZED' },
      { name: 'wrong token', path: TXN_PATH('a4'), token: 'not-the-token', status: 403, errcode: 'M_FORBIDDEN' },
      { name: 'token one character longer', path: TXN_PATH('a5'), token: `${HS_TOKEN}x`, status: 403, errcode: 'M_FORBIDDEN' },
      { name: 'token one character shorter', path: TXN_PATH('a6'), token: HS_TOKEN.slice(0, -1), status: 403, errcode: 'M_FORBIDDEN' },
      { name: 'token differing in the last character', path: TXN_PATH('a7'), token: `${HS_TOKEN.slice(0, -1)}8`, status: 403, errcode: 'M_FORBIDDEN' },
      { name: 'the as_token is not the hs_token', path: TXN_PATH('a8'), token: 'as_secret_token_0123456789', status: 403, errcode: 'M_FORBIDDEN' },
    ];
    for (const c of cases) {
      it(`refuses ${c.name} with ${c.status} ${c.errcode} and changes nothing`, async () => {
        const r = await request('PUT', c.path, { token: c.token, body: txnBody, ...(c.headers ? { headers: c.headers } : {}) });
        assertError(r, c.status, c.errcode);
        assert.equal(calls.length, 0);
      });
    }

    it('protects every appservice endpoint, not only transactions', async () => {
      assertError(await request('GET', '/_matrix/app/v1/users/@sandbox_bob:example.org', { token: null }), 401, 'M_UNAUTHORIZED');
      assertError(await request('POST', '/_matrix/app/v1/ping', { token: 'wrong', body: '{}' }), 403, 'M_FORBIDDEN');
      assert.equal(as.lastPingTxnId, undefined);
    });

    it('accepts the right token: 200 {} and the handler gets the parsed transaction', async () => {
      const r = await request('PUT', TXN_PATH('good1'), { body: JSON.stringify({ events: [roomEvent(1), roomEvent(2)], ephemeral: [{ type: 'm.typing', room_id: '!room:example.org', content: { user_ids: [] } }] }) });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, {});
      assert.equal(calls.length, 1);
      assert.equal(calls[0]!.txnId, 'good1');
      assert.deepEqual(calls[0]!.txn.events.map((e) => e.event_id), ['$ev1', '$ev2']);
      assert.equal(calls[0]!.txn.events[1]!.content.body, 'hi 2');
      assert.equal(calls[0]!.txn.ephemeral[0]!.type, 'm.typing');
      assert.deepEqual(calls[0]!.txn.crypto.toDevice, []);
    });

    it('decodes a percent-encoded transaction id', async () => {
      const r = await request('PUT', TXN_PATH('txn%2F%20x'), { body: JSON.stringify({ events: [] }) });
      assert.equal(r.status, 200);
      assert.equal(calls[0]!.txnId, 'txn/ x');
    });
  });

  describe('bodies', () => {
    it('refuses a non-JSON body with 400 M_NOT_JSON', async () => {
      assertError(await request('PUT', TXN_PATH('b1'), { body: '{"events": [' }), 400, 'M_NOT_JSON');
      assert.equal(calls.length, 0);
    });

    it('refuses a JSON array body with 400', async () => {
      assertError(await request('PUT', TXN_PATH('b2'), { body: JSON.stringify([roomEvent(1)]) }), 400, 'M_BAD_JSON');
      assert.equal(calls.length, 0);
    });

    it('refuses a transaction that fails validation with 400 M_BAD_JSON', async () => {
      const r = await request('PUT', TXN_PATH('b3'), { body: JSON.stringify({ events: [{ ...roomEvent(1), event_id: 'no-sigil' }] }) });
      assertError(r, 400, 'M_BAD_JSON');
      assert.match(String(r.body.error), /events\[0\]\.event_id/);
      assert.equal(calls.length, 0);
    });

    it('refuses an oversized body declared by Content-Length with 413 M_TOO_LARGE', async () => {
      const big = JSON.stringify({ events: [], pad: 'x'.repeat(MAX_BODY) });
      const r = await request('PUT', TXN_PATH('b4'), { body: big, headers: { 'content-length': String(Buffer.byteLength(big)) } });
      assertError(r, 413, 'M_TOO_LARGE');
      assert.equal(calls.length, 0);
    });

    it('refuses an oversized streamed body without Content-Length with 413 M_TOO_LARGE', async () => {
      const chunks = ['{"events": [], "pad": "', ...Array.from({ length: 8 }, () => 'y'.repeat(512)), '"}'];
      const r = await request('PUT', TXN_PATH('b5'), { chunks });
      assertError(r, 413, 'M_TOO_LARGE');
      assert.equal(calls.length, 0);
    });

    it('accepts a body just under the cap', async () => {
      const head = JSON.stringify({ events: [], pad: '' });
      const body = JSON.stringify({ events: [], pad: 'z'.repeat(MAX_BODY - head.length) });
      assert.equal(Buffer.byteLength(body), MAX_BODY);
      const r = await request('PUT', TXN_PATH('b6'), { body });
      assert.equal(r.status, 200);
      assert.equal(calls.length, 1);
    });
  });

  describe('routing', () => {
    it('answers a wrong method with 405', async () => {
      const r = await request('GET', TXN_PATH('m1'));
      assert.equal(r.status, 405);
      assert.equal(typeof r.body.errcode, 'string');
      assertError(await request('GET', '/_matrix/app/v1/ping'), 405, String(r.body.errcode));
      assert.equal(calls.length, 0);
    });

    it('answers unknown paths with 404 M_UNRECOGNIZED', async () => {
      assertError(await request('GET', '/nothing/here'), 404, 'M_UNRECOGNIZED');
      assertError(await request('GET', '/_matrix/app/v1/unknown'), 404, 'M_UNRECOGNIZED');
      assertError(await request('PUT', '/_matrix/app/v2/transactions/x', { body: '{"events":[]}' }), 404, 'M_UNRECOGNIZED');
      assertError(await request('PUT', '/_matrix/app/v1/transactions/x/extra', { body: '{"events":[]}' }), 404, 'M_UNRECOGNIZED');
      assert.equal(calls.length, 0);
    });

    it('refuses malformed percent-encoding in the path with 400', async () => {
      const r = await request('PUT', TXN_PATH('bad%zzid'), { body: '{"events":[]}' });
      assert.equal(r.status, 400);
      assert.equal(typeof r.body.errcode, 'string');
      const u = await request('GET', '/_matrix/app/v1/users/%E0%A4%A');
      assert.equal(u.status, 400);
      assert.equal(typeof u.body.errcode, 'string');
      assert.equal(calls.length, 0);
    });

    it('answers the third-party protocol endpoints with 404', async () => {
      assertError(await request('GET', '/_matrix/app/v1/thirdparty/protocol/x'), 404, 'M_NOT_FOUND');
    });
  });

  describe('handler failures', () => {
    it('turns an HttpError thrown by the handler into that status', async () => {
      failWith = new HttpError(503, 'M_LIMIT_EXCEEDED', 'database busy');
      const r = await request('PUT', TXN_PATH('h1'), { body: '{"events":[]}' });
      assertError(r, 503, 'M_LIMIT_EXCEEDED');
      assert.equal(r.body.error, 'database busy');
    });

    it('turns any other throw into 500 M_UNKNOWN without leaking it, and keeps serving', async () => {
      failWith = new Error('secret internal detail');
      const r = await request('PUT', TXN_PATH('h2'), { body: '{"events":[]}' });
      assertError(r, 500, 'M_UNKNOWN');
      assert.doesNotMatch(String(r.body.error), /secret internal detail/);
      failWith = 'a string, not an Error';
      assertError(await request('PUT', TXN_PATH('h3'), { body: '{"events":[]}' }), 500, 'M_UNKNOWN');
      failWith = undefined;
      const ok = await request('PUT', TXN_PATH('h4'), { body: '{"events":[]}' });
      assert.equal(ok.status, 200);
      assert.deepEqual(calls.map((c) => c.txnId), ['h4']);
    });
  });

  describe('ping, user query and extra routes', () => {
    it('records the ping transaction id', async () => {
      const r = await request('POST', '/_matrix/app/v1/ping', { body: JSON.stringify({ transaction_id: 'ping-42' }) });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, {});
      assert.equal(as.lastPingTxnId, 'ping-42');
    });

    it('answers user queries by the handler: 200 for known, 404 M_NOT_FOUND for unknown', async () => {
      const known = await request('GET', `/_matrix/app/v1/users/${encodeURIComponent('@sandbox_bob:example.org')}`);
      assert.equal(known.status, 200);
      assert.deepEqual(known.body, {});
      assertError(await request('GET', '/_matrix/app/v1/users/@nobody:example.org'), 404, 'M_NOT_FOUND');
    });

    it('answers alias queries with 404 when no handler is set', async () => {
      assertError(await request('GET', `/_matrix/app/v1/rooms/${encodeURIComponent('#x:example.org')}`), 404, 'M_NOT_FOUND');
    });

    it('serves routes added with addRoute, matched by method and prefix, without hs_token', async () => {
      const h = await request('GET', '/health', { token: null });
      assert.equal(h.status, 200);
      assert.deepEqual(h.body, { ok: true });
      assertError(await request('POST', '/health', { token: null, body: '{}' }), 404, 'M_UNRECOGNIZED');
      assertError(await request('DELETE', '/_tributary/provision/v1/logins', { token: null }), 418, 'M_TEAPOT');
      assert.deepEqual(extraHits, ['health', 'DELETE /_tributary/provision/v1/logins']);
    });
  });
});
