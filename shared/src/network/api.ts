import type { ChatInfo, UserInfo } from './chat-info.js';
import type { MessageId, PortalKey, RemoteUserId } from './ids.js';
import type { MatrixMessage } from './matrix-events.js';

/**
 * What a room allows, asked per portal after the capability interface check. A "no" becomes an
 * `m_unsupported` message status, never a silent drop.
 */
export interface RoomFeatures {
  edits?: { maxAgeMs?: number; maxCount?: number };
  deletes?: { maxAgeMs?: number };
  reactions?: { onePerUser?: boolean };
  replies?: boolean;
  formatting?: boolean;
  media?: { maxSize?: number };
  locations?: boolean;
  readReceipts?: boolean;
  typing?: boolean;
  rename?: boolean;
  topic?: boolean;
  avatar?: boolean;
  membership?: boolean;
}

export interface MatrixMessageResponse {
  id: MessageId;
  /** The network's timestamp for the message; defaults to the Matrix event's. */
  timestamp?: number;
  /** The sender id the network assigned (defaults to the login's own user). */
  sender?: RemoteUserId;
  /**
   * True when the network only accepted the message and will confirm it with an echo; the core
   * then keeps the send pending until a RemoteMessage with `echoOf === txnId` arrives.
   */
  pending?: boolean;
  metadata?: Record<string, unknown>;
}

/**
 * One per logged-in account (`UserLogin.client`). Methods are called from the core; they must not
 * block the caller on reconnects.
 */
export interface NetworkAPI {
  /**
   * Start connecting. Must not throw and must return quickly: progress and failures are reported
   * through the login's bridge state (CONNECTING, CONNECTED, TRANSIENT_DISCONNECT, ...).
   */
  connect(): void;
  disconnect(): Promise<void>;
  /** Cached; no IO. */
  isLoggedIn(): boolean;
  /** Log out on the network side too (the core deletes the login afterwards). */
  logoutRemote(): Promise<void>;
  /** Whether a remote user id is this login's own account. */
  isThisUser(user: RemoteUserId): boolean;
  getChatInfo(portal: PortalKey): Promise<ChatInfo>;
  getUserInfo(user: RemoteUserId): Promise<UserInfo>;
  getCapabilities(portal: PortalKey): RoomFeatures;
  /**
   * Send a Matrix message to the network. Throw a BridgeError to report a failure; the core
   * records the returned id against the Matrix event after this returns.
   */
  handleMatrixMessage(msg: MatrixMessage): Promise<MatrixMessageResponse>;
}
