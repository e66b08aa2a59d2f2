/**
 * Instagram's receive path opens one persistent DGW stream on `/ws/lightspeed` with no EstabStream
 * parameters and this init payload (facts from mautrix-meta's instameow socket.go):
 *
 *   {app_id, device_id, payload: <DatabaseQuery JSON text>, request_id: 4 + retries, type: 2}
 *   DatabaseQuery = {database: 223, last_applied_cursor: '{"seq_id":N}', sync_params:
 *     '{"user_agent":"WMI Web","snapshot_at_ms":T,"prevalidated_graphql_doc_id":"28239922265610241"}',
 *     epoch_id: 0, version: -3, failure_count: retries}
 *
 * Every frame the server sends back on it is the JSON `{request_id, payload}` whose payload is the
 * base64 of an `mdCoreSync.LSResponse` (ls-response.ts). seq_id is an int64, written as a bare
 * JSON number; we keep it as a decimal string and write it digit for digit.
 */
import { InstagramError } from './errors.js';
import { decodeLSResponse, encodeLSResponse, type IGLSResponse } from './ls-response.js';

export const IG_SYNC_DATABASE = 223;
export const IG_SYNC_VERSION = -3;
export const IG_SLIDE_DELTA_DOC_ID = '28239922265610241';
export const IG_SYNC_USER_AGENT = 'WMI Web';
/** The first init payload's request id; each retry adds one (fact). */
const FIRST_REQUEST_ID = 4;

export interface IGSyncInit {
  appId: string;
  deviceId: string;
  /** The last applied seq_id, as a decimal string ("0" when none). */
  seqId: string;
  /** When that seq_id was applied (ms; 0 when unknown). */
  snapshotAtMs: number;
  /** Connection attempts before this one. */
  retries: number;
}

const SEQ_RE = /^\d{1,19}$/;

export function buildSyncInit(init: IGSyncInit): Uint8Array {
  if (!SEQ_RE.test(init.seqId)) throw new InstagramError('invalid-field', 'seq_id is not a non-negative integer');
  const syncParams = JSON.stringify({ user_agent: IG_SYNC_USER_AGENT, snapshot_at_ms: init.snapshotAtMs, prevalidated_graphql_doc_id: IG_SLIDE_DELTA_DOC_ID });
  // Written by hand so that seq_id keeps every digit (it is an int64, beyond 2^53 in the wild).
  const query = `{"database":${IG_SYNC_DATABASE},"last_applied_cursor":${JSON.stringify(`{"seq_id":${init.seqId}}`)},`
    + `"sync_params":${JSON.stringify(syncParams)},"epoch_id":0,"version":${IG_SYNC_VERSION},"failure_count":${init.retries}}`;
  const payload = { app_id: init.appId, device_id: init.deviceId, payload: query, request_id: FIRST_REQUEST_ID + init.retries, type: 2 };
  return new TextEncoder().encode(JSON.stringify(payload));
}

export interface ParsedSyncInit {
  appId: string;
  deviceId: string;
  requestId: number;
  database: number;
  seqId: string;
  version: number;
  syncParams: Record<string, unknown>;
}

const badFrame = (what: string): never => {
  throw new InstagramError('bad-frame', `database 223 stream: ${what}`);
};

function parseObject(text: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return badFrame(`${what} is not JSON`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return badFrame(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** The init payload as the gateway reads it (the emulator's side). */
export function parseSyncInit(bytes: Uint8Array): ParsedSyncInit {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return badFrame('the init payload is not UTF-8');
  }
  const outer = parseObject(text, 'the init payload');
  if (outer.type !== 2 || typeof outer.payload !== 'string' || typeof outer.request_id !== 'number') return badFrame('the init payload lacks type 2, payload or request_id');
  const query = parseObject(outer.payload, 'the database query');
  const cursorText = typeof query.last_applied_cursor === 'string' ? query.last_applied_cursor : '{"seq_id":0}';
  const seqId = /^\{\s*"seq_id"\s*:\s*"?(\d{1,19})"?\s*\}$/.exec(cursorText)?.[1] ?? badFrame('last_applied_cursor is not {"seq_id":N}');
  return {
    appId: String(outer.app_id ?? ''),
    deviceId: String(outer.device_id ?? ''),
    requestId: outer.request_id,
    database: Number(query.database),
    seqId: seqId.replace(/^0+(?=\d)/, ''),
    version: Number(query.version),
    syncParams: typeof query.sync_params === 'string' ? parseObject(query.sync_params, 'sync_params') : {},
  };
}

/** One frame of the stream: `{request_id, payload: base64(LSResponse)}`. */
export function encodeSyncFrame(requestId: number, res: IGLSResponse): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ request_id: requestId, payload: Buffer.from(encodeLSResponse(res)).toString('base64') }));
}

export function decodeSyncFrame(bytes: Uint8Array): { requestId: number | undefined; response: IGLSResponse } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return badFrame('a frame is not UTF-8');
  }
  const frame = parseObject(text, 'a frame');
  if (typeof frame.payload !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(frame.payload)) return badFrame('a frame has no base64 payload');
  const requestId = typeof frame.request_id === 'number' ? frame.request_id : undefined;
  return { requestId, response: decodeLSResponse(new Uint8Array(Buffer.from(frame.payload, 'base64'))) };
}
