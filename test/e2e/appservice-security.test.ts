/**
 * The appservice HTTP surface, hit directly: only `Authorization: Bearer <hs_token>` is accepted,
 * malformed and oversized transactions are refused with a Matrix error and change nothing, and the
 * health and bridge-state endpoints answer as documented.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { BridgeEnv } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import { loginAsMe, networkMessages, portalRoom, textOf, waitForNetworkMessage } from '../helpers/portal-setup.js';

const MAX_BODY = 65536;
const CHAT = 'dm:alice:me';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

describe('e2e: appservice HTTP security (real Synapse)', function () {
  this.timeout(120_000);
  let env: BridgeEnv;
  let me: TestClient;
  let room: string;
  let base: string;
  let hsToken: string;
  let txn = 0;

  before(async function () {
    env = await BridgeEnv.start({ config: { appservice: { max_body_bytes: MAX_BODY } } });
    ({ client: me } = await env.user('sec_me'));
    await loginAsMe(env, me);
    room = await portalRoom(env, me, CHAT);
    base = `http://127.0.0.1:${env.asPort}`;
    hsToken = env.config.appservice.hs_token;
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  async function call(method: string, path: string, opts: { token?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['Content-Type'] ??= 'application/json';
    const res = await fetch(base + path, { method, headers, body: opts.body });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      assert.fail(`${method} ${path} answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    return { status: res.status, body };
  }

  /** A well-formed m.text event from the person in the portal, marked with `text`. */
  function event(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      event_id: `$sec${++txn}-${Date.now()}:localhost`, room_id: room, sender: me.userId, type: 'm.room.message',
      origin_server_ts: Date.now(), content: { msgtype: 'm.text', body: text }, ...extra,
    };
  }

  const txnPath = (id: string) => `/_matrix/app/v1/transactions/${encodeURIComponent(id)}`;

  it('refuses a transaction without an Authorization header with 401 M_UNAUTHORIZED', async () => {
    const res = await call('PUT', txnPath('noauth'), { body: JSON.stringify({ events: [] }) });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_UNAUTHORIZED');
  });

  it('does not accept the hs_token as an access_token query parameter (401)', async () => {
    const res = await call('PUT', `${txnPath('querytoken')}?access_token=${encodeURIComponent(hsToken)}`, { body: JSON.stringify({ events: [] }) });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_UNAUTHORIZED');
  });

  it('refuses a wrong bearer token with 403 M_FORBIDDEN, on transactions and on ping', async () => {
    const put = await call('PUT', txnPath('wrongtoken'), { token: `${hsToken}x`, body: JSON.stringify({ events: [] }) });
    assert.equal(put.status, 403);
    assert.equal(put.body.errcode, 'M_FORBIDDEN');
    const ping = await call('POST', '/_matrix/app/v1/ping', { token: 'not-the-token', body: '{}' });
    assert.equal(ping.status, 403);
    assert.equal(ping.body.errcode, 'M_FORBIDDEN');
  });

  it('refuses malformed transactions with 400 and bridges none of them', async () => {
    const withoutKey = (key: string) => {
      const e = event(`SEC-BAD missing ${key}`);
      delete e[key];
      return e;
    };
    const bodies: Array<[string, string]> = [
      ['not JSON', '{"events": [ SEC-BAD'],
      ['a JSON array', JSON.stringify([event('SEC-BAD array')])],
      ['a JSON string', JSON.stringify('SEC-BAD')],
      ['no events', JSON.stringify({ ephemeral: [] })],
      ['events not an array', JSON.stringify({ events: event('SEC-BAD not an array') })],
      ['an event that is not an object', JSON.stringify({ events: ['SEC-BAD'] })],
      ['an event without event_id', JSON.stringify({ events: [withoutKey('event_id')] })],
      ['an event without room_id', JSON.stringify({ events: [withoutKey('room_id')] })],
      ['an event without sender', JSON.stringify({ events: [withoutKey('sender')] })],
      ['a numeric event_id', JSON.stringify({ events: [event('SEC-BAD numeric id', { event_id: 42 })] })],
      ['a room_id without its sigil', JSON.stringify({ events: [event('SEC-BAD room sigil', { room_id: room.slice(1) })] })],
      ['a sender with whitespace', JSON.stringify({ events: [event('SEC-BAD sender', { sender: `${me.userId} x` })] })],
      ['content that is a string', JSON.stringify({ events: [event('SEC-BAD', { content: 'SEC-BAD content string' })] })],
      ['a string origin_server_ts', JSON.stringify({ events: [event('SEC-BAD ts', { origin_server_ts: 'now' })] })],
      ['a non-string state_key', JSON.stringify({ events: [event('SEC-BAD state key', { state_key: 5 })] })],
      ['ephemeral not an array', JSON.stringify({ events: [event('SEC-BAD ephemeral')], ephemeral: {} })],
      // One valid event beside a bad one: the whole transaction is refused, the valid one included.
      ['a valid event beside a malformed one', JSON.stringify({ events: [event('SEC-BAD valid half'), withoutKey('sender')] })],
    ];
    for (const [what, body] of bodies) {
      const res = await call('PUT', txnPath(`bad-${what}`), { token: hsToken, body });
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
      assert.match(String(res.body.errcode), /^M_[A-Z_]+$/, what);
      assert.equal(typeof res.body.error, 'string', what);
    }

    // A valid message from the person still flows after all of them, and it is the only new one.
    const before = (await networkMessages(env, CHAT)).length;
    await me.sendText(room, 'SEC-GOOD after malformed transactions');
    await waitForNetworkMessage(env, CHAT, (m) => textOf(m) === 'SEC-GOOD after malformed transactions');
    const after = await networkMessages(env, CHAT);
    assert.equal(after.length, before + 1);
    assert.deepEqual(after.filter((m) => textOf(m).includes('SEC-BAD')), []);
  });

  it('does not remember the id of a refused transaction: the same id with a valid body is processed', async () => {
    const id = 'refused-then-valid';
    const bad = await call('PUT', txnPath(id), { token: hsToken, body: JSON.stringify({ events: [event('SEC-RETRY first'), { event_id: 1 }] }) });
    assert.equal(bad.status, 400);
    const good = await call('PUT', txnPath(id), { token: hsToken, body: JSON.stringify({ events: [event('SEC-RETRY second')] }) });
    assert.equal(good.status, 200);
    assert.deepEqual(good.body, {});
    await waitForNetworkMessage(env, CHAT, (m) => textOf(m) === 'SEC-RETRY second');
    const texts = (await networkMessages(env, CHAT)).map(textOf);
    assert.equal(texts.filter((t) => t === 'SEC-RETRY second').length, 1);
    assert.equal(texts.filter((t) => t === 'SEC-RETRY first').length, 0);
  });

  it('processes a reused transaction id that carries new events (Synapse renumbers after a restart)', async () => {
    const id = 'reused-id';
    const put = async (body: unknown) => {
      const res = await call('PUT', txnPath(id), { token: hsToken, body: JSON.stringify(body) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    };
    const first = { events: [event('SEC-REUSE first')] };
    const second = { events: [event('SEC-REUSE second')] };
    await put(first);
    await put(second);
    await put(second); // a true retry: same id, same events
    await waitForNetworkMessage(env, CHAT, (m) => textOf(m) === 'SEC-REUSE second');
    await me.sendText(room, 'SEC-REUSE sentinel');
    await waitForNetworkMessage(env, CHAT, (m) => textOf(m) === 'SEC-REUSE sentinel');
    const texts = (await networkMessages(env, CHAT)).map(textOf);
    assert.deepEqual(texts.filter((t) => t.startsWith('SEC-REUSE')), ['SEC-REUSE first', 'SEC-REUSE second', 'SEC-REUSE sentinel']);
  });

  it(`refuses a body over appservice.max_body_bytes (${MAX_BODY}) with 413 M_TOO_LARGE`, async () => {
    const big = JSON.stringify({ events: [event(`SEC-BIG ${'x'.repeat(MAX_BODY)}`)] });
    const res = await call('PUT', txnPath('too-large'), { token: hsToken, body: big });
    assert.equal(res.status, 413);
    assert.equal(res.body.errcode, 'M_TOO_LARGE');

    // Without Content-Length (chunked), the cap applies while reading.
    const chunked = await new Promise<Reply>((done, fail) => {
      const req = request(`${base}${txnPath('too-large-chunked')}`, {
        method: 'PUT', headers: { Authorization: `Bearer ${hsToken}`, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
      }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString('utf8')));
        res.on('end', () => done({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      });
      req.on('error', fail);
      for (let i = 0; i < big.length; i += 8192) req.write(big.slice(i, i + 8192));
      req.end();
    });
    assert.equal(chunked.status, 413);
    assert.equal(chunked.body.errcode, 'M_TOO_LARGE');
    assert.deepEqual((await networkMessages(env, CHAT)).filter((m) => textOf(m).startsWith('SEC-BIG')), []);
  });

  it('answers unknown appservice paths with 404 M_UNRECOGNIZED', async () => {
    for (const path of ['/_matrix/app/v1/nonsense', '/_matrix/app/v2/transactions/x', '/_matrix/app/v1/transactions/x/extra', '/_matrix/app/']) {
      const res = await call('PUT', path, { token: hsToken, body: '{}' });
      assert.equal(res.status, 404, path);
      assert.equal(res.body.errcode, 'M_UNRECOGNIZED', path);
    }
  });

  it('answers /_matrix/app/v1/ping with the token and /_matrix/mau/live with 200', async () => {
    const ping = await call('POST', '/_matrix/app/v1/ping', { token: hsToken, body: JSON.stringify({ transaction_id: 'sec-ping' }) });
    assert.equal(ping.status, 200);
    assert.deepEqual(ping.body, {});
    const live = await call('GET', '/_matrix/mau/live');
    assert.equal(live.status, 200);
  });

  it('serves the bridge state only with the hs_token, listing the login as CONNECTED', async () => {
    const none = await call('GET', '/_tributary/v1/bridge_state');
    assert.equal(none.status, 401);
    assert.equal(none.body.errcode, 'M_UNAUTHORIZED');
    const wrong = await call('GET', '/_tributary/v1/bridge_state', { token: 'nope' });
    assert.equal(wrong.status, 403);
    // This stack leaves provisioning.shared_secret at "generate": that placeholder opens nothing.
    const placeholder = await call('GET', '/_tributary/v1/bridge_state', { token: 'generate' });
    assert.equal(placeholder.status, 403);
    const query = await call('GET', `/_tributary/v1/bridge_state?access_token=${encodeURIComponent(hsToken)}`);
    assert.equal(query.status, 401);
    const ok = await call('GET', '/_tributary/v1/bridge_state', { token: hsToken });
    assert.equal(ok.status, 200);
    const logins = ok.body.logins as Record<string, { state_event: string; user_id: string }>;
    assert.equal(logins.me?.state_event, 'CONNECTED');
    assert.equal(logins.me?.user_id, me.userId);
  });
});
