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
import { DEFAULT_HISTORY_LIMITS } from './history-buffer.js';
import { WhatsAppAPI } from './wa-api.js';
import { LOGIN_FLOWS, createWALogin } from './login.js';
import { sandboxSocketFactory } from '../sandbox/socket.js';

export const whatsappConfigSchema = z.object({
  browser_name: z.string().min(1).max(64).default('Tributary')
    .describe('The device name WhatsApp shows under Linked devices on the phone'),
  history_sync: z.object({
    max_chats: z.number().int().min(0).max(10_000).default(DEFAULT_HISTORY_LIMITS.maxChats)
      .describe('How many of the most recent chats (by their newest message) get a room and their history from the history WhatsApp sends at login; other chats get a room when a new message arrives (0: no history)'),
    max_messages_per_chat: z.number().int().min(0).max(10_000).default(DEFAULT_HISTORY_LIMITS.maxMessagesPerChat)
      .describe('How many of the newest past messages of each such chat are bridged, in their original order and with their original times (0: no history)'),
  }).prefault({}).describe('History sync: what the phone sends when the bridge is linked'),
  phone_offline_warning_days: z.number().int().min(0).max(13).default(12)
    .describe('Warn in the management room (bridge state wa-phone-offline) when your phone has not been seen for this many days: WhatsApp unlinks the bridge when the phone has been offline for 14 days. Seen means a message sent from the phone, a message read on another device, a history sync or the pairing (0: no warning)'),
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
  /** Overrides how long history sync waits for more sets (tests; see history-sync.ts). */
  historyDispatchWaitMs?: number;
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
      ...(this.opts.historyDispatchWaitMs !== undefined ? { historyDispatchWaitMs: this.opts.historyDispatchWaitMs } : {}),
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
