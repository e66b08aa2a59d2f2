/**
 * A real Synapse for e2e tests: started from the cached virtualenv that
 * scripts/ensure-synapse.sh creates, on a free loopback port, with SQLite and a
 * homeserver.yaml generated here. Users are created through the shared-secret
 * admin registration API.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { freePort } from './ports.js';

const execFileAsync = promisify(execFile);

export interface SynapseOptions {
  /** Appservice registration files (app_service_config_files). */
  registrationFiles?: string[];
  /** Where config, database, media and logs live; a fresh temp dir (removed on stop) by default. */
  dataDir?: string;
  /** Default 'localhost'. */
  serverName?: string;
  /** Default: a free port on 127.0.0.1. */
  port?: number;
  /** Deep-merged into the generated homeserver.yaml (plain objects merge, everything else replaces). */
  extra?: Record<string, unknown>;
}

export interface RegisteredUser {
  userId: string;
  accessToken: string;
  deviceId: string;
  password: string;
}

export interface SynapseHandle {
  baseUrl: string;
  serverName: string;
  port: number;
  version: string;
  dataDir: string;
  sharedSecret: string;
  registerUser(localpart: string, password?: string, admin?: boolean): Promise<RegisteredUser>;
  /** SIGTERM the process group, SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** Stop and start again on the same port with the same data. */
  restart(): Promise<void>;
  /** Start again after stop() (same port; keeps data only when `dataDir` was given). */
  start(): Promise<void>;
}

const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 10_000;
/** Generous enough that no test ever meets a rate limit. */
const UNLIMITED = { per_second: 100_000, burst_count: 1_000_000 };

export function synapseVenvDir(): string {
  const cache = process.env['TRIBUTARY_CACHE'] ?? join(homedir(), '.cache', 'tributary');
  return join(cache, 'synapse-venv');
}

/** The virtualenv's python; throws with the fix when the venv is missing. */
export function synapseVenvPython(): string {
  const python = join(synapseVenvDir(), 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(
      `Synapse virtualenv not found at ${synapseVenvDir()}: run \`bash scripts/ensure-synapse.sh\` first`,
    );
  }
  return python;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function logConfig(dataDir: string): Record<string, unknown> {
  return {
    version: 1,
    formatters: {
      precise: { format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s' },
    },
    handlers: {
      file: { class: 'logging.FileHandler', formatter: 'precise', filename: join(dataDir, 'homeserver.log') },
    },
    loggers: {
      // Transaction pushes to bridges are what e2e failures usually need.
      'synapse.appservice': { level: 'INFO' },
      'synapse.storage.SQL': { level: 'WARNING' },
    },
    root: { level: 'WARNING', handlers: ['file'] },
    disable_existing_loggers: false,
  };
}

function homeserverConfig(p: {
  dataDir: string;
  serverName: string;
  port: number;
  sharedSecret: string;
  registrationFiles: string[];
}): Record<string, unknown> {
  const baseUrl = `http://127.0.0.1:${p.port}`;
  return {
    server_name: p.serverName,
    public_baseurl: `${baseUrl}/`,
    pid_file: join(p.dataDir, 'homeserver.pid'),
    listeners: [
      {
        port: p.port,
        bind_addresses: ['127.0.0.1'],
        type: 'http',
        tls: false,
        x_forwarded: false,
        // openid: /_matrix/federation/v1/openid/userinfo, which the provisioning API checks OpenID tokens with.
        resources: [{ names: ['client', 'openid'], compress: false }],
      },
    ],
    database: { name: 'sqlite3', args: { database: join(p.dataDir, 'homeserver.db') } },
    log_config: join(p.dataDir, 'log.config.yaml'),
    media_store_path: join(p.dataDir, 'media_store'),
    signing_key_path: join(p.dataDir, 'signing.key'),
    registration_shared_secret: p.sharedSecret,
    macaroon_secret_key: randomBytes(24).toString('hex'),
    form_secret: randomBytes(24).toString('hex'),
    enable_registration: false,
    report_stats: false,
    enable_metrics: false,
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    max_upload_size: '50M',
    url_preview_enabled: false,
    app_service_config_files: p.registrationFiles,
    use_appservice_legacy_authorization: false,
    experimental_features: {
      msc2409_to_device_messages_enabled: true,
      msc3202_transaction_extensions: true,
    },
    // Every rc_* key Synapse 1.163 reads (synapse/config/ratelimiting.py), except
    // rc_federation: there is no federation listener here.
    rc_message: UNLIMITED,
    rc_registration: UNLIMITED,
    rc_registration_token_validity: UNLIMITED,
    rc_login: { address: UNLIMITED, account: UNLIMITED, failed_attempts: UNLIMITED },
    rc_admin_redaction: UNLIMITED,
    rc_joins: { local: UNLIMITED, remote: UNLIMITED },
    rc_joins_per_room: UNLIMITED,
    rc_key_requests: UNLIMITED,
    rc_3pid_validation: UNLIMITED,
    rc_invites: { per_room: UNLIMITED, per_user: UNLIMITED, per_issuer: UNLIMITED },
    rc_third_party_invite: UNLIMITED,
    rc_media_create: UNLIMITED,
    rc_presence: { per_user: UNLIMITED },
    rc_delayed_event_mgmt: UNLIMITED,
    rc_room_creation: UNLIMITED,
    rc_reports: UNLIMITED,
    rc_user_directory: UNLIMITED,
    rc_profile: UNLIMITED,
  };
}

async function tail(file: string, lines: number): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no file)';
  }
}

async function logTails(dataDir: string): Promise<string> {
  return (
    `--- ${join(dataDir, 'console.log')} (tail) ---\n${await tail(join(dataDir, 'console.log'), 30)}\n` +
    `--- ${join(dataDir, 'homeserver.log')} (tail) ---\n${await tail(join(dataDir, 'homeserver.log'), 30)}`
  );
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Mac for the shared-secret registration API: HMAC-SHA1 of nonce\0user\0password\0admin|notadmin. */
export function registrationMac(secret: string, nonce: string, user: string, password: string, admin: boolean): string {
  return createHmac('sha1', secret)
    .update([nonce, user, password, admin ? 'admin' : 'notadmin'].join('\0'), 'utf8')
    .digest('hex');
}

/**
 * Register through /_synapse/admin/v1/register with the given shared secret.
 * Throws an Error carrying `status` and `errcode` when Synapse refuses.
 */
export async function sharedSecretRegister(
  baseUrl: string,
  secret: string,
  localpart: string,
  password: string,
  admin = false,
): Promise<Omit<RegisteredUser, 'password'>> {
  const url = `${baseUrl}/_synapse/admin/v1/register`;
  const nonceRes = await fetch(url);
  if (!nonceRes.ok) throw new Error(`GET ${url}: HTTP ${nonceRes.status} ${await nonceRes.text()}`);
  const { nonce } = (await nonceRes.json()) as { nonce: string };
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      nonce,
      username: localpart,
      password,
      admin,
      mac: registrationMac(secret, nonce, localpart, password, admin),
    }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) {
    const err = new Error(
      `registering ${localpart} failed: HTTP ${res.status} ${String(body['errcode'])} ${String(body['error'])}`,
    ) as Error & { status?: number; errcode?: unknown };
    err.status = res.status;
    err.errcode = body['errcode'];
    throw err;
  }
  return {
    userId: String(body['user_id']),
    accessToken: String(body['access_token']),
    deviceId: String(body['device_id']),
  };
}

class SynapseProcess implements SynapseHandle {
  readonly baseUrl: string;
  version = '';
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly killOnExit = () => this.killGroup('SIGKILL');

  constructor(
    readonly serverName: string,
    readonly port: number,
    readonly dataDir: string,
    readonly sharedSecret: string,
    private readonly python: string,
    private readonly removeDataDirOnStop: boolean,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('Synapse is already running');
    // Synapse's stdout/stderr go to a file, not a pipe: nothing to drain, and the
    // output survives for the error message when it dies during start-up.
    const out = openSync(join(this.dataDir, 'console.log'), 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        this.python,
        ['-I', '-m', 'synapse.app.homeserver', '-c', join(this.dataDir, 'homeserver.yaml')],
        // Own process group, so stop() signals Synapse and anything it forks.
        { cwd: this.dataDir, detached: true, stdio: ['ignore', out, out] },
      );
    } finally {
      closeSync(out);
    }
    this.child = child;
    let exitInfo: string | undefined;
    this.exited = new Promise<void>((resolveExit) => {
      child.once('exit', (code, signal) => {
        exitInfo = `exit code ${code}, signal ${signal}`;
        if (this.child === child) this.child = undefined;
        process.off('exit', this.killOnExit);
        resolveExit();
      });
      child.once('error', (err) => {
        exitInfo = `spawn error: ${err.message}`;
        if (this.child === child) this.child = undefined;
        process.off('exit', this.killOnExit);
        resolveExit();
      });
    });
    // Never leave an orphan Synapse behind when the test process dies abruptly.
    process.on('exit', this.killOnExit);

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exitInfo !== undefined) {
        throw new Error(`Synapse died during start-up (${exitInfo})\n${await logTails(this.dataDir)}`);
      }
      try {
        const res = await fetch(`${this.baseUrl}/_matrix/client/versions`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(
          `Synapse did not answer ${this.baseUrl}/_matrix/client/versions within ${READY_TIMEOUT_MS / 1000} s\n` +
            (await logTails(this.dataDir)),
        );
      }
      await sleep(150);
    }
    // Unauthenticated in Synapse (VersionServlet).
    const res = await fetch(`${this.baseUrl}/_synapse/admin/v1/server_version`);
    this.version = res.ok ? String(((await res.json()) as { server_version?: unknown }).server_version) : 'unknown';
    console.log(`Synapse ${this.version} at ${this.baseUrl}`);
  }

  async registerUser(localpart: string, password?: string, admin = false): Promise<RegisteredUser> {
    const pw = password ?? randomBytes(12).toString('hex');
    const user = await sharedSecretRegister(this.baseUrl, this.sharedSecret, localpart, pw, admin);
    return { ...user, password: pw };
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  private async stopProcess(): Promise<void> {
    if (!this.child) return;
    this.killGroup('SIGTERM');
    const timer = setTimeout(() => this.killGroup('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    await this.stopProcess();
    if (this.removeDataDirOnStop && !process.env['TRIBUTARY_KEEP_SYNAPSE_DATA']) {
      await rm(this.dataDir, { recursive: true, force: true });
    }
  }

  async restart(): Promise<void> {
    await this.stopProcess();
    await this.start();
  }
}

/** Start a Synapse; resolves once its client API answers. */
export async function startSynapse(opts: SynapseOptions = {}): Promise<SynapseHandle> {
  const python = synapseVenvPython();
  const ownDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : await mkdtemp(join(tmpdir(), 'tributary-synapse-'));
  await mkdir(join(dataDir, 'media_store'), { recursive: true });
  const serverName = opts.serverName ?? 'localhost';
  const port = opts.port ?? (await freePort());
  const sharedSecret = randomBytes(32).toString('hex');

  const signingKey = join(dataDir, 'signing.key');
  if (!existsSync(signingKey)) {
    await execFileAsync(python, ['-I', '-m', 'synapse._scripts.generate_signing_key', '-o', signingKey], {
      cwd: dataDir,
    });
  }
  const config = deepMerge(
    homeserverConfig({
      dataDir,
      serverName,
      port,
      sharedSecret,
      registrationFiles: (opts.registrationFiles ?? []).map((f) => resolve(f)),
    }),
    opts.extra ?? {},
  );
  await writeFile(join(dataDir, 'homeserver.yaml'), stringify(config));
  await writeFile(join(dataDir, 'log.config.yaml'), stringify(logConfig(dataDir)));

  const synapse = new SynapseProcess(serverName, port, dataDir, sharedSecret, python, ownDataDir);
  // On failure the data dir stays: the error message quotes its logs.
  await synapse.start();
  return synapse;
}
