/**
 * The benchmark stack: one real Synapse, the sandbox network in this process, the sandbox bridge
 * as its own process (default config, SQLite), and the raw appservice (raw-appservice.ts) as a
 * second process, registered with the same Synapse so both paths share one homeserver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  buildDoublePuppetRegistration, buildRegistration, generateToken, makeConfigSchema, parseConfig, renderRegistrationYaml,
} from '../../shared/src/config/index.js';
import { sandboxConfigSchema } from '../../bridges/sandbox/src/connector/connector.js';
import { startSandboxServer, type SandboxServer } from '../../bridges/sandbox/src/server/index.js';
import { startSynapse, type RegisteredUser, type SynapseHandle } from '../helpers/synapse.js';
import { freePort } from '../helpers/ports.js';
import { BridgeProcess, ROOT } from './bridge-process.js';

export interface RawAppservice {
  port: number;
  hsToken: string;
  controlToken: string;
  proc: ChildProcess;
}

export interface BenchStack {
  dir: string;
  synapse: SynapseHandle;
  sandbox: SandboxServer;
  bridge: BridgeProcess;
  raw: RawAppservice;
  configPath: string;
  config: { appservice: { as_token: string; hs_token: string; port: number }; data_dir: string };
  asToken: string;
  hsToken: string;
  asPort: number;
  person: RegisteredUser;
  botMxid: string;
  ghost(account: string): string;
}

export interface StackOptions {
  cpuProfDir?: string;
  /** Bridge config overrides by dotted path (`bridge.message_status_events`). */
  set?: Record<string, unknown>;
  /** More node options for the bridge process (diagnostics). */
  bridgeNodeArgs?: string[];
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
  cur[keys.at(-1)!] = value;
}

export function bridgeConfigFor(dir: string, sandboxUrl: string, asPort: number, tokens: { as: string; hs: string; dp: string }, homeserver = 'http://127.0.0.1:1'): Record<string, unknown> {
  return {
    homeserver: { address: homeserver, domain: 'localhost' },
    appservice: { address: `http://127.0.0.1:${asPort}`, hostname: '127.0.0.1', port: asPort, as_token: tokens.as, hs_token: tokens.hs },
    data_dir: join(dir, 'data'),
    database: { type: 'sqlite', uri: 'bridge.db' },
    permissions: { '*': 'relay', localhost: 'user' },
    bridge: { double_puppet: { enabled: true, as_token: tokens.dp } },
    network: { url: sandboxUrl, reconnect_min_ms: 50, reconnect_max_ms: 500 },
  };
}

async function startRawAppservice(dir: string, port: number, hsToken: string, sandboxUrl: string): Promise<RawAppservice> {
  const controlToken = randomBytes(16).toString('hex');
  const log = openSync(join(dir, 'raw-appservice.log'), 'a');
  const env: NodeJS.ProcessEnv = {
    ...process.env, BENCH_RAW_PORT: String(port), BENCH_RAW_HS_TOKEN: hsToken, BENCH_RAW_CONTROL_TOKEN: controlToken, BENCH_SANDBOX_URL: sandboxUrl,
  };
  delete env.NODE_OPTIONS;
  const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(ROOT, 'test/bench/raw-appservice.ts')], {
    cwd: ROOT, stdio: ['ignore', 'pipe', log], env,
  });
  closeSync(log);
  process.on('exit', () => proc.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('"listening"')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`raw appservice exited with ${code}; see ${join(dir, 'raw-appservice.log')}`)));
  });
  return { port, hsToken, controlToken, proc };
}

/** Tells the raw appservice which rooms to forward to which chats, as which network account. */
export async function rawForward(stack: BenchStack, account: string, rooms: Record<string, string>): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${stack.raw.port}/_bench/forward`, {
    method: 'POST', headers: { Authorization: `Bearer ${stack.raw.controlToken}` },
    body: JSON.stringify({ account, password: 'sandbox', rooms }),
  });
  if (!res.ok) throw new Error(`raw appservice forward: ${res.status} ${await res.text()}`);
}

export async function startStack(opts: StackOptions = {}): Promise<BenchStack> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-'));
  const sandbox = await startSandboxServer({ port: 0, seed: 'demo' });
  const asPort = await freePort();
  const rawPort = await freePort();
  const tokens = { as: generateToken(), hs: generateToken(), dp: generateToken() };
  const raw = bridgeConfigFor(dir, sandbox.url, asPort, tokens);
  for (const [path, value] of Object.entries(opts.set ?? {})) setPath(raw, path, value);
  const schema = makeConfigSchema('sandbox', sandboxConfigSchema);
  const parsed = parseConfig(schema, raw) as never;
  const files = {
    bridge: join(dir, 'registration.yaml'), dp: join(dir, 'registration-doublepuppet.yaml'), raw: join(dir, 'registration-raw.yaml'),
  };
  await writeFile(files.bridge, renderRegistrationYaml(buildRegistration(parsed)));
  await writeFile(files.dp, renderRegistrationYaml(buildDoublePuppetRegistration(parsed)));
  const rawHsToken = generateToken();
  await writeFile(files.raw, stringify({
    id: 'benchraw', url: `http://127.0.0.1:${rawPort}`, as_token: generateToken(), hs_token: rawHsToken,
    sender_localpart: 'benchraw', rate_limited: false,
    // The bridge registration's flags too, so Synapse builds both paths' transactions alike.
    receive_ephemeral: true, 'de.sorunome.msc2409.push_ephemeral': true, 'org.matrix.msc3202': true,
    namespaces: { users: [], aliases: [], rooms: [{ regex: '!.*', exclusive: false }] },
  }));
  const synapse = await startSynapse({ registrationFiles: Object.values(files), dataDir: join(dir, 'synapse') });
  (raw.homeserver as Record<string, unknown>).address = synapse.baseUrl;
  parseConfig(schema, raw);
  const configPath = join(dir, 'config.yaml');
  await writeFile(configPath, stringify(raw));
  const rawAs = await startRawAppservice(dir, rawPort, rawHsToken, sandbox.url);
  const bridge = new BridgeProcess({ configPath, asPort, logFile: join(dir, 'bridge.log'), cpuProfDir: opts.cpuProfDir, nodeArgs: opts.bridgeNodeArgs });
  await bridge.start();
  const person = await synapse.registerUser('person');
  return {
    dir, synapse, sandbox, bridge, raw: rawAs, configPath, config: raw as BenchStack['config'],
    asToken: tokens.as, hsToken: tokens.hs, asPort, person, botMxid: '@sandboxbot:localhost',
    ghost: (account) => `@sandbox_${account}:localhost`,
  };
}

export async function stopStack(stack: BenchStack, keep = false): Promise<void> {
  await stack.bridge.stop().catch(() => undefined);
  stack.raw.proc.kill('SIGTERM');
  await stack.synapse.stop().catch(() => undefined);
  await stack.sandbox.close().catch(() => undefined);
  if (!keep) await rm(stack.dir, { recursive: true, force: true });
}
