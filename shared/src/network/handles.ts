/**
 * What the core gives a connector. The connector never touches Matrix, the database rows of the
 * core, or other logins; it reports through these handles.
 */
import type { Database } from '../db/database.js';
import type { Logger } from '../logging.js';
import type { BridgeStateUpdate } from './bridge-state.js';
import type { UserInfo } from './chat-info.js';
import type { MessageId, PartId, PortalKey, RemoteUserId, UserLoginId } from './ids.js';
import type { RemoteEvent, RemotePresence } from './remote-event.js';

export interface BridgeHandle<NetworkConfig = unknown> {
  readonly networkConfig: NetworkConfig;
  readonly log: Logger;
  /** The homeserver's server name. */
  readonly serverName: string;
  /** What commands in portal rooms start with (`bridge.command_prefix`), for texts that name a command. */
  readonly commandPrefix?: string;
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
  /**
   * A person changed their profile (name, picture) after the bridge met them. Outside the portal
   * queues, like presence: a profile belongs to the person, not to a chat, so no room's order depends
   * on it. Only a ghost that already exists is updated; a person without one is skipped (their info
   * is read through `getUserInfo` when the ghost is first needed), so a contact list sync does not
   * register a ghost per contact. Unchanged name or avatar id: nothing is sent. Never throws
   * (failures are logged).
   */
  updateGhost(user: RemoteUserId, info: UserInfo): Promise<void>;
  /**
   * A progress notice from the bridge bot in the owner's management room, edited in place: the
   * first call for a `key` sends an m.notice, later calls with the same key replace its text
   * (m.replace), so a long task (history sync) does not flood the room. Which event a key names is
   * kept in memory only: after a restart the same key starts a fresh notice. Nothing is sent when the
   * owner has no management room. Never throws (failures are logged).
   */
  sendProgressNotice(key: string, text: string): Promise<void>;
  /**
   * The metadata this connector stored with one bridged message part (`ConvertedPart.metadata`, or
   * an edit's `modifiedParts[].metadata`, which replaces it), or undefined when that part was never
   * bridged. Read-only, and only the connector's own JSON (no Matrix ids): for state a connector
   * keeps per message and must recover after a restart (WhatsApp's poll vote keys and tallies).
   */
  getMessageMetadata(portal: PortalKey, id: MessageId, part?: PartId): Promise<Readonly<Record<string, unknown>> | undefined>;
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
