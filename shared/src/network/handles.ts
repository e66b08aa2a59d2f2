/**
 * What the core gives a connector. The connector never touches Matrix, the database rows of the
 * core, or other logins; it reports through these handles.
 */
import type { Database } from '../db/database.js';
import type { Logger } from '../logging.js';
import type { BridgeStateUpdate } from './bridge-state.js';
import type { RemoteUserId, UserLoginId } from './ids.js';
import type { RemoteEvent, RemotePresence } from './remote-event.js';

export interface BridgeHandle<NetworkConfig = unknown> {
  readonly networkConfig: NetworkConfig;
  readonly log: Logger;
  /** The homeserver's server name. */
  readonly serverName: string;
  /** The Matrix id of a ghost. */
  ghostUserId(user: RemoteUserId): string;
  getLogin(id: UserLoginId): UserLoginHandle | undefined;
  /** The bridge database, for connectors with tables of their own (see `NetworkConnector.migrations`). */
  readonly db: Database;
}

export interface UserLoginHandle {
  readonly id: UserLoginId;
  /** The Matrix user who owns this login. */
  readonly userMxid: string;
  readonly remoteName: string;
  readonly log: Logger;
  /** Connector-owned JSON kept on the login row (tokens, sync positions). Never logged. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Merge and persist metadata; resolves once durable. */
  saveMetadata(patch: Record<string, unknown>): Promise<void>;
  /**
   * Hand a network event to the core. Resolves once it is in the portal's queue; when the queue is
   * full it waits (backpressure), so a connector that awaits this never outruns the bridge. The
   * returned `handled` settles when the portal has finished with the event (bridged, deduplicated
   * or failed and reported): a connector advances its durable sync position only past events whose
   * `handled` has settled, so a crash replays exactly the unfinished ones.
   */
  queueRemoteEvent(evt: RemoteEvent): Promise<QueuedEvent>;
  /** Presence of a remote person, as this login sees it. */
  updatePresence(p: RemotePresence): void;
  setBridgeState(state: BridgeStateUpdate): void;
  /**
   * The network ended the session (logged out from the phone, password changed). The core marks
   * the login LOGGED_OUT, tells the person, and keeps the portals.
   */
  handleRemoteLogout(reason: string): Promise<void>;
}

export interface QueuedEvent {
  handled: Promise<void>;
}

export interface NewLoginData {
  id: UserLoginId;
  remoteName: string;
  metadata: Record<string, unknown>;
}

export interface UserHandle {
  readonly mxid: string;
  /**
   * Called by a login process when it succeeds. Creates (or replaces, on re-login) the login row,
   * loads its NetworkAPI through `loadUserLogin`, and connects it.
   */
  newLogin(data: NewLoginData): Promise<UserLoginHandle>;
}
