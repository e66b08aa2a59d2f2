/**
 * The WhatsApp connector: one per bridge process. It holds the config and the database, builds a
 * WhatsAppAPI per stored login, and runs the QR / pairing-code logins.
 */
import { z } from 'zod';
import type {
  BridgeHandle, BridgeName, LoginFlow, LoginProcess, NetworkAPI, NetworkConnector, NetworkGeneralCapabilities,
  UserHandle, UserLoginHandle, UserLoginId,
} from '@tributary/core/network/index';
import type { MakeWASocket } from '../client/connection.js';
import { WHATSAPP_SECTION, whatsappMigrations } from '../db/migrations.js';
import { WhatsAppAPI } from './wa-api.js';
import { LOGIN_FLOWS, createWALogin } from './login.js';
import { sandboxSocketFactory } from '../sandbox/socket.js';

export const whatsappConfigSchema = z.object({
  browser_name: z.string().min(1).max(64).default('Tributary')
    .describe('The device name WhatsApp shows under Linked devices on the phone'),
  history_sync: z.object({
    max_chats: z.number().int().min(0).max(10_000).default(50)
      .describe('How many of the most recent chats get a room from the history WhatsApp sends at login (0: none)'),
    max_messages_per_chat: z.number().int().min(0).max(10_000).default(100)
      .describe('How many past messages of each such chat are bridged (0: none)'),
  }).prefault({}).describe('History sync: what the phone sends when the bridge is linked'),
  status_broadcast: z.boolean().default(false)
    .describe('Bridge status updates (stories) of your contacts into a "WhatsApp Status Broadcast" room, one per login; nothing is posted as a status from Matrix'),
  sandbox_url: z.string().url().nullable().default(null)
    .describe('Development and tests only: connect to a Tributary sandbox server (the emulated WhatsApp of the demo) instead of WhatsApp'),
  reconnect: z.object({
    min_ms: z.number().int().min(10).max(60_000).default(1_000).describe('First reconnect delay (doubles, with full jitter)'),
    max_ms: z.number().int().min(100).max(3_600_000).default(120_000).describe('Longest reconnect delay'),
  }).refine((r) => r.min_ms <= r.max_ms, { message: 'min_ms must not exceed max_ms' }).prefault({}).describe('Reconnecting after a lost connection'),
});
export type WhatsAppConfig = z.infer<typeof whatsappConfigSchema>;

export interface WhatsAppConnectorOptions {
  /** Tests inject a fake socket factory; production uses Baileys' makeWASocket. */
  makeSocket?: MakeWASocket;
  /** Overrides WhatsApp's websocket URL (tests point it at 127.0.0.1). */
  socketUrl?: string;
  /** Overrides the login timeout (tests). */
  loginTimeoutMs?: number;
}

export class WhatsAppConnector implements NetworkConnector<WhatsAppConfig> {
  readonly name: BridgeName = {
    displayName: 'WhatsApp', networkId: 'whatsapp', networkUrl: 'https://www.whatsapp.com',
    protocolId: 'whatsapp', defaultPort: 29318, botDisplayName: 'WhatsApp bridge bot',
  };
  readonly configSchema = whatsappConfigSchema;
  readonly migrations = { section: WHATSAPP_SECTION, migrations: whatsappMigrations };
  readonly capabilities: NetworkGeneralCapabilities = { disappearingMessages: true, echoesOwnMessages: true };
  private bridge: BridgeHandle<WhatsAppConfig> | undefined;
  /** Logins whose auth state a login process is still writing, by login id. */
  private readonly handoffs = new Map<string, Promise<void>>();

  constructor(private readonly opts: WhatsAppConnectorOptions = {}) {}

  init(bridge: BridgeHandle<WhatsAppConfig>): void {
    this.bridge = bridge;
  }

  async start(): Promise<void> {}

  private get handle(): BridgeHandle<WhatsAppConfig> {
    if (!this.bridge) throw new Error('WhatsAppConnector used before init()');
    return this.bridge;
  }

  getLoginFlows(): LoginFlow[] {
    return LOGIN_FLOWS;
  }

  /** The socket factory: a test's, the sandbox's when configured, else Baileys' own. */
  private makeSocket(): MakeWASocket | undefined {
    const url = this.handle.networkConfig.sandbox_url;
    return this.opts.makeSocket ?? (url ? sandboxSocketFactory(url) : undefined);
  }

  createLogin(user: UserHandle, flowId: string): LoginProcess {
    const bridge = this.handle;
    const makeSocket = this.makeSocket();
    return createWALogin({
      user, db: bridge.db, config: bridge.networkConfig, log: bridge.log.child({ login: 'whatsapp', flow: flowId }),
      beginHandoff: (id) => this.beginHandoff(id),
      ...(makeSocket ? { makeSocket } : {}),
      ...(this.opts.socketUrl !== undefined ? { socketUrl: this.opts.socketUrl } : {}),
      ...(this.opts.loginTimeoutMs !== undefined ? { timeoutMs: this.opts.loginTimeoutMs } : {}),
    }, flowId);
  }

  loadUserLogin(login: UserLoginHandle): NetworkAPI {
    const bridge = this.handle;
    const makeSocket = this.makeSocket();
    return new WhatsAppAPI({
      login, db: bridge.db, config: bridge.networkConfig,
      handoff: () => this.handoffs.get(login.id),
      ...(makeSocket ? { makeSocket } : {}),
      ...(this.opts.socketUrl !== undefined ? { socketUrl: this.opts.socketUrl } : {}),
    });
  }

  private beginHandoff(id: UserLoginId): { done(): void } {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.handoffs.set(id, gate);
    return {
      done: () => {
        if (this.handoffs.get(id) === gate) this.handoffs.delete(id);
        release();
      },
    };
  }
}
