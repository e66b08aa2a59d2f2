/** Values and errors of the LightSpeed step interpreter. */
import { MetaError } from '../errors.js';

export type LSStepErrorCode =
  /** The response or its payload is not JSON, or not shaped like a LightSpeed response. */
  | 'bad-json'
  /** A step that is not `[opcode, ...operands]`, or whose operands do not fit the opcode. */
  | 'malformed'
  /** An opcode number outside the protocol's list. */
  | 'unknown-opcode'
  /** A protocol opcode this interpreter does not execute (queries, loops, ...). */
  | 'unsupported-opcode'
  /** An operand of the wrong type (an i64 comparison of a string, ...). */
  | 'bad-type'
  /** A stored procedure call whose required columns are missing or of the wrong kind. */
  | 'bad-row'
  /** Nesting deeper than the limit. */
  | 'too-deep'
  /** More steps, bytes, or collection items than the limits allow. */
  | 'too-large';

export class LSStepError extends MetaError<LSStepErrorCode> {
  readonly area = 'ls-steps' as const;
}

/**
 * What a step evaluates to. JSON literals stay as they are (`number` is a JSON float), int64s are
 * bigints, blobs bytes; arrays and maps come from the native array/map operations.
 */
export type LSValue = undefined | null | boolean | number | string | bigint | Uint8Array | LSValue[] | Map<string, LSValue>;
