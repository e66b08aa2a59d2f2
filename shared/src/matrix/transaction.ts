/**
 * Validation of appservice transaction bodies. Anything malformed is refused with 400 before
 * anything is stored, so a bad transaction changes nothing.
 */
import { HttpError } from './http-util.js';

export interface MatrixRoomEvent {
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  state_key?: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  unsigned?: Record<string, unknown>;
  redacts?: string;
  /** Set by the bridge on an event it decrypted (never read from the wire). */
  decrypted?: boolean;
}

export interface EphemeralEvent {
  type: string;
  room_id?: string;
  content: Record<string, unknown>;
  sender?: string;
}

export interface ToDeviceEvent {
  type: string;
  sender: string;
  to_user_id: string;
  to_device_id: string;
  content: Record<string, unknown>;
}

/** MSC3202 fields, handed to the crypto layer as they come. */
export interface CryptoTransactionData {
  toDevice: ToDeviceEvent[];
  oneTimeKeyCounts?: Record<string, Record<string, Record<string, number>>>;
  unusedFallbackKeyTypes?: Record<string, Record<string, string[]>>;
  deviceLists?: { changed?: string[]; left?: string[] };
}

export interface ParsedTransaction {
  events: MatrixRoomEvent[];
  ephemeral: EphemeralEvent[];
  crypto: CryptoTransactionData;
}

const MAX_ID = 255;
/**
 * Deepest nesting of arrays and objects accepted in a body. Synapse's JSON parser (Python's) stops
 * near 1,000 levels, so nothing it sends nests this deep; deeper values overflowed the stack of
 * JSON.stringify when the transaction was stored, a 500 instead of a 400 (found by fuzzing).
 */
export const MAX_NESTING = 1024;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
/**
 * Control characters and surrogate halves without their partner: no homeserver sends them in an
 * id, and a lone surrogate is stored as U+FFFD, so two different ids would become one row key.
 */
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const BAD_ID_CHAR = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isId = (v: unknown, sigil: string): v is string =>
  typeof v === 'string' && v.length > 1 && v.length <= MAX_ID && v.startsWith(sigil) && !/\s/.test(v) && !BAD_ID_CHAR.test(v);

function bad(msg: string): never {
  throw new HttpError(400, 'M_BAD_JSON', msg);
}

function parseRoomEvent(v: unknown, i: number): MatrixRoomEvent {
  if (!isObj(v)) bad(`events[${i}] is not an object`);
  if (!isId(v.event_id, '$')) bad(`events[${i}].event_id is missing or malformed`);
  if (!isId(v.room_id, '!')) bad(`events[${i}].room_id is missing or malformed`);
  if (!isId(v.sender, '@')) bad(`events[${i}].sender is missing or malformed`);
  if (typeof v.type !== 'string' || v.type.length === 0 || v.type.length > MAX_ID) bad(`events[${i}].type is missing or malformed`);
  if (v.state_key !== undefined && typeof v.state_key !== 'string') bad(`events[${i}].state_key must be a string`);
  if (typeof v.origin_server_ts !== 'number' || !Number.isFinite(v.origin_server_ts)) bad(`events[${i}].origin_server_ts must be a number`);
  const content = v.content === undefined ? {} : v.content;
  if (!isObj(content)) bad(`events[${i}].content must be an object`);
  if (v.unsigned !== undefined && !isObj(v.unsigned)) bad(`events[${i}].unsigned must be an object`);
  if (v.redacts !== undefined && !isId(v.redacts, '$')) bad(`events[${i}].redacts is malformed`);
  return { ...(v as unknown as MatrixRoomEvent), content };
}

function parseList<T>(body: Record<string, unknown>, keys: string[], parse: (v: unknown, i: number) => T): T[] {
  for (const key of keys) {
    const list = body[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) bad(`${key} must be an array`);
    return list.map(parse);
  }
  return [];
}

/** True when `value` nests arrays/objects deeper than `limit` levels; iterative, stops early. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [v, depth] = item;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

export function parseTransaction(body: Record<string, unknown>): ParsedTransaction {
  if (nestsDeeperThan(body, MAX_NESTING)) bad(`the body nests deeper than ${MAX_NESTING} levels`);
  if (body.events === undefined) bad('events is required');
  const events = parseList(body, ['events'], parseRoomEvent);
  const ephemeral = parseList(body, ['ephemeral', 'de.sorunome.msc2409.ephemeral'], (v, i) => {
    if (!isObj(v) || typeof v.type !== 'string') bad(`ephemeral[${i}] is malformed`);
    if (v.content !== undefined && !isObj(v.content)) bad(`ephemeral[${i}].content must be an object`);
    return { ...(v as unknown as EphemeralEvent), content: (v.content as Record<string, unknown>) ?? {} };
  });
  const toDevice = parseList(body, ['de.sorunome.msc2409.to_device', 'to_device'], (v, i) => {
    if (!isObj(v) || typeof v.type !== 'string' || typeof v.sender !== 'string' || !isObj(v.content)) bad(`to_device[${i}] is malformed`);
    return v as unknown as ToDeviceEvent;
  });
  const otk = body['org.matrix.msc3202.device_one_time_keys_count'] ?? body['org.matrix.msc3202.device_one_time_key_counts'];
  const fallback = body['org.matrix.msc3202.device_unused_fallback_key_types'];
  const lists = body['org.matrix.msc3202.device_lists'];
  if (otk !== undefined && !isObj(otk)) bad('org.matrix.msc3202.device_one_time_keys_count must be an object');
  if (fallback !== undefined && !isObj(fallback)) bad('org.matrix.msc3202.device_unused_fallback_key_types must be an object');
  if (lists !== undefined && !isObj(lists)) bad('org.matrix.msc3202.device_lists must be an object');
  for (const k of ['changed', 'left'] as const) {
    const l = (lists as Record<string, unknown> | undefined)?.[k];
    if (l !== undefined && !(Array.isArray(l) && l.every((u) => isId(u, '@')))) bad(`org.matrix.msc3202.device_lists.${k} must be an array of user ids`);
  }
  return {
    events,
    ephemeral,
    crypto: {
      toDevice,
      oneTimeKeyCounts: otk as CryptoTransactionData['oneTimeKeyCounts'],
      unusedFallbackKeyTypes: fallback as CryptoTransactionData['unusedFallbackKeyTypes'],
      deviceLists: lists as CryptoTransactionData['deviceLists'],
    },
  };
}
