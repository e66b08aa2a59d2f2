/**
 * `/ws/mqttbypass`: MQTT publishes carried as Thrift compact structs on one persistent DGW stream
 * (facts from mautrix-meta's mqttbypass.thrift and mqttbypass.go):
 *
 *   RequestPayload (union)   1 connectRequest, 2 publishRequest, 3 subscribeRequest, 4 unsubscribeRequest
 *   ConnectRequest           1 sessionId i64, 2 clientCapabilities i64, 3 userAgent, 4 deviceId,
 *                            5 familyDeviceId, 6 subscription SubscribeRequest, 7 appSpecificInfo?,
 *                            8 publishes list<PublishRequest>?
 *   PublishRequest           1 payload binary, 2 mqttTopic string, 3 clientTraceInfo?
 *   SubscribeRequest         1 topics list<string>
 *   ResponsePayload (union)  1 publishResponse {1 payload, 2 mqttTopic}, 2 errorResponse {1 code i32, 2 message}
 *
 * The stream's init payload is a ConnectRequest with the device id and no topics; a typing
 * indicator is a PublishRequest on `/ig_send_message` whose payload is the JSON
 * `{action:"indicate_activity", activity_status: 1|0, client_context, thread_id}`, sent without
 * asking for an ack (all facts).
 */
import { InstagramError } from './errors.js';
import { decodeStruct, encodeStruct, field, struct, tv, type TStruct } from './thrift-compact.js';

export const IG_SEND_MESSAGE_TOPIC = '/ig_send_message';

export interface MqttConnectRequest {
  sessionId: bigint;
  clientCapabilities: bigint;
  userAgent: string;
  deviceId: string;
  familyDeviceId: string;
  topics: string[];
  appSpecificInfo?: string;
}

export interface MqttPublish {
  topic: string;
  payload: Uint8Array;
}

export type MqttRequestPayload =
  | { kind: 'connect'; connect: MqttConnectRequest }
  | { kind: 'publish'; publish: MqttPublish }
  | { kind: 'subscribe'; topics: string[] }
  | { kind: 'unsubscribe'; topics: string[] };

export type MqttResponsePayload =
  | { kind: 'publish'; publish: MqttPublish }
  /** ErrorCode: 0 Unknown, 1 Timeout (facts). */
  | { kind: 'error'; code: number; message: string };

const publishStruct = (p: MqttPublish) => tv.struct([[1, tv.binary(p.payload)], [2, tv.binary(p.topic)]]);

export function encodeMqttRequest(req: MqttRequestPayload): Uint8Array {
  switch (req.kind) {
    case 'connect': {
      const c = req.connect;
      return encodeStruct(struct([[1, tv.struct([
        [1, tv.i64(c.sessionId)], [2, tv.i64(c.clientCapabilities)], [3, tv.binary(c.userAgent)], [4, tv.binary(c.deviceId)],
        [5, tv.binary(c.familyDeviceId)], [6, tv.struct([[1, tv.strings(c.topics)]])],
        [7, c.appSpecificInfo !== undefined ? tv.binary(c.appSpecificInfo) : undefined],
      ])]]));
    }
    case 'publish':
      return encodeStruct(struct([[2, publishStruct(req.publish)]]));
    case 'subscribe':
      return encodeStruct(struct([[3, tv.struct([[1, tv.strings(req.topics)]])]]));
    case 'unsubscribe':
      return encodeStruct(struct([[4, tv.struct([[1, tv.strings(req.topics)]])]]));
  }
}

function required<T>(v: T | undefined, where: string): T {
  if (v === undefined) throw new InstagramError('bad-thrift', `thrift: ${where} is missing`);
  return v;
}

function topicsOf(s: TStruct, where: string): string[] {
  const list = required(field.get(s, 1, 'list', where), `${where}.topics`);
  return list.v.map((item) => {
    if (item.t !== 'binary') throw new InstagramError('bad-thrift', `thrift: ${where}.topics holds a ${item.t}`);
    return new TextDecoder().decode(item.v);
  });
}

function decodePublish(s: TStruct, where: string): MqttPublish {
  return { payload: required(field.get(s, 1, 'binary', where), `${where}.payload`).v, topic: required(field.string(s, 2, where), `${where}.mqttTopic`) };
}

export function decodeMqttRequest(bytes: Uint8Array): MqttRequestPayload {
  const [id, value] = field.union(decodeStruct(bytes), 'RequestPayload');
  if (value.t !== 'struct') throw new InstagramError('bad-thrift', `thrift: RequestPayload field ${id} is not a struct`);
  const s = value.v;
  switch (id) {
    case 1: {
      const sub = required(field.get(s, 6, 'struct', 'ConnectRequest'), 'ConnectRequest.subscription');
      const info = field.string(s, 7, 'ConnectRequest');
      return {
        kind: 'connect',
        connect: {
          sessionId: required(field.get(s, 1, 'i64', 'ConnectRequest'), 'ConnectRequest.sessionId').v,
          clientCapabilities: required(field.get(s, 2, 'i64', 'ConnectRequest'), 'ConnectRequest.clientCapabilities').v,
          userAgent: required(field.string(s, 3, 'ConnectRequest'), 'ConnectRequest.userAgent'),
          deviceId: required(field.string(s, 4, 'ConnectRequest'), 'ConnectRequest.deviceId'),
          familyDeviceId: required(field.string(s, 5, 'ConnectRequest'), 'ConnectRequest.familyDeviceId'),
          topics: topicsOf(sub.v, 'SubscribeRequest'),
          ...(info !== undefined ? { appSpecificInfo: info } : {}),
        },
      };
    }
    case 2: return { kind: 'publish', publish: decodePublish(s, 'PublishRequest') };
    case 3: return { kind: 'subscribe', topics: topicsOf(s, 'SubscribeRequest') };
    case 4: return { kind: 'unsubscribe', topics: topicsOf(s, 'UnsubscribeRequest') };
    default: throw new InstagramError('bad-thrift', `thrift: RequestPayload has unknown field ${id}`);
  }
}

export function encodeMqttResponse(res: MqttResponsePayload): Uint8Array {
  if (res.kind === 'publish') return encodeStruct(struct([[1, publishStruct(res.publish)]]));
  return encodeStruct(struct([[2, tv.struct([[1, tv.i32(res.code)], [2, tv.binary(res.message)]])]]));
}

export function decodeMqttResponse(bytes: Uint8Array): MqttResponsePayload {
  const [id, value] = field.union(decodeStruct(bytes), 'ResponsePayload');
  if (value.t !== 'struct') throw new InstagramError('bad-thrift', `thrift: ResponsePayload field ${id} is not a struct`);
  if (id === 1) return { kind: 'publish', publish: decodePublish(value.v, 'PublishResponse') };
  if (id === 2) {
    return {
      kind: 'error',
      code: required(field.get(value.v, 1, 'i32', 'ErrorResponse'), 'ErrorResponse.code').v,
      message: required(field.string(value.v, 2, 'ErrorResponse'), 'ErrorResponse.message'),
    };
  }
  throw new InstagramError('bad-thrift', `thrift: ResponsePayload has unknown field ${id}`);
}

/** The JSON of a typing publish on /ig_send_message (keys are facts). */
export interface IndicateActivity {
  action: 'indicate_activity';
  activity_status: 0 | 1;
  client_context: string;
  thread_id: string;
}

export function indicateActivity(threadId: string, typing: boolean, clientContext = ''): IndicateActivity {
  return { action: 'indicate_activity', activity_status: typing ? 1 : 0, client_context: clientContext, thread_id: threadId };
}

export function parseIndicateActivity(payload: Uint8Array): IndicateActivity | undefined {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (o.action !== 'indicate_activity' || typeof o.thread_id !== 'string' || (o.activity_status !== 0 && o.activity_status !== 1)) return undefined;
  return { action: 'indicate_activity', activity_status: o.activity_status, client_context: typeof o.client_context === 'string' ? o.client_context : '', thread_id: o.thread_id };
}
