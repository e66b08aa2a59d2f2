/**
 * Regressions for what the HTTP fuzzing (test/fuzz/appservice-http.fuzz.ts, docs/fuzzing.md) found
 * in the appservice intake: answers Node's parser gave without JSON, a 500 on deep nesting, ids
 * that SQLite stored as a different id, an error overtaking a stored transaction's 200.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { TributaryAppService } from '../../shared/src/matrix/appservice.js';
import { HttpError } from '../../shared/src/matrix/http-util.js';
import { TransactionIntake } from '../../shared/src/matrix/intake.js';
import { MAX_NESTING, parseTransaction } from '../../shared/src/matrix/transaction.js';
import { rawRequest, type RawReply, type RawRequest } from '../helpers/raw-http.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'silent';

const HS_TOKEN = 'hs_regression_token_0123456789';
const AUTH: [string, string] = ['Authorization', `Bearer ${HS_TOKEN}`];

function req(method: string, target: string, body = '', headers: Array<[string, string]> = [AUTH], extra: Partial<RawRequest> = {}): RawRequest {
  const all: Array<[string, string]> = [['Host', 'localhost'], ['Connection', 'close'], ...headers];
  if (body.length > 0) all.push(['Content-Length', String(Buffer.byteLength(body))]);
  return { method, target, headers: all, body: Buffer.from(body), ...extra };
}

function event(id: string, content: unknown = { body: 'x' }): Record<string, unknown> {
  return { event_id: id, room_id: '!r:example.org', sender: '@a:example.org', type: 'm.room.message', origin_server_ts: 1, content };
}

function assertJsonError(reply: RawReply, status: number, errcode: string): void {
  assert.equal(reply.status, status, reply.body.toString());
  assert.match(reply.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(reply.body.toString()) as { errcode?: string; error?: string };
  assert.equal(body.errcode, errcode);
  assert.equal(typeof body.error, 'string');
}

describe('appservice intake fixes found by fuzzing', () => {
  let db: Database;
  let as: TributaryAppService;
  let port = 0;
  const server = (): http.Server => (as as unknown as { server: http.Server }).server;
  const stored = async (): Promise<number> => Number((await db.knex('inbound_events').count({ n: '*' }).first())?.n ?? 0);
  const connections = (): Promise<number> => new Promise((resolve) => server().getConnections((_e, n) => resolve(n)));

  before(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    const intake = new TransactionIntake(db, { dispatch: async () => undefined });
    as = new TributaryAppService({ homeserverToken: HS_TOKEN, maxBodyBytes: 1024 * 1024, handlers: { onTransaction: (id, txn) => intake.onTransaction(id, txn) } });
    await as.listen(0, '127.0.0.1', 64);
    port = (server().address() as AddressInfo).port;
  });

  after(async () => {
    server().closeAllConnections();
    await as.close();
    await db.close();
  });

  describe('requests the HTTP parser refuses get a JSON Matrix error, and the connection closes', () => {
    it('a non-ASCII request target: 400 M_UNRECOGNIZED (was a bare 400 without a body)', async () => {
      assertJsonError(await rawRequest(port, req('GET', '/\u00e9')), 400, 'M_UNRECOGNIZED');
    });

    it('an unknown method, even with a large body still coming: 400, and no connection left open', async () => {
      const body = `{"events":[],"pad":"${'p'.repeat(500_000)}"}`;
      assertJsonError(await rawRequest(port, req('FOO', '/_matrix/app/v1/transactions/t', body)), 400, 'M_UNRECOGNIZED');
      const until = Date.now() + 2000;
      while ((await connections()) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      assert.equal(await connections(), 0);
    });

    it('an HTTP/1.1 request without Host: our JSON answers (was a bare 400 from Node)', async () => {
      const reply = await rawRequest(port, { method: 'GET', target: '/_matrix/app/v1/users/@a:s', headers: [['Connection', 'close']], body: Buffer.alloc(0) });
      assertJsonError(reply, 401, 'M_UNAUTHORIZED');
    });

    it('headers too large: 431 M_TOO_LARGE', async () => {
      assertJsonError(await rawRequest(port, req('GET', `/_matrix/app/v1/transactions/${'x'.repeat(20_000)}`)), 431, 'M_TOO_LARGE');
    });

    it('CONNECT: 405 M_UNRECOGNIZED (was a closed connection without an answer)', async () => {
      assertJsonError(await rawRequest(port, req('CONNECT', '/_matrix/app/v1/transactions/t')), 405, 'M_UNRECOGNIZED');
    });
  });

  describe('transaction bodies', () => {
    it(`refuses nesting deeper than ${MAX_NESTING} levels with 400 M_BAD_JSON and stores nothing (was 500)`, async () => {
      const before = await stored();
      const deep = `{"events":[${JSON.stringify(event('$deep')).replace('{"body":"x"}', `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`)}]}`;
      assertJsonError(await rawRequest(port, req('PUT', '/_matrix/app/v1/transactions/deep', deep)), 400, 'M_BAD_JSON');
      assert.equal(await stored(), before);
    });

    it('accepts the nesting Synapse can send', async () => {
      const content = JSON.parse(`${'{"a":'.repeat(900)}1${'}'.repeat(900)}`) as unknown;
      assert.equal(parseTransaction({ events: [event('$ok', content)] }).events.length, 1);
    });

    it('refuses ids with a lone surrogate or a control character (SQLite would store "$\\ud800" as "$\\ufffd")', () => {
      for (const id of ['$\ud800', '$a\udfffb', '$a\u0001', '$a\u0085']) {
        assert.throws(() => parseTransaction({ events: [event(id)] }), (err: unknown) => err instanceof HttpError && err.status === 400 && err.errcode === 'M_BAD_JSON', JSON.stringify(id));
      }
      assert.throws(() => parseTransaction({ events: [{ ...event('$x'), room_id: '!r\ud800:s' }] }), HttpError);
      assert.equal(parseTransaction({ events: [event('$emoji😀')] }).events.length, 1);
    });

    it('answers a stored transaction with its 200 even when bytes after its body cannot be parsed', async () => {
      const before = await stored();
      const body = JSON.stringify({ events: [event('$trailing')] });
      const r = req('PUT', '/_matrix/app/v1/transactions/trailing', body);
      r.body = Buffer.concat([r.body, Buffer.from('}]} garbage')]);
      const reply = await rawRequest(port, r);
      assert.equal(reply.status, 200, reply.body.toString());
      assert.equal(await stored(), before + 1);
    });

    it('answers a body that ends before its Content-Length with 400, stores nothing', async () => {
      const before = await stored();
      const body = JSON.stringify({ events: [event('$cut')] });
      const headers: Array<[string, string]> = [['Host', 'localhost'], AUTH, ['Content-Length', String(body.length + 10)]];
      const reply = await rawRequest(port, { method: 'PUT', target: '/_matrix/app/v1/transactions/cut', headers, body: Buffer.from(body), halfClose: true });
      assert.equal(reply.status, 400, reply.body.toString());
      assert.equal(await stored(), before);
    });
  });
});
