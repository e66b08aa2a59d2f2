/**
 * The Meta connector, shared by the Messenger and Instagram bridges (one flavour per process):
 * config, the cookie login, and a MetaAPI per stored login. The bridges' own packages only give
 * it their names.
 */
import {
  type BridgeHandle, type BridgeName, type LoginFlow, type LoginProcess, type NetworkAPI, type NetworkConnector,
  type NetworkGeneralCapabilities, type UserHandle, type UserLoginHandle, BridgeError,
} from '@tributary/core/network/index';
import { MetaClient } from '../client/meta-client.js';
import { MetaCookieError } from '../cookie-input.js';
import { MetaCookies, type MetaPlatform } from '../cookies.js';
import { endpointsFor, metaConfigSchema, type MetaConfig } from './config.js';
import { COOKIE_FLOW_ID, MetaCookieLogin, cookieLoginFlows, type StoredCookie } from './login.js';
import { MetaAPI } from './meta-api.js';

export interface MetaConnectorOptions {
  platform: MetaPlatform;
  name: BridgeName;
  /** Tests: the current time for cookie expiry checks. */
  now?: () => number;
}

export class MetaConnector implements NetworkConnector<MetaConfig> {
  readonly name: BridgeName;
  readonly platform: MetaPlatform;
  readonly configSchema = metaConfigSchema;
  readonly capabilities: NetworkGeneralCapabilities = { disappearingMessages: false, echoesOwnMessages: true };
  #bridge: BridgeHandle<MetaConfig> | undefined;

  constructor(private readonly opts: MetaConnectorOptions) {
    this.name = opts.name;
    this.platform = opts.platform;
  }

  init(bridge: BridgeHandle<MetaConfig>): void {
    this.#bridge = bridge;
  }

  async start(): Promise<void> {
    if (this.handle.networkConfig.emulator_url) {
      this.handle.log.warn({ url: this.handle.networkConfig.emulator_url }, 'network.emulator_url is set: talking to the Meta emulator, not to Meta (development and tests only)');
    }
  }

  private get handle(): BridgeHandle<MetaConfig> {
    if (!this.#bridge) throw new Error('MetaConnector used before init()');
    return this.#bridge;
  }

  getLoginFlows(): LoginFlow[] {
    return cookieLoginFlows(this.platform);
  }

  /** A client for this bridge's platform and config; cookies and cursors are the login's. */
  makeClient(cookies: MetaCookies, cursors: Record<number, string | null> = {}, log = this.handle.log): MetaClient {
    const cfg = this.handle.networkConfig;
    const endpoints = endpointsFor(this.platform, cfg);
    return new MetaClient({
      platform: this.platform, cookies, cursors, log: log.child({ module: 'meta-client' }),
      reconnect: { minMs: cfg.reconnect.min_ms, maxMs: cfg.reconnect.max_ms },
      rateLimit: { capacity: cfg.rate_limit.burst, refillPerSecond: cfg.rate_limit.per_second },
      refreshIntervalMs: cfg.refresh_hours * 3_600_000,
      ...(endpoints ? { endpoints } : {}),
      ...(cfg.user_agent ? { userAgent: cfg.user_agent } : {}),
      ...(cfg.proxy ? { proxy: cfg.proxy } : {}),
    });
  }

  createLogin(user: UserHandle, flowId: string): LoginProcess {
    if (flowId !== COOKIE_FLOW_ID) throw new BridgeError(`unknown login flow ${flowId}`, { reason: 'm_bad_format' });
    const log = this.handle.log.child({ login: this.platform });
    return new MetaCookieLogin({
      platform: this.platform, user, log, makeClient: (c) => this.makeClient(c, {}, log),
      ...(this.opts.now ? { now: this.opts.now } : {}),
    });
  }

  loadUserLogin(login: UserLoginHandle): NetworkAPI {
    const cfg = this.handle.networkConfig;
    return new MetaAPI({
      platform: this.platform, login, cookies: this.storedCookies(login), ...(this.handle.commandPrefix ? { commandPrefix: this.handle.commandPrefix } : {}),
      makeClient: (cookies, cursors) => this.makeClient(cookies, cursors, login.log),
      reconnect: { minMs: cfg.reconnect.min_ms, maxMs: cfg.reconnect.max_ms },
      maxBackfillPages: cfg.backfill_page_limit,
    });
  }

  /** The login's cookies, checked again: they may have expired while the bridge was stopped. */
  private storedCookies(login: UserLoginHandle): MetaCookies | { error: string } {
    const stored = (login.metadata as { cookies?: StoredCookie[] }).cookies;
    if (!Array.isArray(stored) || stored.length === 0) return { error: 'No cookies are stored for this login' };
    try {
      return MetaCookies.load(stored, this.platform, { now: (this.opts.now ?? Date.now)() });
    } catch (err) {
      if (err instanceof MetaCookieError) return { error: err.message };
      throw err;
    }
  }
}
