import type { ChatInfo, ChatInfoChange } from './chat-info.js';
import type { ConvertContext, ConvertedEdit, ConvertedMessage } from './converted.js';
import type { EmojiId, MessageId, PartId, PortalKey, RemoteUserId, UserLoginId } from './ids.js';

/**
 * Everything a connector reports from its network is one of these. The core puts it in the
 * portal's ordered queue; `convert` runs there, lazily, so conversion sees every earlier event of
 * the chat already bridged and a slow download never reorders a chat.
 */
export type RemoteEvent =
  | RemoteMessage
  | RemoteEdit
  | RemoteReaction
  | RemoteReactionRemove
  | RemoteMessageRemove
  | RemoteReadReceipt
  | RemoteDeliveryReceipt
  | RemoteTyping
  | RemoteChatInfoChange
  | RemoteChatResync
  | RemoteBackfill;

export type RemoteEventType = RemoteEvent['type'];

export interface RemoteSender {
  /** The remote user who acted. */
  user: RemoteUserId;
  /** True when the logged-in account itself acted (sent from the phone, or an echo of a bridged send). */
  isFromMe: boolean;
  /** The login that acted, when it is a bridged account (lets the core use double puppeting). */
  login?: UserLoginId;
  /**
   * The bridge itself speaks, not a person (a connector's notice about the chat, such as "this chat
   * cannot be bridged yet"): the core sends as the bridge bot; `user` is only recorded as the author.
   */
  isBridgeBot?: boolean;
}

interface RemoteEventBase {
  portal: PortalKey;
  sender: RemoteSender;
  /** Milliseconds since the epoch, as the network reports it. */
  timestamp: number;
}

export interface RemoteMessage extends RemoteEventBase {
  type: 'message';
  id: MessageId;
  /**
   * Network transaction id of a message this bridge sent, when the network echoes it: the core
   * then records the echo against the pending send instead of bridging it again.
   */
  echoOf?: string;
  /** Whether this message may create the Matrix room if it does not exist yet (default true). */
  createPortal?: boolean;
  convert(ctx: ConvertContext): Promise<ConvertedMessage>;
}

export interface RemoteEdit extends RemoteEventBase {
  type: 'edit';
  target: MessageId;
  /**
   * How many times the message has been edited including this edit, when the network counts; the
   * core skips an edit it has already applied (the same edit seen through two logins).
   */
  editCount?: number;
  convert(ctx: ConvertContext, existingParts: PartId[]): Promise<ConvertedEdit>;
}

export interface RemoteReaction extends RemoteEventBase {
  type: 'reaction';
  target: MessageId;
  targetPart?: PartId;
  emojiId: EmojiId;
  emoji: string;
  /** Networks with one reaction per user: the core removes the sender's other reactions. */
  replacesOthers?: boolean;
}

export interface RemoteReactionRemove extends RemoteEventBase {
  type: 'reaction_remove';
  target: MessageId;
  targetPart?: PartId;
  /** Absent: remove every reaction of the sender on the message. */
  emojiId?: EmojiId;
}

export interface RemoteMessageRemove extends RemoteEventBase {
  type: 'message_remove';
  target: MessageId;
}

export interface RemoteReadReceipt extends RemoteEventBase {
  type: 'read_receipt';
  /** The newest message read. */
  target: MessageId;
}

export interface RemoteDeliveryReceipt extends RemoteEventBase {
  type: 'delivery_receipt';
  targets: MessageId[];
}

export interface RemoteTyping extends RemoteEventBase {
  type: 'typing';
  /** 0 stops typing. */
  timeoutMs: number;
}

export interface RemoteChatInfoChange extends RemoteEventBase {
  type: 'chat_info_change';
  change: ChatInfoChange;
}

/** The chat changed in ways the connector cannot describe; the core fetches ChatInfo again. */
export interface RemoteChatResync extends Omit<RemoteEventBase, 'sender'> {
  type: 'chat_resync';
  sender?: RemoteSender;
  info?: ChatInfo;
  /** Create the room if it does not exist. */
  createPortal?: boolean;
  /** The newest message id the network has, so the core can catch up if it is behind. */
  latestMessage?: { id: MessageId; timestamp: number };
}

/** A batch of history, oldest first (from the network's history sync or a fetch). */
export interface RemoteBackfill extends Omit<RemoteEventBase, 'sender'> {
  type: 'backfill';
  sender?: RemoteSender;
  messages: BackfillMessage[];
  /** True when the network has nothing older. */
  complete?: boolean;
}

export interface BackfillMessage {
  id: MessageId;
  sender: RemoteSender;
  timestamp: number;
  /** As on RemoteMessage: the network transaction id when this is a message this bridge sent. */
  echoOf?: string;
  convert(ctx: ConvertContext): Promise<ConvertedMessage>;
  reactions?: Array<{ sender: RemoteSender; emojiId: EmojiId; emoji: string; timestamp: number }>;
}

/** Presence is about a person, not a chat, so it does not go through a portal queue. */
export interface RemotePresence {
  user: RemoteUserId;
  presence: 'online' | 'offline' | 'unavailable';
  lastActiveAgoMs?: number;
}
