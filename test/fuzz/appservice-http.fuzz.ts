/**
 * Malformed requests against a real TributaryAppService listener on loopback, wired to a real
 * TransactionIntake on SQLite (not started, so whatever is stored stays visible). Properties: an
 * answer always comes, never a 5xx, every non-2xx answer is JSON with a Matrix errcode, a refused
 * request stores nothing, and what an accepted transaction stores is well-formed.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { TributaryAppService } from '../../shared/src/matrix/appservice.js';
import { TransactionIntake } from '../../shared/src/matrix/intake.js';
import { authArb, buildRequest, extraHeaders, framed, invalidUtf8, jsonishText, methodArb, segmentArb } from './arbitraries-http.js';
import { stressTxnText, txnObject } from './arbitraries-txn.js';
import { rawRequest, type RawReply, type RawRequest } from '../helpers/raw-http.js';
import { expectNone, textProblem } from './checks.js';
import { HTTP_CASE_LIMIT_MS, HTTP_RUNS, fuzzAsync, timeoutFor } from './fuzz-config.js';
import { replyProblems, type StoreSnapshot } from './http-checks.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'silent';

const HS_TOKEN = 'hs_fuzz_token_0123456789abcdef';
const MAX_BODY = 2 * 1024 * 1024;

const body: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: txnObject.map((t) => Buffer.from(JSON.stringify(t))), weight: 8 },
  { arbitrary: jsonishText.map((t) => Buffer.from(t)), weight: 3 },
  { arbitrary: invalidUtf8, weight: 1 },
  { arbitrary: stressTxnText.map((t) => Buffer.from(t)), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 4096 }).map((n) => Buffer.from(`{"events":[],"pad":"${'p'.repeat(MAX_BODY + n)}"}`)), weight: 1 },
);

const AS_PATHS = ['transactions', 'ping', 'users', 'rooms', 'thirdparty', 'thirdparty/protocol', 'unknown', ''];

/** PUT /transactions/{txnId} (now and then another method): the homeserver's one write path. */
export const transactionRequest: fc.Arbitrary<RawRequest> = fc
  .tuple(fc.oneof({ arbitrary: fc.constant('PUT'), weight: 6 }, { arbitrary: methodArb, weight: 1 }), segmentArb, fc.constantFrom('', '', '', '?access_token=' + HS_TOKEN, '?x=1', '#f'), authArb(HS_TOKEN), framed(body), extraHeaders)
  .map(([method, id, suffix, auth, framing, extra]) => buildRequest(method, `/_matrix/app/v1/transactions/${id}${suffix}`, auth, framing, extra));

/** Every other target under /_matrix/app (right and wrong shapes) and elsewhere, any method. */
const otherTarget: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom(...AS_PATHS), fc.array(segmentArb, { maxLength: 3 })).map(([what, rest]) => `/_matrix/app/v1/${[what, ...rest].join('/')}`), weight: 3 },
  {
    arbitrary: fc.constantFrom(
      '/', '*', '/_matrix/app/v2/transactions/x', '/_matrix/app/', '/_matrix/app', '//_matrix/app/v1/transactions/x', '/_matrix/app/v1/../v1/ping',
      'http://localhost/_matrix/app/v1/transactions/abs', '/_matrix/app/v1/transactions/x/extra', '/_matrix/client/v3/sync', '/health', '/%',
      '/_matrix/app/v1/transactions/%', 'no-slash', '/\u00e9',
    ),
    weight: 1,
  },
);

export const otherRequest: fc.Arbitrary<RawRequest> = fc
  .tuple(methodArb, otherTarget, authArb(HS_TOKEN), framed(body), extraHeaders)
  .map(([method, path, auth, framing, extra]) => buildRequest(method, path, auth, framing, extra));

async function snapshot(db: Database): Promise<StoreSnapshot> {
  const [events, txns, maxSeq] = await Promise.all([
    db.knex('inbound_events').count({ n: '*' }).first(),
    db.knex('as_transactions').count({ n: '*' }).first(),
    db.knex('inbound_events').max({ m: 'seq' }).first(),
  ]);
  return { events: Number(events?.n ?? 0), transactions: Number(txns?.n ?? 0), maxSeq: Number(maxSeq?.m ?? 0) };
}

/** Problems with what an accepted request stored: rows after `before.maxSeq`. */
async function storedProblems(db: Database, before: StoreSnapshot): Promise<string[]> {
  const rows = (await db.knex('inbound_events').where('seq', '>', before.maxSeq).orderBy('seq')) as Array<Record<string, unknown>>;
  const problems: string[] = [];
  for (const row of rows) {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(String(row.body)) as Record<string, unknown>;
    } catch {
      problems.push(`row ${row.seq}: body is not JSON`);
      continue;
    }
    if (row.kind === 'event') {
      const id = (v: unknown, sigil: string): boolean => typeof v === 'string' && v.startsWith(sigil) && v.length > 1 && !/\s/.test(v) && textProblem(v) === undefined;
      if (!id(body.event_id, '$') || row.event_id !== body.event_id) problems.push(`row ${row.seq}: event_id ${JSON.stringify(row.event_id)} / ${JSON.stringify(body.event_id)}`);
      if (!id(body.room_id, '!') || row.room_id !== body.room_id) problems.push(`row ${row.seq}: room_id ${JSON.stringify(body.room_id)}`);
      if (!id(body.sender, '@')) problems.push(`row ${row.seq}: sender ${JSON.stringify(body.sender)}`);
      if (typeof body.type !== 'string' || body.type === '') problems.push(`row ${row.seq}: type`);
      if (typeof body.origin_server_ts !== 'number') problems.push(`row ${row.seq}: origin_server_ts`);
      if (typeof body.content !== 'object' || body.content === null || Array.isArray(body.content)) problems.push(`row ${row.seq}: content`);
    } else if (row.kind === 'ephemeral') {
      if (typeof body.type !== 'string') problems.push(`row ${row.seq}: ephemeral type`);
    } else {
      problems.push(`row ${row.seq}: kind ${String(row.kind)}`);
    }
  }
  return problems;
}

/** Connections the server still holds after `ms` (polled): a leak when the client is gone. */
async function openConnectionsAfter(server: http.Server, ms: number): Promise<number> {
  const count = (): Promise<number> => new Promise((resolve) => server.getConnections((_err, n) => resolve(n)));
  const until = Date.now() + ms;
  let n = await count();
  while (n > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    n = await count();
  }
  return n;
}

describe('fuzz: appservice HTTP intake', function () {
  this.timeout(timeoutFor(HTTP_RUNS, 200));
  let db: Database;
  let as: TributaryAppService;
  let port = 0;
  const server = (): http.Server => (as as unknown as { server: http.Server }).server;

  before(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    const intake = new TransactionIntake(db, { dispatch: async () => undefined });
    as = new TributaryAppService({
      homeserverToken: HS_TOKEN,
      maxBodyBytes: MAX_BODY,
      handlers: {
        onTransaction: (txnId, txn) => intake.onTransaction(txnId, txn),
        onUserQuery: async (userId) => userId === '@sandbox_bob:example.org',
      },
    });
    await as.listen(0, '127.0.0.1', 511);
    port = (server().address() as AddressInfo).port;
  });

  after(async () => {
    // A case that left a connection half-open must not keep close() waiting.
    server().closeAllConnections();
    await as.close();
    await db.close();
  });

  /** The properties every answer must have, checked against the store before and after. */
  async function check(req: RawRequest, statuses: Map<number, number>): Promise<void> {
    const before = await snapshot(db);
    let reply: RawReply;
    try {
      reply = await rawRequest(port, req);
    } catch (err) {
      throw new Error(`${(err as Error).message} for ${req.method} ${req.target.slice(0, 200)}`);
    }
    statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
    const lingering = await openConnectionsAfter(server(), 2000);
    const after = await snapshot(db);
    const accepted = reply.status >= 200 && reply.status < 300;
    const problems = replyProblems(req, reply);
    const isTxn = req.method === 'PUT' && req.target.includes('/transactions/');
    if ((!accepted || !isTxn) && (after.events !== before.events || after.transactions !== before.transactions)) {
      problems.push(`stored something for a ${reply.status} ${req.method} ${req.target.slice(0, 100)}`);
    }
    if (accepted && isTxn) problems.push(...(await storedProblems(db, before)));
    if (lingering > 0) problems.push(`${lingering} connection(s) still open 2 s after the answer`);
    expectNone(problems, { method: req.method, target: req.target.slice(0, 300), headers: req.headers.map(([k, v]) => `${k}: ${v.slice(0, 80)}`), body: req.body.subarray(0, 300).toString('latin1'), status: reply.status, reply: reply.body.subarray(0, 300).toString('utf8') });
  }

  const byStatus = (statuses: Map<number, number>): string => [...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ');

  it('malformed transactions: an answer, no 5xx, JSON errcode, nothing invalid stored, no connection left open', async () => {
    const statuses = new Map<number, number>();
    await fuzzAsync('malformed transactions: an answer, no 5xx, JSON errcode, nothing invalid stored, no connection left open', transactionRequest, HTTP_RUNS, (req) => check(req, statuses), HTTP_CASE_LIMIT_MS);
    console.log(`      answers by status: ${byStatus(statuses)}`);
  });

  it('other appservice requests and paths: the same properties', async () => {
    const statuses = new Map<number, number>();
    await fuzzAsync('other appservice requests and paths: the same properties', otherRequest, Math.ceil(HTTP_RUNS / 2), (req) => check(req, statuses), HTTP_CASE_LIMIT_MS);
    console.log(`      answers by status: ${byStatus(statuses)}`);
  });

  it('still takes a valid transaction afterwards', async () => {
    const before = await snapshot(db);
    const ev = { event_id: '$after:fuzz', room_id: '!r:example.org', sender: '@a:example.org', type: 'm.room.message', origin_server_ts: 1, content: { body: 'ok' } };
    const reply = await rawRequest(port, buildRequest('PUT', '/_matrix/app/v1/transactions/after-fuzz', [['Authorization', `Bearer ${HS_TOKEN}`]], { body: Buffer.from(JSON.stringify({ events: [ev] })) }));
    expectNone([reply.status === 200 ? undefined : `status ${reply.status}`], reply.body.toString());
    const after = await snapshot(db);
    expectNone([after.events === before.events + 1 ? undefined : 'not stored'], after);
  });
});
