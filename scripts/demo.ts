/**
 * The demo stack: a local Synapse, the sandbox network with the sandbox bridge, the WhatsApp
 * bridge on its emulated WhatsApp (a second sandbox network), and the Messenger and Instagram
 * bridges on the Meta gateway emulator (each over a sandbox network of its own), all on SQLite,
 * under .demo/
 * (kept between runs), and the dashboard page (scripts/demo-dashboard.ts) that shows the bridges'
 * states and plays the contacts. Writes .demo/stack.json and prints how to connect a Matrix
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
import { startDashboard } from './demo-dashboard.js';

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

interface Secrets { as_token: string; hs_token: string; provisioning: string; double_puppet: string }

/** Writes one bridge's config and registrations under .demo/<name>-bridge (tokens kept between runs). */
function prepareBridge(name: 'sandbox' | 'whatsapp' | 'messenger' | 'instagram', ports: { synapse: number; bridge: number }, network: Record<string, unknown>) {
  const dir = join(DEMO, `${name}-bridge`);
  mkdirSync(dir, { recursive: true });
  const secretsPath = join(dir, 'secrets.json');
  const secrets: Secrets = existsSync(secretsPath) ? JSON.parse(readFileSync(secretsPath, 'utf8')) as Secrets
    : { as_token: generateToken(), hs_token: generateToken(), provisioning: generateToken(), double_puppet: generateToken() };
  secrets.double_puppet ??= generateToken();
  writeFileSync(secretsPath, JSON.stringify(secrets), { mode: 0o600 });
  const raw = {
    homeserver: { address: `http://127.0.0.1:${ports.synapse}`, domain: 'localhost' },
    appservice: { address: `http://127.0.0.1:${ports.bridge}`, hostname: '127.0.0.1', port: ports.bridge, as_token: secrets.as_token, hs_token: secrets.hs_token },
    data_dir: join(dir, 'data'),
    permissions: { '*': 'relay', localhost: 'user', [`@${USER.localpart}:localhost`]: 'admin' },
    bridge: { relay: { enabled: true, admin_only: false }, double_puppet: { enabled: true, as_token: secrets.double_puppet } },
    provisioning: { shared_secret: secrets.provisioning },
    // Encrypted DMs with the bot work, and encryption can be turned on in any portal.
    encryption: { allow: true },
    network,
  };
  const b = BRIDGES.find((x) => x.name === name)!;
  const config = parseConfig(makeConfigSchema(b.name, b.schema), raw);
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, stringify(raw), { mode: 0o600 });
  const regPath = join(dir, 'registration.yaml');
  writeFileSync(regPath, renderRegistrationYaml(buildRegistration(config as never)), { mode: 0o600 });
  const dpPath = join(dir, 'registration-doublepuppet.yaml');
  writeFileSync(dpPath, renderRegistrationYaml(buildDoublePuppetRegistration(config as never)), { mode: 0o600 });
  return {
    main: b.main, configPath, registrations: [regPath, dpPath], url: `http://127.0.0.1:${ports.bridge}`,
    bot: `@${config.appservice.bot.username}:localhost`,
  };
}

/** The Meta gateway emulator of one flavour, in front of its sandbox network. */
async function startGateway(flavour: 'messenger' | 'instagram', sandboxUrl: string, port: number): Promise<{ proc: ChildProcess; url: string }> {
  const proc = child(`${flavour}-gateway`, ['bridges/meta/src/emulator/main.ts', '--flavour', flavour, '--sandbox', sandboxUrl, '--port', String(port)]);
  const url = `http://127.0.0.1:${port}`;
  // Without cookies the inbox sends the browser to the login page, which answers 200.
  await waitFor(`${url}/${flavour === 'messenger' ? 'messages' : 'direct/inbox/'}`, `the ${flavour} gateway emulator`, proc);
  return { proc, url };
}

/** A sandbox network server with its own state file, seeded with the demo contacts. */
async function startNetwork(name: string, port: number): Promise<{ proc: ChildProcess; url: string }> {
  const proc = child(name, ['bridges/sandbox/src/server/main.ts', '--port', String(port), '--state', join(DEMO, `${name}.json`), '--seed', 'demo']);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/control/health`, `the ${name}`, proc);
  return { proc, url };
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
    whatsapp_network: await portOr(saved.whatsapp_network ?? 29401),
    whatsapp_bridge: await portOr(saved.whatsapp_bridge ?? 29318),
    dashboard: await portOr(saved.dashboard ?? 29399),
    messenger_network: await portOr(saved.messenger_network ?? 29402),
    messenger_gateway: await portOr(saved.messenger_gateway ?? 29412),
    messenger_bridge: await portOr(saved.messenger_bridge ?? 29319),
    instagram_network: await portOr(saved.instagram_network ?? 29403),
    instagram_gateway: await portOr(saved.instagram_gateway ?? 29413),
    instagram_bridge: await portOr(saved.instagram_bridge ?? 29320),
  };
  writeFileSync(statePath, JSON.stringify(ports));

  // Two networks: the generic sandbox for the sandbox bridge, and a second one that the WhatsApp
  // bridge reaches through its emulated WhatsApp socket (network.sandbox_url).
  const sandbox = await startNetwork('sandbox-network', ports.sandbox);
  const waNetwork = await startNetwork('whatsapp-network', ports.whatsapp_network);
  const sb = prepareBridge('sandbox', { synapse: ports.synapse, bridge: ports.bridge }, { url: sandbox.url });
  const wa = prepareBridge('whatsapp', { synapse: ports.synapse, bridge: ports.whatsapp_bridge }, { sandbox_url: waNetwork.url });
  // Messenger and Instagram: a sandbox network each, with the Meta gateway emulator in front.
  const fbNetwork = await startNetwork('messenger-network', ports.messenger_network);
  const igNetwork = await startNetwork('instagram-network', ports.instagram_network);
  const fbGateway = await startGateway('messenger', fbNetwork.url, ports.messenger_gateway);
  const igGateway = await startGateway('instagram', igNetwork.url, ports.instagram_gateway);
  const fb = prepareBridge('messenger', { synapse: ports.synapse, bridge: ports.messenger_bridge }, { emulator_url: fbGateway.url });
  const ig = prepareBridge('instagram', { synapse: ports.synapse, bridge: ports.instagram_bridge }, { emulator_url: igGateway.url });

  const synapse = await startSynapse({
    registrationFiles: [...sb.registrations, ...wa.registrations, ...fb.registrations, ...ig.registrations], dataDir: join(DEMO, 'synapse'), port: ports.synapse,
  });
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

  const bridge = child('sandbox-bridge', [sb.main, '-c', sb.configPath]);
  const waBridge = child('whatsapp-bridge', [wa.main, '-c', wa.configPath]);
  await waitFor(`${sb.url}/_matrix/mau/ready`, 'the sandbox bridge', bridge);
  const fbBridge = child('messenger-bridge', [fb.main, '-c', fb.configPath]);
  const igBridge = child('instagram-bridge', [ig.main, '-c', ig.configPath]);
  await waitFor(`${wa.url}/_matrix/mau/ready`, 'the WhatsApp bridge', waBridge);
  await waitFor(`${fb.url}/_matrix/mau/ready`, 'the Messenger bridge', fbBridge);
  await waitFor(`${ig.url}/_matrix/mau/ready`, 'the Instagram bridge', igBridge);
  const metaCookies = async (networkUrl: string, flavour: 'messenger' | 'instagram') => {
    const token = ((await (await fetch(`${networkUrl}/control/accounts/me`)).json()) as { token: string }).token;
    return flavour === 'messenger' ? `xs=${token}; c_user=15550000000; datr=demo` : `sessionid=${token}; ds_user_id=15550000000; csrftoken=demo; mid=demo; ig_did=demo`;
  };
  const dashboard = await startDashboard({
    port: ports.dashboard,
    bridges: [
      { id: 'sandbox', name: 'Sandbox bridge', bot: sb.bot, url: sb.url, configPath: sb.configPath },
      { id: 'whatsapp', name: 'WhatsApp bridge', bot: wa.bot, url: wa.url, configPath: wa.configPath },
      { id: 'messenger', name: 'Messenger bridge', bot: fb.bot, url: fb.url, configPath: fb.configPath },
      { id: 'instagram', name: 'Instagram bridge', bot: ig.bot, url: ig.url, configPath: ig.configPath },
    ],
    networks: [
      { id: 'sandbox', name: 'Sandbox', controlUrl: `${sandbox.url}/control`, self: 'me' },
      { id: 'whatsapp', name: 'WhatsApp', controlUrl: `${waNetwork.url}/control`, self: 'me' },
      { id: 'messenger', name: 'Messenger', controlUrl: `${fbNetwork.url}/control`, self: 'me' },
      { id: 'instagram', name: 'Instagram', controlUrl: `${igNetwork.url}/control`, self: 'me' },
    ],
    intro: { homeserver_url: synapse.baseUrl, user_id: user.userId, password: USER.password },
  });

  const stack = {
    homeserver_url: synapse.baseUrl,
    dashboard_url: dashboard.url,
    server_name: 'localhost',
    user: { user_id: user.userId, password: USER.password, access_token: user.accessToken },
    bots: { sandbox: sb.bot, whatsapp: wa.bot, messenger: fb.bot, instagram: ig.bot },
    sandbox: { url: sandbox.url, control_url: `${sandbox.url}/control`, login: { account: 'me', password: 'sandbox' } },
    whatsapp: { url: waNetwork.url, control_url: `${waNetwork.url}/control`, login: { account: 'me', flows: ['qr', 'pairing-code'] } },
    messenger: { url: fbNetwork.url, control_url: `${fbNetwork.url}/control`, gateway_url: fbGateway.url, login: { account: 'me', cookies: await metaCookies(fbNetwork.url, 'messenger') } },
    instagram: { url: igNetwork.url, control_url: `${igNetwork.url}/control`, gateway_url: igGateway.url, login: { account: 'me', cookies: await metaCookies(igNetwork.url, 'instagram') } },
    bridges: {
      sandbox: { url: sb.url, log: '.demo/sandbox-bridge.log' },
      whatsapp: { url: wa.url, log: '.demo/whatsapp-bridge.log' },
      messenger: { url: fb.url, log: '.demo/messenger-bridge.log' },
      instagram: { url: ig.url, log: '.demo/instagram-bridge.log' },
    },
  };
  writeFileSync(join(DEMO, 'stack.json'), JSON.stringify(stack, null, 2));
  console.log(`
Tributary demo is running (Synapse ${synapse.version}).

  Homeserver:  ${synapse.baseUrl}   (server name "localhost")
  Matrix user: ${user.userId}   password: ${USER.password}
  Bridge bots: ${stack.bots.sandbox} (sandbox network), ${stack.bots.whatsapp} (WhatsApp, emulated),
               ${stack.bots.messenger} (Messenger, emulated), ${stack.bots.instagram} (Instagram, emulated)

Open ${dashboard.url} to play the contacts and approve login codes: it shows both
bridges' states, lets you send messages as alice, bob and carol, and "scans" login codes.

Connect any Matrix client to the homeserver URL and log in as the user above, then:
  Sandbox:  start a direct chat with ${stack.bots.sandbox}, send "login password", then "me" and
            "sandbox" (the demo account); your sandbox chats appear as rooms.
  WhatsApp: start a direct chat with ${stack.bots.whatsapp}, send "login qr", then approve the code
            on the dashboard (the phone of the account me).
  Messenger: start a direct chat with ${stack.bots.messenger}, send "login cookies", then these
            (the emulator's session of the account me; real cookies come from your browser):
            ${stack.messenger.login.cookies}
  Instagram: the same with ${stack.bots.instagram} and
            ${stack.instagram.login.cookies}

Without the dashboard, the same through the control API (docs/sandbox.md):
  curl ${stack.whatsapp.control_url}/login-codes
  curl -X POST ${stack.whatsapp.control_url}/login-codes/CODE/approve -d '{"account":"me"}'
  curl -X POST ${stack.sandbox.control_url}/chats/dm%3Aalice%3Ame/messages -d '{"as":"alice","text":"hi"}'

Details are in .demo/stack.json; logs in .demo/*.log. Press Ctrl-C to stop.
`);
  const children = [bridge, waBridge, sandbox.proc, waNetwork.proc, fbBridge, igBridge, fbNetwork.proc, igNetwork.proc, fbGateway.proc, igGateway.proc];
  const stop = async () => {
    await dashboard.close();
    for (const c of children) c.kill('SIGTERM');
    await synapse.stop();
    process.exit(0);
  };
  // Children die with the demo even when it is not stopped by a signal it can handle.
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  process.once('SIGHUP', () => void stop());
  const names = ['sandbox bridge', 'WhatsApp bridge', 'sandbox network', 'WhatsApp network', 'Messenger bridge', 'Instagram bridge',
    'Messenger network', 'Instagram network', 'Messenger gateway emulator', 'Instagram gateway emulator'];
  children.forEach((proc, i) => {
    proc.on('exit', (code) => {
      console.error(`the ${names[i]} exited (code ${code}); see .demo/*.log`);
      void stop();
    });
  });
}

main().catch((err) => {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exit(1);
});
