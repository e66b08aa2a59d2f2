/**
 * A whole stack for e2e tests: a real Synapse, the sandbox network (in this process), and a
 * bridge as its own process (so it can be killed and restarted), on SQLite or PostgreSQL: the
 * sandbox bridge, the WhatsApp bridge on its emulated socket over the same sandbox network, or the
 * Messenger / Instagram bridge on the Meta emulator (started here) over that network.
 * `TRIBUTARY_E2E_DB=postgres` switches every suite to PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createWriteStream, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { buildRegistration, buildDoublePuppetRegistration, makeConfigSchema, parseConfig, renderRegistrationYaml, generateToken } from '../../shared/src/config/index.js';
import { sandboxConfigSchema } from '../../bridges/sandbox/src/connector/connector.js';
import { startSandboxServer, type SandboxServer } from '../../bridges/sandbox/src/server/index.js';
import { startMetaEmulator, type MetaEmulator } from '../../bridges/meta/src/emulator/server.js';
import { metaConfigSchema } from '../../bridges/meta/src/connector/config.js';
import { startSynapse, type SynapseHandle, type RegisteredUser } from './synapse.js';
import { startPostgres, type TestPostgres } from './postgres.js';
import { freePort } from './ports.js';
import { TestClient } from './matrix-client.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** Which bridge the stack runs: its network id names its directory, bot and ghosts. */
export type BridgeKind = 'sandbox' | 'whatsapp' | 'messenger' | 'instagram';

const isMetaKind = (kind: BridgeKind): kind is 'messenger' | 'instagram' => kind === 'messenger' || kind === 'instagram';

export interface BridgeEnvOptions {
  db?: 'sqlite' | 'postgres';
  /** Default 'sandbox'. */
  bridge?: BridgeKind;
  /** Deep overrides of the bridge config. */
  config?: Record<string, unknown>;
  /** Start the bridge process too (default true); false leaves that to the test (startup checks). */
  startBridge?: boolean;
  /** How often the sandbox rotates QR login codes (default 60 s: no rotation within a test). */
  qrRotateMs?: number;
  /** The sandbox network's clock (default Date.now), to send a message "in the past". */
  sandboxNow?: () => number;
}

export class BridgeEnv {
  bridgeProc: ChildProcess | undefined;
  readonly asPort: number;
  /** The Meta gateway emulator (in this process) of a messenger or instagram stack. */
  metaEmulator: MetaEmulator | undefined;
  private exitWaiters: Array<() => void> = [];

  private constructor(
    readonly dir: string,
    readonly synapse: SynapseHandle,
    readonly sandbox: SandboxServer,
    readonly config: Record<string, unknown> & { appservice: { hs_token: string; as_token: string; port: number } },
    readonly configPath: string,
    private readonly pg: TestPostgres | undefined,
    readonly kind: BridgeKind = 'sandbox',
  ) {
    this.asPort = config.appservice.port;
  }

  static async start(opts: BridgeEnvOptions = {}): Promise<BridgeEnv> {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-e2e-'));
    const kind = opts.bridge ?? 'sandbox';
    const dbType = opts.db ?? (process.env.TRIBUTARY_E2E_DB === 'postgres' ? 'postgres' : 'sqlite');
    const pg = dbType === 'postgres' ? await startPostgres() : undefined;
    const sandbox = await startSandboxServer({ port: 0, seed: 'demo', qrRotateMs: opts.qrRotateMs ?? 60_000, ...(opts.sandboxNow ? { now: opts.sandboxNow } : {}) });
    const asPort = await freePort();
    const metaEmulator = isMetaKind(kind) ? await startMetaEmulator({ flavour: kind, sandboxUrl: sandbox.url }) : undefined;
    const raw = deepMerge({
      homeserver: { address: 'http://127.0.0.1:1', domain: 'localhost' },
      appservice: {
        address: `http://127.0.0.1:${asPort}`, hostname: '127.0.0.1', port: asPort,
        as_token: generateToken(), hs_token: generateToken(),
      },
      data_dir: join(dir, 'data'),
      database: dbType === 'postgres' ? { type: 'postgres', uri: pg!.url } : { type: 'sqlite', uri: 'bridge.db' },
      permissions: { '*': 'relay', localhost: 'user', '@admin:localhost': 'admin' },
      bridge: {
        relay: { enabled: true, admin_only: false }, disappearing_check_interval_seconds: 1,
        double_puppet: { enabled: true, as_token: generateToken() },
      },
      logging: { level: process.env.TRIBUTARY_E2E_LOG ?? 'info' },
      network: kind === 'whatsapp'
        ? { sandbox_url: sandbox.url, reconnect: { min_ms: 50, max_ms: 500 } }
        : metaEmulator
          ? { emulator_url: metaEmulator.url, reconnect: { min_ms: 50, max_ms: 500 }, rate_limit: { burst: 1000, per_second: 1000 } }
          : { url: sandbox.url, reconnect_min_ms: 50, reconnect_max_ms: 500 },
    }, opts.config ?? {});
    // Baileys is loaded only for WhatsApp stacks: under tsx, a test file that imports matrix-js-sdk
    // before a static import chain reaching Baileys evaluates the SDK's entry point twice.
    const schema = kind === 'whatsapp'
      ? makeConfigSchema('whatsapp', (await import('../../bridges/whatsapp/src/connector/connector.js')).whatsappConfigSchema)
      : isMetaKind(kind) ? makeConfigSchema(kind, metaConfigSchema) : makeConfigSchema('sandbox', sandboxConfigSchema);
    const regPath = join(dir, 'registration.yaml');
    const parsed = parseConfig(schema, raw) as never;
    await writeFile(regPath, renderRegistrationYaml(buildRegistration(parsed)));
    const registrationFiles = [regPath];
    if ((parsed as { bridge: { double_puppet: { enabled: boolean } } }).bridge.double_puppet.enabled) {
      const dpPath = join(dir, 'registration-doublepuppet.yaml');
      await writeFile(dpPath, renderRegistrationYaml(buildDoublePuppetRegistration(parsed)));
      registrationFiles.push(dpPath);
    }
    const synapse = await startSynapse({ registrationFiles, dataDir: join(dir, 'synapse') });
    (raw.homeserver as Record<string, unknown>).address = synapse.baseUrl;
    parseConfig(schema, raw); // fail here, not in the child, when the test config is wrong
    const configPath = join(dir, 'config.yaml');
    await writeFile(configPath, stringify(raw));
    const env = new BridgeEnv(dir, synapse, sandbox, raw as never, configPath, pg, kind);
    env.metaEmulator = metaEmulator;
    if (opts.startBridge !== false) await env.startBridge();
    return env;
  }

  /** Starts the bridge process and waits until it is ready. */
  async startBridge(): Promise<void> {
    const log = createWriteStream(join(this.dir, 'bridge.log'), { flags: 'a' });
    const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(ROOT, `bridges/${this.kind}/src/main.ts`), '-c', this.configPath], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TRIBUTARY_LOG_LEVEL: undefined },
    });
    proc.stdout!.pipe(log, { end: false });
    proc.stderr!.pipe(log, { end: false });
    proc.on('exit', () => {
      for (const w of this.exitWaiters.splice(0)) w();
    });
    this.bridgeProc = proc;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`bridge exited with ${proc.exitCode}:\n${this.logTail()}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.asPort}/_matrix/mau/ready`);
        if (res.status === 200) return;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`bridge not ready after 60 s:\n${this.logTail()}`);
      await sleep(150);
    }
  }

  /** Stops the bridge: SIGTERM for a clean stop, SIGKILL to simulate a crash. */
  async stopBridge(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.bridgeProc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.exitWaiters.push(r));
    proc.kill(signal);
    await Promise.race([exited, sleep(15_000).then(() => proc.kill('SIGKILL'))]);
    await exited;
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(join(this.dir, 'bridge.log'), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  get botMxid(): string {
    return `@${this.kind}bot:localhost`;
  }

  ghost(id: string): string {
    return `@${this.kind}_${id}:localhost`;
  }

  /** A Matrix user with a running client. */
  async user(localpart: string): Promise<{ user: RegisteredUser; client: TestClient }> {
    const user = await this.synapse.registerUser(localpart);
    const client = await TestClient.start(this.synapse.baseUrl, user.userId, user.accessToken, user.deviceId);
    return { user, client };
  }

  /** Sandbox control API call. */
  async control<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.sandbox.url}/control${path}`, {
      method, headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`control ${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async stop(): Promise<void> {
    await this.stopBridge('SIGTERM').catch(() => undefined);
    await this.synapse.stop().catch(() => undefined);
    await this.metaEmulator?.close().catch(() => undefined);
    await this.sandbox.close().catch(() => undefined);
    await this.pg?.stop().catch(() => undefined);
    if (!process.env.TRIBUTARY_KEEP_E2E) await rm(this.dir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `fn` returns a truthy value; the error names what was awaited. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    await sleep(100);
  }
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)
      ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
