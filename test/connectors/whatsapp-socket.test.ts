/**
 * WAConnection driving the REAL Baileys socket (makeWASocket) against a local WebSocket server on
 * 127.0.0.1. The server never speaks the WhatsApp protocol: it accepts or refuses connections, and
 * closes them, which is all the reconnect logic needs. Closes that only the real server can cause
 * (515 after pairing, 401 logged out) are injected into the socket's own event emitter.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { Boom } from '@hapi/boom';
import makeWASocket, {
  DisconnectReason, initAuthCreds, type AuthenticationState, type SignalDataSet, type SignalDataTypeMap,
  type UserFacingSocketConfig, type WASocket,
} from 'baileys';
import type { BridgeStateUpdate } from '../../shared/src/network/index.js';
import {
  WAConnection, backoffDelay, classifyDisconnect, type WAConnectionOptions,
} from '../../bridges/whatsapp/src/client/connection.js';

const logger = pino({ level: 'silent' });

function memoryAuth(): AuthenticationState {
  const store = new Map<string, unknown>();
  return {
    creds: initAuthCreds(),
    keys: {
      get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
        const out: { [id: string]: SignalDataTypeMap[T] } = {};
        for (const id of ids) {
          const v = store.get(`${type}:${id}`);
          if (v !== undefined) out[id] = v as SignalDataTypeMap[T];
        }
        return out;
      },
      set: async (data: SignalDataSet) => {
        for (const [type, entries] of Object.entries(data)) {
          for (const [id, value] of Object.entries(entries ?? {})) {
            if (value === null) store.delete(`${type}:${id}`);
            else store.set(`${type}:${id}`, value);
          }
        }
      },
    },
  };
}

/** A WebSocket listener on 127.0.0.1 that counts connections and closes (or keeps) each one. */
class LocalWAServer {
  connections = 0;
  mode: 'close' | 'hold' = 'close';
  port = 0;
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly open = new Set<WebSocket>();
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws/chat`;
  }

  async listen(port = 0): Promise<void> {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws) => {
      this.connections++;
      this.open.add(ws);
      ws.on('close', () => this.open.delete(ws));
      ws.on('error', () => undefined);
      if (this.mode === 'close') ws.close();
      this.waiters = this.waiters.filter((w) => {
        if (this.connections >= w.n) w.resolve();
        return this.connections < w.n;
      });
    });
    http.listen(port, '127.0.0.1');
    await once(http, 'listening');
    const addr = http.address();
    assert.ok(addr !== null && typeof addr === 'object');
    this.port = addr.port;
    this.http = http;
    this.wss = wss;
  }

  /** Resolves once `n` connections in total have arrived. */
  waitForConnections(n: number): Promise<void> {
    if (this.connections >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  async close(): Promise<void> {
    for (const ws of this.open) ws.terminate();
    this.open.clear();
    const { http, wss } = this;
    this.http = undefined;
    this.wss = undefined;
    wss?.close();
    if (http) await new Promise<void>((resolve) => http.close(() => resolve()));
  }
}

/** Collects states and wraps makeWASocket so each real socket is kept for injection. */
function harness(server: LocalWAServer, overrides: Partial<WAConnectionOptions> = {}) {
  const sockets: WASocket[] = [];
  const states: BridgeStateUpdate[] = [];
  const stateWaiters: Array<{ pred: (s: BridgeStateUpdate[]) => boolean; resolve: () => void }> = [];
  const makeSocket = (config: UserFacingSocketConfig): WASocket => {
    const sock = makeWASocket({ ...config, connectTimeoutMs: 5_000 });
    sockets.push(sock);
    return sock;
  };
  const conn = new WAConnection({
    auth: memoryAuth(),
    saveCreds: () => undefined,
    makeSocket,
    socketUrl: server.url,
    logger,
    baileysLogLevel: 'silent',
    backoff: { minMs: 10, maxMs: 40 },
    random: () => 0.5,
    ...overrides,
  });
  conn.on('state', (s) => {
    states.push(s);
    for (const w of [...stateWaiters]) {
      if (w.pred(states)) {
        stateWaiters.splice(stateWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const waitStates = (pred: (s: BridgeStateUpdate[]) => boolean): Promise<void> =>
    pred(states) ? Promise.resolve() : new Promise((resolve) => stateWaiters.push({ pred, resolve }));
  return { conn, sockets, states, waitStates };
}

const transient = (s: BridgeStateUpdate[]) => s.filter((x) => x.stateEvent === 'TRANSIENT_DISCONNECT');

/** Lets pending I/O callbacks and zero-delay timers run (ordering, not timing). */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 30));

function closeWith(sock: WASocket, statusCode: number): void {
  sock.ev.emit('connection.update', {
    connection: 'close',
    lastDisconnect: { error: new Boom('injected close', { statusCode }), date: new Date() },
  });
}

describe('whatsapp: backoff and disconnect classification', () => {
  it('backoffDelay doubles up to the cap, scaled by the jitter', () => {
    const opts = { minMs: 100, maxMs: 1_000 };
    assert.deepEqual([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, opts, () => 0.5)), [50, 100, 200, 400, 500, 500]);
    assert.equal(backoffDelay(3, opts, () => 0), 0);
    assert.equal(backoffDelay(3, opts, () => 0.999), 799);
    assert.equal(backoffDelay(1_000, opts, () => 0.5), 500, 'huge attempts stay at the cap');
  });

  it('maps every DisconnectReason to its action and WhatsApp error code', () => {
    const boom = (statusCode: number) => new Boom('x', { statusCode });
    assert.equal(classifyDisconnect(boom(DisconnectReason.restartRequired)).kind, 'restart');
    const table: Array<[number, string, string, string]> = [
      [DisconnectReason.loggedOut, 'logged_out', 'LOGGED_OUT', 'wa-logged-out'],
      [DisconnectReason.connectionReplaced, 'replaced', 'UNKNOWN_ERROR', 'wa-connection-replaced'],
      [DisconnectReason.badSession, 'fatal', 'BAD_CREDENTIALS', 'wa-bad-session'],
      [DisconnectReason.multideviceMismatch, 'fatal', 'BAD_CREDENTIALS', 'wa-multidevice-mismatch'],
      [DisconnectReason.forbidden, 'fatal', 'BAD_CREDENTIALS', 'wa-forbidden'],
      [DisconnectReason.unavailableService, 'reconnect', 'TRANSIENT_DISCONNECT', 'wa-service-unavailable'],
      [DisconnectReason.connectionClosed, 'reconnect', 'TRANSIENT_DISCONNECT', 'wa-connection-lost'],
      [DisconnectReason.connectionLost, 'reconnect', 'TRANSIENT_DISCONNECT', 'wa-connection-lost'],
      [DisconnectReason.timedOut, 'reconnect', 'TRANSIENT_DISCONNECT', 'wa-connection-lost'],
    ];
    for (const [code, kind, stateEvent, error] of table) {
      const action = classifyDisconnect(boom(code));
      assert.equal(action.kind, kind, `status ${code}`);
      assert.ok(action.kind !== 'restart');
      assert.equal(action.state.stateEvent, stateEvent, `status ${code}`);
      assert.equal(action.state.error, error, `status ${code}`);
      assert.ok(action.state.message && action.state.message.length > 10, 'a human message');
    }
    // No error at all, or a plain network error: transient.
    assert.equal(classifyDisconnect(undefined).kind, 'reconnect');
    assert.equal(classifyDisconnect(new Error('ECONNRESET')).kind, 'reconnect');
    // A websocket failure that Baileys tagged 500 is not a bad session.
    const wsFailure = new Boom('WebSocket Error (Invalid WebSocket frame)', { statusCode: 500 });
    assert.equal(classifyDisconnect(wsFailure).kind, 'reconnect');
  });
});

describe('whatsapp: WAConnection over the real Baileys socket (local server)', function () {
  this.timeout(30_000);
  let server: LocalWAServer;
  let conn: WAConnection | undefined;

  beforeEach(async () => {
    server = new LocalWAServer();
    await server.listen();
  });

  afterEach(async () => {
    await conn?.stop();
    conn = undefined;
    await server.close();
  });

  it('reconnects with growing backoff when the server closes every connection', async () => {
    const h = harness(server);
    conn = h.conn;
    const sockets: unknown[] = [];
    conn.on('socket', (s) => sockets.push(s));
    conn.start();
    assert.equal(h.states[0]?.stateEvent, 'CONNECTING');
    await server.waitForConnections(4);
    await h.waitStates((s) => transient(s).length >= 4);
    await conn.stop();
    const drops = transient(h.states);
    assert.ok(drops.every((s) => s.error === 'wa-connection-lost'));
    // random() = 0.5, min 10, max 40: 5, 10, 20, 20 ms; attempts count up.
    assert.deepEqual(drops.slice(0, 4).map((s) => s.info?.retryInMs), [5, 10, 20, 20]);
    assert.deepEqual(drops.slice(0, 4).map((s) => s.info?.attempt), [1, 2, 3, 4]);
    assert.ok(server.connections >= 4);
    assert.equal(sockets.length, h.sockets.length, "each socket was announced with 'socket'");
    assert.ok(h.sockets.length >= 4);
  });

  it('keeps retrying while the server refuses connections and reconnects when it is back', async () => {
    const port = server.port;
    await server.close();
    const h = harness(server, { backoff: { minMs: 5, maxMs: 20 } });
    conn = h.conn;
    conn.start();
    await h.waitStates((s) => transient(s).length >= 3);
    assert.equal(server.connections, 0, 'nothing was listening');
    assert.ok(transient(h.states).every((s) => s.error === 'wa-connection-lost'));
    server.mode = 'hold';
    await server.listen(port);
    await server.waitForConnections(1);
    assert.equal(server.connections, 1);
    assert.ok(h.sockets.length >= 4, 'a new socket per attempt');
  });

  it('restart required (515) makes a new socket at once, without backoff', async () => {
    server.mode = 'hold';
    // A backoff this long would time the test out if the restart waited for it.
    const h = harness(server, { backoff: { minMs: 60_000, maxMs: 60_000 } });
    conn = h.conn;
    conn.start();
    await server.waitForConnections(1);
    const first = h.sockets[0];
    assert.ok(first);
    assert.equal(conn.current(), first);
    closeWith(first, DisconnectReason.restartRequired);
    assert.equal(h.sockets.length, 2, 'the new socket exists before emit returns');
    assert.equal(conn.current(), h.sockets[1]);
    assert.equal(conn.reconnectPending, false);
    assert.equal(transient(h.states).length, 0, 'a restart is not a disconnect');
    await server.waitForConnections(2);
    assert.equal(server.connections, 2);
  });

  it('a 515 loop falls back to backoff after maxImmediateRestarts', async () => {
    server.mode = 'hold';
    const h = harness(server, { maxImmediateRestarts: 1, backoff: { minMs: 60_000, maxMs: 60_000 } });
    conn = h.conn;
    conn.start();
    await server.waitForConnections(1);
    closeWith(h.sockets[0]!, DisconnectReason.restartRequired);
    assert.equal(h.sockets.length, 2, 'the first restart is immediate');
    closeWith(h.sockets[1]!, DisconnectReason.restartRequired);
    assert.equal(h.sockets.length, 2, 'the second waits');
    assert.equal(conn.reconnectPending, true);
    assert.equal(h.states.at(-1)?.stateEvent, 'TRANSIENT_DISCONNECT');
    assert.equal(h.states.at(-1)?.info?.retryInMs, 30_000);
  });

  it("resets the backoff after 'open'", async () => {
    server.mode = 'hold';
    const h = harness(server, { backoff: { minMs: 40, maxMs: 320 } });
    conn = h.conn;
    const opened: unknown[] = [];
    conn.on('open', (s) => opened.push(s));
    conn.start();
    await server.waitForConnections(1);
    closeWith(h.sockets[0]!, DisconnectReason.connectionLost);
    assert.equal(conn.reconnectPending, true);
    assert.equal(h.states.at(-1)?.info?.retryInMs, 20);
    await server.waitForConnections(2);
    // Second failure without an 'open' in between: the delay doubles.
    closeWith(h.sockets[1]!, DisconnectReason.unavailableService);
    assert.equal(h.states.at(-1)?.error, 'wa-service-unavailable');
    assert.equal(h.states.at(-1)?.info?.retryInMs, 40);
    await server.waitForConnections(3);
    const third = h.sockets[2]!;
    third.ev.emit('connection.update', { connection: 'open' });
    assert.equal(h.states.at(-1)?.stateEvent, 'CONNECTED');
    assert.deepEqual(opened, [third]);
    closeWith(third, DisconnectReason.connectionClosed);
    assert.equal(h.states.at(-1)?.info?.retryInMs, 20, 'back to the first delay');
    assert.equal(h.states.at(-1)?.info?.attempt, 1);
  });

  it('logged out (401) reports LOGGED_OUT and never reconnects', async () => {
    server.mode = 'hold';
    const h = harness(server, { random: () => 0 });
    conn = h.conn;
    const loggedOut: BridgeStateUpdate[] = [];
    conn.on('logged_out', (s) => loggedOut.push(s));
    conn.start();
    await server.waitForConnections(1);
    closeWith(h.sockets[0]!, DisconnectReason.loggedOut);
    assert.equal(h.states.at(-1)?.stateEvent, 'LOGGED_OUT');
    assert.equal(h.states.at(-1)?.error, 'wa-logged-out');
    assert.equal(loggedOut.length, 1);
    assert.equal(conn.isRunning, false);
    assert.equal(conn.reconnectPending, false);
    assert.equal(conn.current(), undefined);
    await settle();
    assert.equal(h.sockets.length, 1, 'no new socket');
    assert.equal(server.connections, 1, 'no new connection');
  });

  it('connection replaced (440) and bad session (500) stop with their states', async () => {
    server.mode = 'hold';
    const h = harness(server, { random: () => 0 });
    conn = h.conn;
    const replaced: BridgeStateUpdate[] = [];
    const fatal: BridgeStateUpdate[] = [];
    conn.on('replaced', (s) => replaced.push(s));
    conn.on('fatal', (s) => fatal.push(s));
    conn.start();
    await server.waitForConnections(1);
    closeWith(h.sockets[0]!, DisconnectReason.connectionReplaced);
    assert.equal(replaced[0]?.error, 'wa-connection-replaced');
    assert.equal(h.states.at(-1)?.stateEvent, 'UNKNOWN_ERROR');
    assert.equal(conn.isRunning, false);
    conn.start();
    await server.waitForConnections(2);
    closeWith(h.sockets[1]!, DisconnectReason.badSession);
    assert.equal(fatal[0]?.error, 'wa-bad-session');
    assert.equal(h.states.at(-1)?.stateEvent, 'BAD_CREDENTIALS');
    assert.equal(conn.reconnectPending, false);
    await settle();
    assert.equal(h.sockets.length, 2);
  });

  it('saves credentials on creds.update, in order', async () => {
    server.mode = 'hold';
    const saved: string[] = [];
    const h = harness(server, {
      saveCreds: async (u) => {
        await new Promise((r) => setImmediate(r));
        saved.push(String(u.platform));
      },
    });
    conn = h.conn;
    conn.start();
    await server.waitForConnections(1);
    h.sockets[0]!.ev.emit('creds.update', { platform: 'one' });
    h.sockets[0]!.ev.emit('creds.update', { platform: 'two' });
    await conn.stop();
    assert.deepEqual(saved, ['one', 'two'], 'stop() waits for pending saves');
  });

  it('stop() ends the socket and the pending reconnect, leaving no timers', async () => {
    // Only the timers this test's own code (the connection, Baileys under it) creates are counted:
    // counting the whole process would also count timers other suites in this mocha run leave.
    const ours = {};
    const context = new AsyncLocalStorage<object>();
    const live = new Set<number>();
    const hook = createHook({
      init(id, type) {
        if (type === 'Timeout' && context.getStore() === ours) live.add(id);
      },
      destroy(id) {
        live.delete(id);
      },
    }).enable();
    try {
      const h = await context.run(ours, async () => {
        const h = harness(server, { backoff: { minMs: 60_000, maxMs: 60_000 } });
        conn = h.conn;
        conn.start();
        await h.waitStates((s) => transient(s).length >= 1);
        assert.equal(conn.reconnectPending, true);
        assert.ok(live.size > 0, 'the pending reconnect holds a timer (the check below can fail)');
        await conn.stop();
        return h;
      });
      assert.equal(h.conn.reconnectPending, false);
      assert.equal(h.conn.current(), undefined);
      assert.equal(h.conn.isRunning, false);
      await settle();
      // Nothing of the connection (its backoff timer, Baileys' handshake timeout) keeps the process up.
      assert.equal(live.size, 0, 'no timers left behind');
      assert.equal(server.connections, 1);
      assert.equal(h.sockets.length, 1);
    } finally {
      hook.disable();
    }
  });

  it('stop() while connecting ends the live socket', async () => {
    server.mode = 'hold';
    const h = harness(server);
    conn = h.conn;
    conn.start();
    await server.waitForConnections(1);
    const states = h.states.length;
    await conn.stop();
    assert.equal(conn.current(), undefined);
    assert.equal(h.sockets[0]!.ws.isClosed, true, 'the websocket is closed');
    assert.equal(h.states.length, states, 'stopping reports no state of its own');
    await settle();
    assert.equal(server.connections, 1);
  });
});
