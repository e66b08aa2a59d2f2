/**
 * runBridge(connector): the whole process around a connector. Parses the CLI (-e example config,
 * -g registration, -c run), loads the config, migrates the database, starts the appservice
 * listener, checks the homeserver both ways, connects stored logins, and shuts down cleanly.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Bridge as MabBridge, AppServiceRegistration } from 'matrix-appservice-bridge';
import {
  parseCliArgs, usageText, loadConfig, makeConfigSchema, renderExampleConfig, buildRegistration, renderRegistrationYaml,
  fillGeneratedSecrets, assertSecretsGenerated, CliUsageError, buildDoublePuppetRegistration, ConfigError, resolveDataPath, type CoreConfig,
} from './config/index.js';
import { openDatabase, type Database } from './db/database.js';
import { configureLogging, getLogger } from './logging.js';
import type { NetworkConnector } from './network/index.js';
import { TributaryAppService } from './matrix/appservice.js';
import { MatrixApiError, type MatrixApi } from './matrix/matrix-api.js';
import { Bridge } from './core/bridge.js';
import { CommandProcessor, type Command } from './commands/processor.js';
import { addStatusRoutes } from './core/status-routes.js';
import { mountProvisioning } from './provisioning/index.js';
import { mountLoginPage } from './web/login-page.js';
import { PromBridgeMetrics, startMetricsServer } from './metrics/index.js';
import { StatePusher } from './core/state-push.js';
import type { BridgeCrypto } from './crypto/bridge-crypto.js';
import { resumeLateEvents } from './core/portal-encrypted.js';

export interface RunOptions {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  extraCommands?: Command[];
}

export interface RunningBridge {
  bridge: Bridge;
  db: Database;
  stop(): Promise<void>;
}

export class StartupError extends Error {}

/** The CLI entry point; never returns while the bridge runs. Exit codes: 0 ok, 1 failure, 2 usage. */
export async function runBridgeCli(connector: NetworkConnector<unknown>, opts: RunOptions = {}): Promise<void> {
  const name = connector.name.networkId;
  try {
    const running = await runBridge(connector, opts);
    if (!running) return;
    const shutdown = async (signal: string) => {
      getLogger('main').info({ signal }, 'shutting down');
      await running.stop();
      process.exit(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
  } catch (err) {
    if (err instanceof CliUsageError) {
      process.stderr.write(`${err.message}\n\n${usageText(name)}\n`);
      process.exit(2);
    }
    if (err instanceof ConfigError || err instanceof StartupError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`Fatal error: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
}

export async function runBridge(connector: NetworkConnector<unknown>, opts: RunOptions = {}): Promise<RunningBridge | undefined> {
  const name = connector.name.networkId;
  const args = parseCliArgs(opts.argv ?? process.argv.slice(2), name);
  const schema = makeConfigSchema(name, connector.configSchema);
  if (args.mode === 'help') {
    process.stdout.write(usageText(name) + '\n');
    return undefined;
  }
  if (args.mode === 'example') {
    writeFileSync(args.example, renderExampleConfig(schema));
    process.stdout.write(`Wrote the example config to ${args.example}\n`);
    return undefined;
  }
  if (args.mode === 'registration') {
    if (!existsSync(args.config)) throw new StartupError(`Config file ${args.config} not found; write one with -e first.`);
    const filled = fillGeneratedSecrets(readFileSync(args.config, 'utf8'));
    if (filled.changed) writeFileSync(args.config, filled.text);
    const config = loadConfig(schema, args.config, opts.env ?? process.env) as CoreConfig;
    writeFileSync(args.registration, renderRegistrationYaml(buildRegistration(config)), { mode: 0o600 });
    process.stdout.write(`Wrote the registration to ${args.registration}; add it to app_service_config_files in homeserver.yaml.\n`);
    if (config.bridge.double_puppet.enabled) {
      const dpPath = doublePuppetRegistrationPath(args.registration);
      writeFileSync(dpPath, renderRegistrationYaml(buildDoublePuppetRegistration(config)), { mode: 0o600 });
      process.stdout.write(`Wrote the double-puppet registration to ${dpPath}; add it to app_service_config_files too.\n`);
    }
    return undefined;
  }
  const config = loadConfig(schema, args.config, opts.env ?? process.env) as CoreConfig & { network: unknown };
  configureLogging({ level: config.logging.level });
  // The tokens must be real before anything listens; an unfilled provisioning secret only turns
  // secret auth off (the API still takes Matrix tokens), with a warning.
  assertSecretsGenerated({ ...config, provisioning: { ...config.provisioning, enabled: false } });
  const log = getLogger('main');
  if (config.provisioning.enabled && config.provisioning.shared_secret === 'generate') {
    log.warn('provisioning.shared_secret is still "generate": shared-secret auth is off until -g fills it in');
  }
  mkdirSync(config.data_dir, { recursive: true });

  const db = await openDatabase({
    type: config.database.type, uri: config.database.type === 'sqlite' ? resolveDataPath(config, config.database.uri) : config.database.uri,
    maxConnections: config.database.max_connections,
  });
  await db.migrate();
  if (connector.migrations) await db.migrateSection(connector.migrations.section, connector.migrations.migrations);

  const registration = buildRegistration(config);
  const bridge = new Bridge(config, db, connector);
  if (config.bridge.double_puppet.enabled && config.bridge.double_puppet.as_token !== 'generate') {
    bridge.enableDoublePuppeting(config.bridge.double_puppet.as_token);
  }
  bridge.commands = new CommandProcessor(bridge, opts.extraCommands);
  const metrics = config.metrics.enabled ? new PromBridgeMetrics({
    network: connector.name.networkId,
    queueDepths: () => bridge.queueDepths(),
    loginStates: () => bridge.states.all().map((s) => s.stateEvent),
  }) : undefined;
  bridge.metrics = metrics;
  if (config.homeserver.status_endpoint) {
    const pusher = new StatePusher({ url: config.homeserver.status_endpoint, token: config.appservice.as_token, network: connector.name.networkId });
    bridge.states.onChange((s) => void pusher.push(s));
  }

  // Transactions can arrive before the crypto machines are open; their to-device messages (room
  // keys) must not be acknowledged unseen, so the hook waits for them.
  const cryptoReady = deferred<BridgeCrypto>();
  if (config.encryption.allow) {
    bridge.intake.crypto = { onTransactionData: async (data) => (await cryptoReady.promise).onTransactionData(data) };
  }

  const mab = new MabBridge({
    homeserverUrl: config.homeserver.address,
    domain: config.homeserver.domain,
    registration: AppServiceRegistration.fromObject(registration as never)!,
    controller: { onEvent: () => undefined },
    disableStores: true,
    disableContext: true,
  });
  try {
    await mab.initialise();
  } catch (err) {
    await db.close();
    throw new StartupError(`Cannot reach the homeserver at ${config.homeserver.address}: ${(err as Error).message}`);
  }
  const appservice = new TributaryAppService({
    homeserverToken: config.appservice.hs_token,
    maxBodyBytes: config.appservice.max_body_bytes,
    handlers: {
      onTransaction: async (txnId, txn) => {
        const started = performance.now();
        await bridge.intake.onTransaction(txnId, txn);
        metrics?.transactionAcked(performance.now() - started);
      },
      onUserQuery: async (userId) => bridge.isGhost(userId),
    },
  });
  let ready = false;
  addStatusRoutes(appservice, bridge, () => ready);
  const provisioning = mountProvisioning(appservice, bridge);
  mountLoginPage(appservice, bridge, provisioning);
  await mab.listen(config.appservice.port, config.appservice.hostname, 64, appservice);
  log.info({ port: config.appservice.port }, 'appservice listening');
  const metricsServer = metrics
    ? await startMetricsServer(metrics, config.metrics.hostname, config.metrics.port).catch((err: Error) => {
      throw new StartupError(`Cannot serve metrics on ${config.metrics.hostname}:${config.metrics.port}: ${err.message} (metrics.hostname / metrics.port)`);
    })
    : undefined;
  if (metricsServer) log.info({ port: metricsServer.port }, 'metrics listening');

  if (config.homeserver.ping_on_start) await pingHomeserver(bridge.api, config, appservice);
  await bridge.api.register(config.appservice.bot.username);
  await bridge.detectRoomVersion();
  await bridge.api.setDisplayName(bridge.botMxid, config.appservice.bot.displayname).catch(() => undefined);
  if (config.appservice.bot.avatar) await bridge.api.setAvatarUrl(bridge.botMxid, config.appservice.bot.avatar).catch(() => undefined);

  if (config.encryption.allow) {
    try {
      await startCrypto(bridge, config, cryptoReady);
    } catch (err) {
      cryptoReady.reject(err as Error);
      await appservice.close().catch(() => undefined);
      await db.close();
      throw new StartupError(`End-to-bridge encryption could not start: ${(err as Error).message}`);
    }
  }

  connector.init(bridge);
  await connector.start();
  await bridge.startLogins();
  bridge.intake.start();
  // Messages still waiting for their keys are picked up only now, like queued transactions: one
  // whose key is already here is bridged at once, and before startLogins it found no login.
  if (bridge.crypto) getLogger('crypto').info({ waitingForKeys: await resumeLateEvents(bridge) }, 'messages waiting for their keys resumed');
  bridge.disappearing.start();
  ready = true;
  log.info('bridge started');

  return {
    bridge, db,
    async stop() {
      provisioning?.stop();
      await bridge.stop();
      await bridge.crypto?.stop().catch(() => undefined);
      await connector.stop?.();
      await appservice.close().catch(() => undefined);
      await metricsServer?.close();
      await bridge.idle().catch(() => undefined);
      await db.close();
    },
  };
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Opens the bot's crypto device and hooks encryption into sends, intake and portals. */
async function startCrypto(bridge: Bridge, config: CoreConfig, ready: ReturnType<typeof deferred<BridgeCrypto>>): Promise<void> {
  // Loaded only when encryption is on: the wasm module is large.
  const { BridgeCrypto } = await import('./crypto/bridge-crypto.js');
  const crypto = await BridgeCrypto.create({
    api: bridge.api, kv: bridge.db.kv, config: config.encryption, botMxid: bridge.botMxid,
    storeDir: resolveDataPath(config, 'crypto-store'), storeKeyFile: resolveDataPath(config, config.encryption.store_key_file),
    isBridgeUser: (mxid) => mxid === bridge.botMxid || bridge.isGhost(mxid),
    isPortalRoom: (roomId) => bridge.isPortalRoomCached(roomId),
    displayName: (mxid) => `${bridge.connector.name.displayName} bridge${mxid === bridge.botMxid ? '' : ' (contact)'}`,
    log: getLogger('crypto'),
    timed: (op, ms) => bridge.metrics?.cryptoTimed?.(op, ms),
  });
  bridge.crypto = crypto;
  bridge.api.encryptor = (roomId, type, content, asUser) => crypto.wrap(roomId, type, content, asUser);
  ready.resolve(crypto);
  getLogger('crypto').info({ device: crypto.botDeviceId }, 'end-to-bridge encryption ready');
}

/** `registration.yaml` -> `registration-doublepuppet.yaml`, beside it. */
export function doublePuppetRegistrationPath(registration: string): string {
  return /\.ya?ml$/.test(registration) ? registration.replace(/(\.ya?ml)$/, '-doublepuppet$1') : `${registration}-doublepuppet`;
}

/**
 * Asks the homeserver to call us back (`/appservice/{id}/ping`), which proves both tokens and both
 * URLs. Each failure names the setting to fix.
 */
async function pingHomeserver(api: MatrixApi, config: CoreConfig, as: TributaryAppService): Promise<void> {
  const txn = randomUUID();
  try {
    await api.request('POST', `/_matrix/client/v1/appservice/${encodeURIComponent(config.appservice.id)}/ping`, { body: { transaction_id: txn }, retries: 2 });
  } catch (err) {
    if (!(err instanceof MatrixApiError)) throw err;
    const body = (err.body ?? {}) as Record<string, unknown>;
    const hints: Record<string, string> = {
      M_CONNECTION_FAILED: `the homeserver cannot reach the bridge at ${config.appservice.address}; check appservice.address and that the registration's url matches it`,
      M_CONNECTION_TIMEOUT: `the homeserver timed out reaching the bridge at ${config.appservice.address}`,
      M_BAD_STATUS: body.status === 403 || body.status === 401
        ? 'the homeserver reached the bridge but with a different hs_token; regenerate the registration (-g) and restart the homeserver'
        : `the bridge answered the homeserver's ping with HTTP ${String(body.status)}`,
      M_UNKNOWN_TOKEN: 'the homeserver does not know this as_token; is the registration file listed in app_service_config_files, and was the homeserver restarted?',
      M_FORBIDDEN: `the as_token belongs to a different appservice id than "${config.appservice.id}"; regenerate the registration`,
    };
    const hint = err.status === 0 ? `cannot reach the homeserver at ${config.homeserver.address}` : hints[err.errcode] ?? err.message;
    throw new StartupError(`Homeserver check failed: ${hint} (${err.errcode}).`);
  }
  if (as.lastPingTxnId !== txn) getLogger('main').warn('the homeserver answered the ping without calling the bridge');
}
