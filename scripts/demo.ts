/**
 * The demo stack: a local Synapse, the sandbox network, and the sandbox bridge on SQLite, all
 * under .demo/ (kept between runs). Writes .demo/stack.json and prints how to connect a Matrix
 * client. Ctrl-C stops everything.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import {
  buildRegistration, buildDoublePuppetRegistration, generateToken, makeConfigSchema, parseConfig, renderRegistrationYaml,
} from '../shared/src/config/index.js';
import { startSynapse } from '../test/helpers/synapse.js';
import { freePort } from '../test/helpers/ports.js';
import { BRIDGES } from './bridges.js';

const ROOT = resolve(import.meta.dirname, '..');
// TRIBUTARY_DEMO_DIR moves the whole stack elsewhere (the demo's own test uses a temp dir).
const DEMO = process.env.TRIBUTARY_DEMO_DIR ? resolve(process.env.TRIBUTARY_DEMO_DIR) : join(ROOT, '.demo');
const USER = { localpart: 'demo', password: 'demo' };

async function portOr(preferred: number): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((done) => {
    const s = createServer();
    s.once('error', () => void freePort().then(done));
    s.listen(preferred, '127.0.0.1', () => s.close(() => done(preferred)));
  });
}

function child(name: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const log = createWriteStream(join(DEMO, `${name}.log`), { flags: 'a' });
  const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  proc.stdout!.pipe(log);
  proc.stderr!.pipe(log);
  return proc;
}

async function waitFor(url: string, what: string, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited (code ${proc.exitCode}); see .demo/*.log`);
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up; see .demo/*.log`);
}

async function main(): Promise<void> {
  mkdirSync(DEMO, { recursive: true });
  const setup = spawnSync('bash', ['scripts/ensure-synapse.sh'], { cwd: ROOT, stdio: 'inherit' });
  if (setup.status !== 0) throw new Error('could not install Synapse (scripts/ensure-synapse.sh)');

  const statePath = join(DEMO, 'stack-state.json');
  const saved = existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, number>) : {};
  const ports = {
    synapse: await portOr(saved.synapse ?? 8008),
    sandbox: await portOr(saved.sandbox ?? 29400),
    bridge: await portOr(saved.bridge ?? 29300),
  };
  writeFileSync(statePath, JSON.stringify(ports));

  const sandbox = child('sandbox-network', ['bridges/sandbox/src/server/main.ts', '--port', String(ports.sandbox), '--state', join(DEMO, 'sandbox-network.json'), '--seed', 'demo']);
  const sandboxUrl = `http://127.0.0.1:${ports.sandbox}`;
  await waitFor(`${sandboxUrl}/control/health`, 'the sandbox network', sandbox);

  const bridgeDir = join(DEMO, 'sandbox-bridge');
  mkdirSync(bridgeDir, { recursive: true });
  const configPath = join(bridgeDir, 'config.yaml');
  const secretsPath = join(bridgeDir, 'secrets.json');
  const secrets = existsSync(secretsPath) ? JSON.parse(readFileSync(secretsPath, 'utf8')) as Record<string, string>
    : { as_token: generateToken(), hs_token: generateToken(), provisioning: generateToken(), double_puppet: generateToken() };
  secrets.double_puppet ??= generateToken();
  writeFileSync(secretsPath, JSON.stringify(secrets), { mode: 0o600 });
  const raw = {
    homeserver: { address: `http://127.0.0.1:${ports.synapse}`, domain: 'localhost' },
    appservice: { address: `http://127.0.0.1:${ports.bridge}`, hostname: '127.0.0.1', port: ports.bridge, as_token: secrets.as_token, hs_token: secrets.hs_token },
    data_dir: join(bridgeDir, 'data'),
    permissions: { '*': 'relay', localhost: 'user', [`@${USER.localpart}:localhost`]: 'admin' },
    bridge: { relay: { enabled: true, admin_only: false }, double_puppet: { enabled: true, as_token: secrets.double_puppet } },
    provisioning: { shared_secret: secrets.provisioning },
    network: { url: sandboxUrl },
  };
  const b = BRIDGES.find((x) => x.name === 'sandbox')!;
  const config = parseConfig(makeConfigSchema(b.name, b.schema), raw);
  writeFileSync(configPath, stringify(raw), { mode: 0o600 });
  const regPath = join(bridgeDir, 'registration.yaml');
  writeFileSync(regPath, renderRegistrationYaml(buildRegistration(config as never)), { mode: 0o600 });
  const dpPath = join(bridgeDir, 'registration-doublepuppet.yaml');
  writeFileSync(dpPath, renderRegistrationYaml(buildDoublePuppetRegistration(config as never)), { mode: 0o600 });

  const synapse = await startSynapse({ registrationFiles: [regPath, dpPath], dataDir: join(DEMO, 'synapse'), port: ports.synapse });
  let user;
  try {
    user = await synapse.registerUser(USER.localpart, USER.password, true);
  } catch (err) {
    if ((err as { errcode?: string }).errcode !== 'M_USER_IN_USE') throw err;
    const res = await fetch(`${synapse.baseUrl}/_matrix/client/v3/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: USER.localpart }, password: USER.password }),
    });
    const body = (await res.json()) as { user_id: string; access_token: string; device_id: string };
    user = { userId: body.user_id, accessToken: body.access_token, deviceId: body.device_id, password: USER.password };
  }

  const bridge = child('sandbox-bridge', [b.main, '-c', configPath]);
  await waitFor(`http://127.0.0.1:${ports.bridge}/_matrix/mau/ready`, 'the sandbox bridge', bridge);

  const stack = {
    homeserver_url: synapse.baseUrl,
    server_name: 'localhost',
    user: { user_id: user.userId, password: USER.password, access_token: user.accessToken },
    bots: { sandbox: `@${config.appservice.bot.username}:localhost` },
    sandbox: { url: sandboxUrl, control_url: `${sandboxUrl}/control`, login: { account: 'me', password: 'sandbox' } },
    bridges: { sandbox: { url: `http://127.0.0.1:${ports.bridge}`, log: '.demo/sandbox-bridge.log' } },
  };
  writeFileSync(join(DEMO, 'stack.json'), JSON.stringify(stack, null, 2));
  console.log(`
Tributary demo is running (Synapse ${synapse.version}).

  Homeserver:  ${synapse.baseUrl}   (server name "localhost")
  Matrix user: ${user.userId}   password: ${USER.password}
  Bridge bot:  ${stack.bots.sandbox}

Connect any Matrix client to the homeserver URL and log in as the user above, then:
  1. start a direct chat with ${stack.bots.sandbox}
  2. send "login password", then "me" and "sandbox" (the demo account on the sandbox network)
  3. your sandbox chats appear as rooms; act as the contacts alice, bob and carol through
     ${stack.sandbox.control_url} (see docs/sandbox.md), e.g.
       curl -X POST ${stack.sandbox.control_url}/chats/dm%3Aalice%3Ame/messages \\
            -H 'Content-Type: application/json' -d '{"as":"alice","text":"hello from the sandbox"}'

Details are in .demo/stack.json; logs in .demo/*.log. Press Ctrl-C to stop.
`);
  const stop = async () => {
    bridge.kill('SIGTERM');
    sandbox.kill('SIGTERM');
    await synapse.stop();
    process.exit(0);
  };
  // Children die with the demo even when it is not stopped by a signal it can handle.
  process.on('exit', () => {
    bridge.kill('SIGKILL');
    sandbox.kill('SIGKILL');
  });
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  process.once('SIGHUP', () => void stop());
  for (const [name, proc] of [['bridge', bridge], ['sandbox network', sandbox]] as const) {
    proc.on('exit', (code) => {
      console.error(`the ${name} exited (code ${code}); see .demo/*.log`);
      void stop();
    });
  }
}

main().catch((err) => {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exit(1);
});
