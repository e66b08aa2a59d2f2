import type { z } from 'zod';
import type { Migration } from '../db/migrator.js';
import type { NetworkAPI } from './api.js';
import type { BridgeHandle, UserHandle, UserLoginHandle } from './handles.js';
import type { LoginFlow, LoginProcess } from './login.js';

export interface BridgeName {
  /** Human name of the network, e.g. "WhatsApp". */
  displayName: string;
  /** Short lowercase id, used for defaults: ghost prefix, command prefix, config file names. */
  networkId: string;
  networkUrl: string;
  /** `mxc://` avatar for the `m.bridge` state event, if any. */
  networkIcon?: string;
  /** Protocol id in `m.bridge` state events. */
  protocolId: string;
  defaultPort: number;
  botDisplayName: string;
}

export interface NetworkGeneralCapabilities {
  disappearingMessages: boolean;
  /** The network delivers our own sends back as echoes (`RemoteMessage.echoOf`). */
  echoesOwnMessages: boolean;
}

/**
 * One per bridge process. `init` must not do IO; `start` may. The core owns everything Matrix-side;
 * the connector maps ids, produces RemoteEvents, converts content, and implements capabilities.
 */
export interface NetworkConnector<NetworkConfig = unknown> {
  readonly name: BridgeName;
  /** The `network:` section of the config. */
  readonly configSchema: z.ZodObject<z.ZodRawShape>;
  /** Tables of the connector's own, if typed metadata on core rows is not enough. */
  readonly migrations?: { section: string; migrations: Migration[] };
  readonly capabilities: NetworkGeneralCapabilities;
  init(bridge: BridgeHandle<NetworkConfig>): void;
  start(): Promise<void>;
  stop?(): Promise<void>;
  /** Build the API object for a stored login. Must not do IO; the core calls `connect()` next. */
  loadUserLogin(login: UserLoginHandle): NetworkAPI;
  getLoginFlows(): LoginFlow[];
  createLogin(user: UserHandle, flowId: string): LoginProcess;
}
