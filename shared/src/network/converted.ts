import type { Readable } from 'node:stream';
import type { FormattedText } from '../matrix/format/formatted-text.js';
import type { MessageId, PartId, PortalKey, RemoteUserId } from './ids.js';

/** Matrix event content as sent (`m.room.message`, `m.sticker`, ...). */
export type MatrixContent = Record<string, unknown>;

/**
 * Bytes the core uploads to the homeserver for a converted message. The core checks `size` (when
 * known) against the homeserver's `m.upload.size` before opening the stream, and streams the body
 * rather than buffering it.
 */
export interface MediaSource {
  open(): Promise<Readable>;
  mimetype: string;
  size?: number;
  filename?: string;
}

export interface UploadedMedia {
  url: string;
  size: number;
  mimetype: string;
}

/** One Matrix event of a converted remote message. */
export interface ConvertedPart {
  /** '' for a single-part message. */
  id: PartId;
  type: 'm.room.message' | 'm.sticker' | string;
  content: MatrixContent;
  /** Typed JSON the connector wants kept on the message row. */
  metadata?: Record<string, unknown>;
}

export interface ConvertedMessage {
  parts: ConvertedPart[];
  /** The message this one replies to; the core adds the `m.in_reply_to` relation. */
  replyTo?: { messageId: MessageId; partId?: PartId };
  /** Start a disappearing timer for the parts. */
  disappear?: { type: 'after_read' | 'after_send'; timerMs: number };
}

export interface ConvertedEdit {
  /** New content per existing part; the core sends `m.replace` events. */
  modifiedParts: Array<{ partId: PartId; type?: string; content: MatrixContent; metadata?: Record<string, unknown> }>;
  /** Parts that no longer exist after the edit (redacted). */
  deletedParts?: PartId[];
}

/**
 * What a converter gets from the core. Conversion runs inside the portal's queue, so lookups see
 * every earlier event of the chat already bridged.
 */
export interface ConvertContext {
  portal: { key: PortalKey; roomId: string; isDm: boolean };
  uploadMedia(source: MediaSource): Promise<UploadedMedia>;
  /** The Matrix user id that stands for a remote user (their ghost, or a logged-in Matrix user). */
  matrixUserIdFor(user: RemoteUserId): string;
  /**
   * Content for formatted text whose `mention` entities hold remote user ids: the core maps them to
   * Matrix users, fills `m.mentions`, and escapes everything.
   */
  textContent(text: FormattedText, msgtype?: string): MatrixContent;
}

export type { FormattedText };
