/**
 * The real MetaClient against the Meta emulator, backed by an in-process sandbox network
 * (seed "demo": me +15550000000, alice ..01, bob ..02, carol ..03, group g:1, DMs with alice and bob).
 * Client and emulator log at trace level into `logs`, so tests can check what reaches a log.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startSandboxServer, type SandboxServer } from '../../bridges/sandbox/src/server/index.js';
import { startMetaEmulator, type MetaEmulator } from '../../bridges/meta/src/emulator/server.js';
import { MetaCookies, type MetaPlatform } from '../../bridges/meta/src/cookies.js';
import { MetaClient, type MetaClientOptions } from '../../bridges/meta/src/client/meta-client.js';
import type { MetaEvent } from '../../bridges/meta/src/client/events.js';

export const USER = { me: '15550000000', alice: '15550000001', bob: '15550000002', carol: '15550000003' } as const;
export const GROUP_1 = '1000000000000001';

export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export class MetaEnv {
  server!: SandboxServer;
  emulator!: MetaEmulator;
  logs = '';
  /** Added to the emulator's clock (edit-window tests). */
  clockOffsetMs = 0;
  readonly clients: MetaClient[] = [];
  readonly log = pino({ level: 'trace' }, new Writable({ write: (chunk: Buffer, _enc, cb) => { this.logs += chunk.toString(); cb(); } }));

  constructor(readonly platform: MetaPlatform = 'messenger') {}

  async start(): Promise<void> {
    this.server = await startSandboxServer({ port: 0, seed: 'demo' });
    this.emulator = await startMetaEmulator({
      flavour: this.platform, sandboxUrl: this.server.url, log: this.log.child({ module: 'emulator' }), now: () => Date.now() + this.clockOffsetMs,
    });
  }

  async stop(): Promise<void> {
    for (const c of this.clients) await c.disconnect();
    await this.emulator.close();
    await this.server.close();
  }

  async control<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.server.url}/control${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async token(account = 'me'): Promise<string> {
    return (await this.control<{ token: string }>('GET', `/accounts/${account}`)).token;
  }

  async cookies(account = 'me'): Promise<MetaCookies> {
    const token = await this.token(account);
    const id = USER[account as keyof typeof USER];
    const header = this.platform === 'messenger'
      ? `xs=${token}; c_user=${id}; datr=datr-value-123`
      : `sessionid=${token}; ds_user_id=${id}; csrftoken=csrf-value-123; mid=mid-value; ig_did=did-value`;
    return MetaCookies.load(header, this.platform);
  }

  client(cookies: MetaCookies, opts: Partial<MetaClientOptions> = {}): MetaClient {
    const client = new MetaClient({
      platform: this.platform, cookies, endpoints: { web: this.emulator.url, gateway: this.emulator.gatewayUrl },
      log: this.log.child({ module: 'meta-client' }), reconnect: { minMs: 20, maxMs: 100 },
      rateLimit: { capacity: 1000, refillPerSecond: 1000 }, ...opts,
    });
    this.clients.push(client);
    return client;
  }

  /** A connected client for `me`, with every event it emits collected. */
  async connected(opts: Partial<MetaClientOptions> = {}): Promise<{ client: MetaClient; events: MetaEvent[] }> {
    const client = this.client(await this.cookies(), opts);
    const events: MetaEvent[] = [];
    client.on('event', (e) => events.push(e));
    await client.connect();
    return { client, events };
  }
}
