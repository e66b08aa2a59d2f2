/**
 * `/ws/streamcontroller`: a GraphQL subscription on a DGW stream, framed as Thrift compact
 * `requeststream.Payload` structs (facts from mautrix-meta's request_stream thrift file and
 * streamcontroller.go):
 *
 *   Payload (union)         2 request_body {1 body binary}, 3 amend, 4 ack {1 response_id?, 2 ack i32},
 *                           5 response StreamResponse, 6 ping {1 ping_id, 2 caller_timestamp_ms},
 *                           7 pong {1 ping_id, 2 original_ping_timestamp_ms}
 *   StreamResponse          1 response_id i64?, 2 delta list<StreamResponseDelta>, 3 ack_level i32?
 *   StreamResponseDelta     1 flow_status i32 (1 Accepted, 2 Started, 3 Stopped), 2 log {1 message},
 *   (union)                 4 data {1 bytes binary, 2 metadata?}, 5 termination {1 reason i32, 2 message?, 3 retry_delay_ms?}
 *
 * The typing subscription: EstabStream parameters name the GraphQL subscription (x-dgw-app-XRSS-*
 * keys, doc id 27563068933278040, routing hint IGDTypingIndicatorClientSubscription), then one
 * request_body with `{input_data:{user_id}, "%options":{...}}`. Typing arrives as data deltas whose
 * JSON is `{data:{xdt_direct_realtime_event:{event:"patch", data:[{op:"add",
 * path:"/direct_v2/threads/<thread>/activity_indicator_id/<id>", value:"<JSON>"}]}}}` with the
 * value `{timestamp (µs), sender_id, ttl, activity_status, attribution}` (all facts).
 */
import { InstagramError } from './errors.js';
import { decodeStruct, encodeStruct, field, struct, tv, type TStruct, type TValue } from './thrift-compact.js';

export const FLOW_STATUS = { accepted: 1, started: 2, stopped: 3 } as const;
export const IG_TYPING_SUBSCRIPTION_DOC_ID = '27563068933278040';

export type StreamDelta =
  | { kind: 'flow-status'; status: number }
  | { kind: 'log'; message: string }
  | { kind: 'data'; bytes: Uint8Array; metadata?: string }
  | { kind: 'termination'; reason: number; message?: string }
  | { kind: 'other'; field: number };

export type RequestStreamPayload =
  | { kind: 'request-body'; body: Uint8Array }
  | { kind: 'ack'; ack: number; responseId?: bigint }
  | { kind: 'response'; responseId?: bigint; deltas: StreamDelta[] }
  | { kind: 'ping'; pingId: bigint; timestampMs: bigint }
  | { kind: 'pong'; pingId: bigint; timestampMs: bigint }
  | { kind: 'other'; field: number };

function deltaValue(d: StreamDelta): TValue {
  switch (d.kind) {
    case 'flow-status': return tv.struct([[1, tv.i32(d.status)]]);
    case 'log': return tv.struct([[2, tv.struct([[1, tv.binary(d.message)]])]]);
    case 'data': return tv.struct([[4, tv.struct([[1, tv.binary(d.bytes)], [2, d.metadata !== undefined ? tv.binary(d.metadata) : undefined]])]]);
    case 'termination': return tv.struct([[5, tv.struct([[1, tv.i32(d.reason)], [2, d.message !== undefined ? tv.binary(d.message) : undefined]])]]);
    case 'other': throw new InstagramError('invalid-field', `thrift: cannot write delta field ${d.field}`);
  }
}

export function encodeRequestStream(p: RequestStreamPayload): Uint8Array {
  switch (p.kind) {
    case 'request-body': return encodeStruct(struct([[2, tv.struct([[1, tv.binary(p.body)]])]]));
    case 'ack': return encodeStruct(struct([[4, tv.struct([[1, p.responseId !== undefined ? tv.i64(p.responseId) : undefined], [2, tv.i32(p.ack)]])]]));
    case 'response':
      return encodeStruct(struct([[5, tv.struct([
        [1, p.responseId !== undefined ? tv.i64(p.responseId) : undefined],
        [2, { t: 'list', elem: 'struct', v: p.deltas.map(deltaValue) }],
      ])]]));
    case 'ping': return encodeStruct(struct([[6, tv.struct([[1, tv.i64(p.pingId)], [2, tv.i64(p.timestampMs)]])]]));
    case 'pong': return encodeStruct(struct([[7, tv.struct([[1, tv.i64(p.pingId)], [2, tv.i64(p.timestampMs)]])]]));
    case 'other': throw new InstagramError('invalid-field', `thrift: cannot write payload field ${p.field}`);
  }
}

const need = <T>(v: T | undefined, where: string): T => {
  if (v === undefined) throw new InstagramError('bad-thrift', `thrift: ${where} is missing`);
  return v;
};

function decodeDelta(v: TValue): StreamDelta {
  if (v.t !== 'struct') throw new InstagramError('bad-thrift', 'thrift: a StreamResponseDelta is not a struct');
  const [id, inner] = field.union(v.v, 'StreamResponseDelta');
  const s: TStruct = inner.t === 'struct' ? inner.v : new Map();
  switch (id) {
    case 1:
      if (inner.t !== 'i32') throw new InstagramError('bad-thrift', 'thrift: flow_status is not an i32');
      return { kind: 'flow-status', status: inner.v };
    case 2: return { kind: 'log', message: field.string(s, 1, 'LogMessage') ?? '' };
    case 4: {
      const metadata = field.string(s, 2, 'ResponseData');
      return { kind: 'data', bytes: need(field.get(s, 1, 'binary', 'ResponseData'), 'ResponseData.bytes').v, ...(metadata !== undefined ? { metadata } : {}) };
    }
    case 5: {
      const message = field.string(s, 2, 'Termination');
      return { kind: 'termination', reason: need(field.get(s, 1, 'i32', 'Termination'), 'Termination.reason').v, ...(message !== undefined ? { message } : {}) };
    }
    default: return { kind: 'other', field: id };
  }
}

export function decodeRequestStream(bytes: Uint8Array): RequestStreamPayload {
  const [id, value] = field.union(decodeStruct(bytes), 'Payload');
  if (value.t !== 'struct') throw new InstagramError('bad-thrift', `thrift: Payload field ${id} is not a struct`);
  const s = value.v;
  switch (id) {
    case 2: return { kind: 'request-body', body: need(field.get(s, 1, 'binary', 'RequestStreamBody'), 'RequestStreamBody.body').v };
    case 4: {
      const responseId = field.get(s, 1, 'i64', 'StreamResponseAck')?.v;
      return { kind: 'ack', ack: need(field.get(s, 2, 'i32', 'StreamResponseAck'), 'StreamResponseAck.ack').v, ...(responseId !== undefined ? { responseId } : {}) };
    }
    case 5: {
      const responseId = field.get(s, 1, 'i64', 'StreamResponse')?.v;
      const deltas = need(field.get(s, 2, 'list', 'StreamResponse'), 'StreamResponse.delta').v.map(decodeDelta);
      return { kind: 'response', deltas, ...(responseId !== undefined ? { responseId } : {}) };
    }
    case 6:
    case 7: {
      const where = id === 6 ? 'Ping' : 'Pong';
      return {
        kind: id === 6 ? 'ping' : 'pong',
        pingId: need(field.get(s, 1, 'i64', where), `${where}.ping_id`).v,
        timestampMs: need(field.get(s, 2, 'i64', where), `${where}.timestamp`).v,
      };
    }
    default: return { kind: 'other', field: id };
  }
}

/** EstabStream parameters of the typing subscription (keys and values are facts). */
export function typingSubscriptionParameters(): string {
  return JSON.stringify({
    'x-dgw-app-XRSS-method': 'FBGQLS:XDT_DIRECT_REALTIME_EVENT',
    'x-dgw-app-XRSS-doc_id': IG_TYPING_SUBSCRIPTION_DOC_ID,
    'x-dgw-app-XRSS-routing_hint': 'IGDTypingIndicatorClientSubscription',
    'x-dgw-app-xrs-body': 'true',
    'x-dgw-app-XRS-Accept-Ack': 'RSAck',
    'x-dgw-app-XRSS-http_referer': 'https://www.instagram.com/direct/',
  });
}

/** The request body sent right after the typing subscription is established. */
export function typingSubscriptionBody(userId: string): Uint8Array {
  const body = { input_data: { user_id: userId }, '%options': { useOSSResponseFormat: true, client_has_ods_usecase_counters: true } };
  return encodeRequestStream({ kind: 'request-body', body: new TextEncoder().encode(JSON.stringify(body)) });
}

export interface TypingNotification {
  threadId: string;
  senderId: string;
  isTyping: boolean;
  timestampUs: number;
  ttl: number;
}

const TYPING_PATH = /^\/direct_v2\/threads\/(\d+)\/activity_indicator_id\/.+$/;

/** Typing notifications in one data delta's JSON; anything else in it is skipped. */
export function parseTypingData(bytes: Uint8Array): TypingNotification[] {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new InstagramError('bad-slide', 'streamcontroller data is not JSON');
  }
  const ev = (v as { data?: { xdt_direct_realtime_event?: { event?: unknown; data?: unknown } } } | null)?.data?.xdt_direct_realtime_event;
  if (!ev || ev.event !== 'patch' || !Array.isArray(ev.data)) return [];
  const out: TypingNotification[] = [];
  for (const p of ev.data as Array<{ op?: unknown; path?: unknown; value?: unknown }>) {
    const m = p.op === 'add' && typeof p.path === 'string' ? TYPING_PATH.exec(p.path) : null;
    if (!m || typeof p.value !== 'string') continue;
    let value: { sender_id?: unknown; activity_status?: unknown; timestamp?: unknown; ttl?: unknown };
    try {
      value = JSON.parse(p.value) as typeof value;
    } catch {
      continue;
    }
    // sender_id is an int64 JSON number: read its digits from the text, beyond 2^53 too.
    const sender = /"sender_id"\s*:\s*"?(\d{1,20})\b/.exec(p.value)?.[1];
    if (sender === undefined) continue;
    out.push({
      threadId: m[1]!, senderId: sender, isTyping: value.activity_status === 1,
      timestampUs: typeof value.timestamp === 'number' ? value.timestamp : 0, ttl: typeof value.ttl === 'number' ? value.ttl : 0,
    });
  }
  return out;
}

/** The data delta JSON for typing notifications (the emulator writes these). */
export function typingData(threadId: string, senderId: string, typing: boolean, nowMs: number): Uint8Array {
  if (!/^\d{1,20}$/.test(senderId)) throw new InstagramError('invalid-field', 'sender id is not numeric');
  const value = `{"timestamp":${nowMs * 1000},"sender_id":${senderId},"ttl":12000,"activity_status":${typing ? 1 : 0},"attribution":null}`;
  const body = { data: { xdt_direct_realtime_event: { event: 'patch', data: [{ op: 'add', path: `/direct_v2/threads/${threadId}/activity_indicator_id/${nowMs}`, value }] } } };
  return new TextEncoder().encode(JSON.stringify(body));
}
