/**
 * The sandbox connector: bridges the simulated network (bridges/sandbox/src/server) to Matrix
 * through the same contract the real networks use, so the core's e2e tests, the demo and the
 * benchmarks exercise exactly the code paths of a real bridge.
 */
import { z } from 'zod';
import type {
  BridgeHandle, BridgeName, LoginFlow, LoginProcess, NetworkAPI, NetworkConnector, NetworkGeneralCapabilities,
  UserHandle, UserLoginHandle,
} from '@tributary/core/network/index';
import { CLOSE, type WireEvent } from '../wire.js';
import { SandboxClient } from '../client/sandbox-client.js';
import { SandboxAPI } from './sandbox-api.js';
import { LOGIN_FLOWS, createLogin } from './login.js';
import { makePortalKey, makeMessageId } from './ids.js';
import { chatInfoOf } from './handle-sandbox.js';

export const sandboxConfigSchema = z.object({
  url: z.string().url().default('http://127.0.0.1:29400').describe('Base URL of the sandbox network server'),
  reconnect_min_ms: z.number().int().min(10).max(60_000).default(250).describe('First reconnect delay (doubles with full jitter)'),
  reconnect_max_ms: z.number().int().min(100).max(600_000).default(30_000).describe('Longest reconnect delay'),
});
export type SandboxConfig = z.infer<typeof sandboxConfigSchema>;

export class SandboxConnector implements NetworkConnector<SandboxConfig> {
  readonly name: BridgeName = {
    displayName: 'Sandbox', networkId: 'sandbox', networkUrl: 'https://github.com/tributary-bridges/tributary',
    protocolId: 'sandbox', defaultPort: 29300, botDisplayName: 'Sandbox bridge bot',
  };
  readonly configSchema = sandboxConfigSchema;
  readonly capabilities: NetworkGeneralCapabilities = { disappearingMessages: false, echoesOwnMessages: true };
  private bridge!: BridgeHandle<SandboxConfig>;

  init(bridge: BridgeHandle<SandboxConfig>): void {
    this.bridge = bridge;
  }

  async start(): Promise<void> {}

  getLoginFlows(): LoginFlow[] {
    return LOGIN_FLOWS;
  }

  createLogin(user: UserHandle, flowId: string): LoginProcess {
    return createLogin(user, flowId, this.bridge.networkConfig.url);
  }

  loadUserLogin(login: UserLoginHandle): NetworkAPI {
    const cfg = this.bridge.networkConfig;
    const meta = login.metadata as { token?: string; since?: number; url?: string };
    const client = new SandboxClient({
      url: meta.url ?? cfg.url, token: meta.token, since: meta.since, autoAck: false,
      reconnect: { minMs: cfg.reconnect_min_ms, maxMs: cfg.reconnect_max_ms },
    });
    const api = new SandboxAPI(login, client);
    // Events arrive synchronously from the socket; a chain keeps them in order while each waits
    // for room in its portal queue.
    let chain = Promise.resolve();
    const enqueue = (fn: () => Promise<void>) => {
      chain = chain.then(fn).catch((err) => login.log.error({ err }, 'sandbox event not queued'));
    };
    let firstSync = true;
    client.on('event', (ev: WireEvent, seq: number) => enqueue(() => api.events.onEvent(seq, ev)));
    client.on('connected', (info: { resumed: boolean; head_seq: number }) => {
      login.setBridgeState({ stateEvent: 'CONNECTED' });
      // Started from the network's head (first connect, or a resync): keep that as the sync
      // position at once, or a restart before the first handled event would start from a later
      // head and skip everything in between.
      if (!info.resumed) enqueue(() => login.saveMetadata({ since: info.head_seq }));
      if (firstSync || meta.since === undefined) {
        firstSync = false;
        enqueue(() => syncChats(login, api));
      }
    });
    client.on('resync_required', () => enqueue(() => syncChats(login, api)));
    client.on('disconnected', (info: { code: number; reason: string; willReconnect: boolean }) => {
      if (info.code === CLOSE.unauthorized) {
        api.markLoggedOut();
        login.setBridgeState({ stateEvent: 'BAD_CREDENTIALS', error: 'sandbox-unauthorized', message: 'The network refused the login token' });
      } else if (info.code === CLOSE.loggedOut) {
        api.markLoggedOut();
        login.setBridgeState({ stateEvent: 'LOGGED_OUT', error: 'sandbox-logged-out', message: info.reason || 'Logged out from another device' });
      } else if (info.willReconnect) {
        login.setBridgeState({ stateEvent: 'TRANSIENT_DISCONNECT', error: 'sandbox-connection-lost', message: 'Connection lost; reconnecting' });
      }
    });
    return api;
  }
}

/** Makes sure every chat has a portal and is caught up (first connect, or after a resync). */
async function syncChats(login: UserLoginHandle, api: SandboxAPI): Promise<void> {
  const chats = await api.port.request('get_chats', {});
  for (const chat of chats) {
    await login.queueRemoteEvent({
      type: 'chat_resync', portal: makePortalKey(chat, login.id), timestamp: Date.now(), createPortal: true,
      info: chatInfoOf(chat, login),
      ...(chat.last_message_id ? { latestMessage: { id: makeMessageId(chat.last_message_id), timestamp: Date.now() } } : {}),
    });
  }
}
