/** Errors of Instagram's own protocol pieces (database 223 sync, slide deltas, Thrift, GraphQL). */
import { MetaError } from '../errors.js';

export type InstagramErrorCode =
  /** Bytes that are not the protobuf message they should be (truncated, bad wire type, overlong varint). */
  | 'bad-protobuf'
  /** Bytes that are not the Thrift compact struct they should be. */
  | 'bad-thrift'
  /** A slide delta (or mailbox) JSON that lacks what its type needs. */
  | 'bad-slide'
  /** A sync stream frame that is not `{request_id, payload}` with a base64 payload. */
  | 'bad-frame'
  /** A value the encoder cannot write (out of range, wrong kind). */
  | 'invalid-field'
  /** A GraphQL response with errors, or without the field the request asked for. */
  | 'graphql';

export class InstagramError extends MetaError<InstagramErrorCode> {
  readonly area = 'instagram' as const;
}
