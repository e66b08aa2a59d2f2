import { MetaError } from '../errors.js';

export type DGWFrameErrorCode =
  /** The first byte is no frame type we know. */
  | 'unknown-frame-type'
  /** Types 5, 6 and 8: the old framing, which this client does not speak. */
  | 'deprecated-frame-type'
  /** A length field that contradicts the frame type (an Ack whose length is not 2, ...). */
  | 'bad-length'
  /** An EstabStream frame whose parameters are not JSON. */
  | 'bad-json'
  /** A declared payload larger than the decoder accepts. */
  | 'frame-too-large'
  /** Input ended inside a frame where a whole message was expected. */
  | 'truncated'
  /** A frame given to the encoder with an out-of-range or missing field. */
  | 'invalid-field'
  /** The decoder already failed: byte framing is lost and the connection must be dropped. */
  | 'decoder-failed';

/** Malformed DGW bytes (decoding) or an impossible frame (encoding). */
export class DGWFrameError extends MetaError<DGWFrameErrorCode> {
  readonly area = 'dgw-frame' as const;
  /** Byte offset in the decoder's input where the bad frame starts, when decoding. */
  readonly offset: number | undefined;

  constructor(code: DGWFrameErrorCode, message: string, offset?: number) {
    super(code, message);
    this.offset = offset;
  }
}

export type DGWStreamErrorCode =
  /** No Ack for a data frame (or no EstabStream reply) within the ack timeout. */
  | 'ack-timeout'
  /** A one-off stream got its ack but no response data in time. */
  | 'response-timeout'
  /** The server answered EstabStream with a code other than 200, or without a code. */
  | 'establish-rejected'
  /** The stream or the whole multiplexer closed before the operation completed. */
  | 'closed'
  /** All 65536 stream ids are held by open streams. */
  | 'stream-ids-exhausted'
  /** No Ping or Pong from the server within the pong timeout. */
  | 'pong-timeout'
  /** The operation needs a running multiplexer. */
  | 'not-started';

/** A stream-level failure: timeouts, rejection, closure. */
export class DGWStreamError extends MetaError<DGWStreamErrorCode> {
  readonly area = 'dgw-stream' as const;
  readonly streamId: number | undefined;

  constructor(code: DGWStreamErrorCode, message: string, streamId?: number) {
    super(code, message);
    this.streamId = streamId;
  }
}
