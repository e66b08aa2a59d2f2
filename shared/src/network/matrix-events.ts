import type { Readable } from 'node:stream';
import type { FormattedText } from '../matrix/format/formatted-text.js';
import type { EmojiId, MessageId, PartId, PortalKey, RemoteUserId } from './ids.js';

/**
 * What the core hands a connector for each Matrix action in a portal. Ids of earlier messages are
 * already resolved to remote ids from the database; mentions in `text` are already remote user ids.
 */
export interface MatrixEventBase {
  portal: PortalKey;
  roomId: string;
  eventId: string;
  /** The Matrix user who acted. */
  sender: string;
  timestamp: number;
  /** Set when the sender has no login of their own and the portal's relay login sends for them. */
  relayedFor?: { mxid: string; displayName: string };
}

export interface MatrixMedia {
  kind: 'image' | 'video' | 'audio' | 'file' | 'sticker';
  open(): Promise<Readable>;
  mimetype: string;
  size?: number;
  filename: string;
  width?: number;
  height?: number;
  durationMs?: number;
  /** Voice message (MSC3245) with its waveform (0-1024 values). */
  voice?: { waveform?: number[] };
}

export interface MatrixMessage extends MatrixEventBase {
  msgtype: string;
  /** Text or caption with formatting; mentions point at remote users. */
  text?: FormattedText;
  media?: MatrixMedia;
  location?: { latitude: number; longitude: number; description?: string };
  replyTo?: { messageId: MessageId; partId: PartId };
  /**
   * Idempotency key: the same Matrix event always gets the same one, across restarts. Networks that
   * accept a client id (most do) should pass it so a resend after a crash is dropped by the network.
   */
  txnId: string;
  /** The raw Matrix content, for anything the fields above do not cover. */
  content: Record<string, unknown>;
}

export interface MatrixEdit extends MatrixEventBase {
  target: { messageId: MessageId; partId: PartId; editCount: number; timestamp: number };
  text: FormattedText;
  content: Record<string, unknown>;
}

export interface MatrixReaction extends MatrixEventBase {
  target: { messageId: MessageId; partId: PartId };
  /** The key as sent by the Matrix client (an emoji, or text). */
  emoji: string;
}

export interface MatrixReactionRemove extends MatrixEventBase {
  target: { messageId: MessageId; partId: PartId };
  emojiId: EmojiId;
  emoji: string;
}

export interface MatrixMessageRemove extends MatrixEventBase {
  target: { messageId: MessageId; partId: PartId; timestamp: number };
  reason?: string;
}

export interface MatrixReadReceipt extends MatrixEventBase {
  /** The newest bridged message at or before the receipt; absent when none is known. */
  target?: { messageId: MessageId; timestamp: number };
}

export interface MatrixTyping {
  portal: PortalKey;
  roomId: string;
  sender: string;
  typing: boolean;
}

export interface MatrixRoomMeta extends MatrixEventBase {
  name?: string;
  topic?: string;
  /** For avatar changes: the new image, or undefined when removed. */
  avatar?: MatrixMedia;
}

export interface MatrixMembershipChange extends MatrixEventBase {
  /** The remote user the change is about (a ghost), when the target is one. */
  target: RemoteUserId;
  change: 'invite' | 'kick' | 'leave' | 'ban';
  reason?: string;
}

export interface MatrixPowerLevelChange extends MatrixEventBase {
  /** New power level per remote user whose level changed. */
  users: Array<{ user: RemoteUserId; level: number }>;
}
