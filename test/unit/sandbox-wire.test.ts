import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import { startSandboxServer, type SandboxServer } from '../../bridges/sandbox/src/server/server.js';
import { SandboxClient, SandboxClientError } from '../../bridges/sandbox/src/client/index.js';
import type { WireEvent } from '../../bridges/sandbox/src/wire.js';

const text = (t: string) => ({ kind: 'text' as const, text: t, entities: [] });
const fast = { minMs: 5, maxMs: 40 };

/** Collects a client's events; `until` resolves once the predicate holds (or fails after 5 s). */
function collect(client: SandboxClient) {
  const got: Array<{ event: WireEvent; seq: number }> = [];
  client.on('event', (event, seq) => got.push({ event, seq }));
  const until = async (pred: () => boolean, what = 'condition'): Promise<void> => {
    const deadline = Date.now() + 5_000;
    while (!pred()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const messages = () => got.filter((g) => g.event.type === 'message').map((g) => g.event.type === 'message' ? g.event.message : undefined);
  return { got, until, messages };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof SandboxClientError && err.code === code);
}

describe('sandbox wire protocol', () => {
  let server: SandboxServer;
  const clients: SandboxClient[] = [];
  const client = (account: string, extra: Partial<ConstructorParameters<typeof SandboxClient>[0]> = {}) => {
    const c = new SandboxClient({ url: server.url, token: server.network.account(account).token, reconnect: fast, ...extra });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    server = await startSandboxServer({ eventLogLimit: 20, authTimeoutMs: 200 });
    for (const id of ['me', 'alice', 'bob']) server.network.createAccount({ id, name: id.toUpperCase() });
    server.network.createDm('alice', 'me');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
  });

  it('refuses bad tokens, garbage first frames and silence with close code 4001', async () => {
    await rejectsWith(new SandboxClient({ url: server.url, token: 'nope', reconnect: fast }).connect(), 'unauthorized');

    const garbage = new WebSocket(`${server.url.replace('http', 'ws')}/wire`);
    await once(garbage, 'open');
    garbage.send('{"op":"hello"}');
    const [code1] = (await once(garbage, 'close')) as [number];
    assert.equal(code1, 4001);

    const silent = new WebSocket(`${server.url.replace('http', 'ws')}/wire`);
    const [code2] = (await once(silent, 'close')) as [number];
    assert.equal(code2, 4001);
  });

  it('accepts a first-frame auth with an id, answering with a response and ready', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/wire`);
    await once(ws, 'open');
    const frames: unknown[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    ws.send(JSON.stringify({ op: 'auth', token: server.network.account('me').token, id: 'a1' }));
    while (frames.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.equal((frames[0] as { id: string; ok: boolean }).id, 'a1');
    assert.equal((frames[1] as { ready: { account: { id: string } } }).ready.account.id, 'me');
    ws.send('not json');
    const [code] = (await once(ws, 'close')) as [number];
    assert.equal(code, 4003);
  });

  it('delivers messages between accounts, echoes them as self, and reports delivery', async () => {
    const me = client('me');
    const alice = client('alice');
    const meLog = collect(me);
    const aliceLog = collect(alice);
    const ready = await me.connect();
    assert.equal(ready.account.id, 'me');
    await alice.connect();
    const sent = await me.send('dm:alice:me', text('hello alice'));
    await aliceLog.until(() => aliceLog.messages().length === 1, 'alice gets the message');
    await meLog.until(() => meLog.got.some((g) => g.event.type === 'delivered'), 'delivery receipt');
    const echo = meLog.got.find((g) => g.event.type === 'message')?.event;
    assert.equal(echo?.self, true);
    const received = aliceLog.got.find((g) => g.event.type === 'message')?.event;
    assert.equal(received?.self, false);
    assert.deepEqual(aliceLog.messages()[0], { ...sent, delivered_to: [] });
    assert.deepEqual(server.network.message(sent.id).delivered_to, ['alice']);
  });

  it('deduplicates retried sends by client_txn_id', async () => {
    const me = client('me');
    const alice = client('alice');
    const aliceLog = collect(alice);
    await me.connect();
    await alice.connect();
    const a = await me.send('dm:alice:me', text('once'), { clientTxnId: 'txn-1' });
    const b = await me.send('dm:alice:me', text('once'), { clientTxnId: 'txn-1' });
    assert.equal(b.id, a.id);
    await me.send('dm:alice:me', text('marker'));
    await aliceLog.until(() => aliceLog.messages().length === 2, 'marker');
    assert.deepEqual(aliceLog.messages().map((m) => m?.content.kind === 'text' && m.content.text), ['once', 'marker']);
  });

  it('answers bad requests with error codes and keeps the connection', async () => {
    const me = client('me');
    await me.connect();
    await rejectsWith(me.getChat('g:404'), 'not_found');
    await rejectsWith(me.request('send', { chat: 'dm:alice:me', content: { kind: 'text' } as never, client_txn_id: 'x' }), 'bad_request');
    await rejectsWith(me.request('nope' as never, {} as never), 'bad_request');
    await rejectsWith(me.edit('dm:alice:me/99', text('x')), 'not_found');
    assert.equal((await me.getSelf()).id, 'me');
    assert.deepEqual((await me.getContacts()).map((c) => c.id).sort(), ['alice', 'bob']);
    assert.equal((await me.resolveIdentifier(server.network.account('bob').phone)).id, 'bob');
  });

  it('replays missed events in order after reconnecting with since', async () => {
    const alice = client('alice');
    const log1 = collect(alice);
    await alice.connect();
    server.network.send('me', 'dm:alice:me', text('m1'));
    await log1.until(() => log1.messages().length === 1, 'm1');
    const since = alice.lastSeq;
    await alice.close();
    for (const t of ['m2', 'm3', 'm4']) server.network.send('me', 'dm:alice:me', text(t));

    const again = client('alice', { since });
    const log2 = collect(again);
    const connected = once(again, 'connected');
    const ready = await again.connect();
    assert.equal(ready.replayed, 3);
    assert.equal(((await connected)[0] as { resumed: boolean }).resumed, true);
    await log2.until(() => log2.messages().length === 3, 'replay');
    assert.deepEqual(log2.messages().map((m) => m?.content.kind === 'text' && m.content.text), ['m2', 'm3', 'm4']);
    assert.deepEqual(log2.got.map((g) => g.seq), [since! + 1, since! + 2, since! + 3]);
  });

  it('asks for a resync when since is older than the kept log', async () => {
    for (let i = 0; i < 40; i++) server.network.send('me', 'dm:alice:me', text(`n${i}`));
    const alice = client('alice', { since: 1 });
    const resync = once(alice, 'resync_required');
    const ready = await alice.connect();
    assert.equal(ready.resync_required, true);
    assert.equal(((await resync)[0] as { headSeq: number }).headSeq, server.network.headSeq('alice'));
    assert.equal(alice.lastSeq, server.network.headSeq('alice'));
    const page = await alice.getMessages('dm:alice:me', { limit: 500 });
    assert.equal(page.messages.length, 40);
  });

  it('reconnects after a control-API disconnect (with refusal) and loses no event', async () => {
    const alice = client('alice');
    const log = collect(alice);
    const disconnects: Array<{ willReconnect: boolean }> = [];
    alice.on('disconnected', (d) => disconnects.push(d));
    let connects = 0;
    alice.on('connected', () => connects++);
    await alice.connect();
    server.network.send('me', 'dm:alice:me', text('before'));
    const res = await fetch(`${server.url}/control/accounts/alice/disconnect`, { method: 'POST', body: JSON.stringify({ refuse_ms: 150 }) });
    assert.deepEqual(await res.json(), { dropped: 1 });
    for (let i = 0; i < 5; i++) server.network.send('me', 'dm:alice:me', text(`during${i}`));
    await log.until(() => log.messages().length === 6, 'all six messages');
    assert.ok(disconnects.length >= 1 && disconnects.every((d) => d.willReconnect));
    assert.ok(connects >= 2);
    assert.deepEqual(log.messages().map((m) => m?.content.kind === 'text' && m.content.text), ['before', 'during0', 'during1', 'during2', 'during3', 'during4']);
    const seqs = log.got.map((g) => g.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in order');
    assert.equal(new Set(seqs).size, seqs.length, 'no duplicates');
  });

  it('with autoAck off, unacknowledged events come back after a reconnect', async () => {
    const alice = client('alice', { autoAck: false, since: server.network.headSeq('alice') });
    const log = collect(alice);
    await alice.connect();
    server.network.send('me', 'dm:alice:me', text('a'));
    server.network.send('me', 'dm:alice:me', text('b'));
    await log.until(() => log.messages().length === 2, 'two messages');
    alice.ack(log.got[0]!.seq);
    await new Promise((r) => setTimeout(r, 20));
    server.wire.disconnect('alice');
    await log.until(() => log.messages().length === 3, 'b replayed');
    assert.deepEqual(log.messages().map((m) => m?.content.kind === 'text' && m.content.text), ['a', 'b', 'b']);
  });

  it('carries typing, reactions, edits, deletes, group changes and presence as events', async () => {
    const me = client('me');
    const alice = client('alice');
    const log = collect(alice);
    await me.connect();
    await alice.connect();
    const m = await me.send('dm:alice:me', text('hi'));
    await me.typing('dm:alice:me', true);
    await me.react(m.id, '👍');
    await me.edit(m.id, text('hi!'));
    await me.markRead('dm:alice:me', m.id);
    await me.delete(m.id);
    const g = await me.createGroup('Team', ['alice']);
    await me.setChatTopic(g.id, 'plans');
    await me.invite(g.id, 'bob');
    await me.setPresence(true);
    await log.until(() => log.got.some((e) => e.event.type === 'presence'), 'presence');
    assert.deepEqual(log.got.map((e) => e.event.type), [
      'message', 'typing', 'reaction', 'edit', 'read', 'delete', 'chat_created', 'chat_updated', 'members_changed', 'presence',
    ]);
  });

  it('logout voids the token and closes with 4002', async () => {
    const me = client('me');
    const token = me.token!;
    const loggedOut = once(me, 'logged_out');
    const closed = once(me, 'disconnected');
    await me.connect();
    await me.logout();
    await loggedOut;
    const [info] = (await closed) as [{ code: number; willReconnect: boolean }];
    assert.deepEqual([info.code, info.willReconnect], [4002, false]);
    await rejectsWith(new SandboxClient({ url: server.url, token, reconnect: fast }).connect(), 'unauthorized');
  });

  it('rejects requests with timeout and not_connected', async () => {
    const silent = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    silent.on('connection', (ws) => ws.send(JSON.stringify({ ready: { account: { id: 'x', name: 'x', phone: '+15550000009', avatar: null, presence: { online: false, last_seen: null } }, head_seq: 0, resync_required: false, replayed: 0 } })));
    await once(silent, 'listening');
    const port = (silent.address() as { port: number }).port;
    const c = new SandboxClient({ url: `http://127.0.0.1:${port}`, token: 't', requestTimeoutMs: 50, reconnect: fast });
    await rejectsWith(c.getSelf(), 'not_connected');
    await c.connect();
    await rejectsWith(c.getSelf(), 'timeout');
    await c.close();
    for (const ws of silent.clients) ws.terminate();
    await new Promise((r) => silent.close(r));
  });
});
