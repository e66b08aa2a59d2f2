/**
 * The Thrift compact codec and the structs of /ws/mqttbypass and /ws/streamcontroller, on
 * hand-made bytes (hex, worked out in the comments from the compact protocol's rules), plus the
 * typing JSON both ends exchange. Malformed bytes are refused with bad-thrift.
 */
import assert from 'node:assert/strict';
import {
  decodeMqttRequest, decodeMqttResponse, encodeMqttRequest, encodeMqttResponse, indicateActivity, parseIndicateActivity,
} from '../../bridges/meta/src/instagram/mqttbypass.js';
import {
  decodeRequestStream, encodeRequestStream, parseTypingData, typingData, typingSubscriptionBody, typingSubscriptionParameters,
} from '../../bridges/meta/src/instagram/requeststream.js';
import { decodeStruct, encodeStruct, struct, tv } from '../../bridges/meta/src/instagram/thrift-compact.js';
import { igErrorCode } from '../helpers/instagram-errors.js';

const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const text = (s: string) => new TextEncoder().encode(s);
const code = igErrorCode;

describe('Thrift compact protocol', () => {
  it('field headers: short deltas in one byte, long jumps as type + zigzag id; bools in the header', () => {
    // field 20 i32 -1: 05 (type i32, no delta), 28 (zigzag 20), 01 (zigzag -1), 00 stop
    assert.deepEqual(decodeStruct(hex('05 28 01 00')), new Map([[20, { t: 'i32', v: -1 }]]));
    assert.equal(toHex(encodeStruct(struct([[20, tv.i32(-1)]]))), '05280100');
    // field 1 true, field 2 false: 11 12 00
    assert.deepEqual(decodeStruct(hex('11 12 00')), new Map([[1, { t: 'bool', v: true }], [2, { t: 'bool', v: false }]]));
    assert.equal(toHex(encodeStruct(struct([[1, tv.bool(true)], [2, tv.bool(false)]]))), '111200');
    // i64 field 1 = -2^63: 16, then zigzag 2^64-1 as a ten-byte varint
    const min = -(2n ** 63n);
    assert.deepEqual(decodeStruct(hex('16 ffffffffffffffffff01 00')).get(1), { t: 'i64', v: min });
    assert.equal(toHex(encodeStruct(struct([[1, tv.i64(min)]]))), '16ffffffffffffffffff0100');
  });

  it('lists: a short header below 15 elements, 0xF0 and a varint size from 15 on', () => {
    const short = struct([[1, tv.strings(['a', 'b'])]]);
    // 19 (field 1 list), 28 (2 x binary), 01 61, 01 62, 00
    assert.equal(toHex(encodeStruct(short)), '19280161016200');
    const long = struct([[1, { t: 'list', elem: 'i32', v: Array.from({ length: 15 }, () => tv.i32(0)) }]]);
    assert.equal(toHex(encodeStruct(long)), `19f50f${'00'.repeat(15)}00`);
    assert.equal((decodeStruct(hex(`19f50f${'00'.repeat(15)}00`)).get(1) as { v: unknown[] }).v.length, 15);
  });

  it('refuses malformed bytes with bad-thrift', () => {
    assert.equal(code(() => decodeStruct(hex('18 05 61'))), 'bad-thrift'); // binary cut short
    assert.equal(code(() => decodeStruct(hex('1d 00'))), 'bad-thrift'); // type 13 is not one we know
    assert.equal(code(() => decodeStruct(hex('18 00'))), 'bad-thrift'); // no stop byte
    assert.equal(code(() => decodeStruct(hex('00 00'))), 'bad-thrift'); // bytes after the struct
    assert.equal(code(() => decodeStruct(hex('19 f8 ffffffff0f 00'))), 'bad-thrift'); // list size beyond the input
    assert.equal(code(() => decodeStruct(hex('1b 00'))), 'bad-thrift'); // maps are not used
    assert.equal(code(() => decodeStruct(hex(`${'1c'.repeat(40)}${'00'.repeat(41)}`))), 'bad-thrift'); // nesting too deep
  });
});

describe('mqttbypass structs', () => {
  it('a PublishRequest on /ig_send_message, byte for byte', () => {
    // 2c (field 2 struct) 18 02 "hi" (payload) 18 02 "/t" (topic) 00 00
    const wire = '2c 18 02 6869 18 02 2f74 00 00';
    assert.deepEqual(decodeMqttRequest(hex(wire)), { kind: 'publish', publish: { payload: text('hi'), topic: '/t' } });
    assert.equal(toHex(encodeMqttRequest({ kind: 'publish', publish: { payload: text('hi'), topic: '/t' } })), toHex(hex(wire)));
  });

  it('the ConnectRequest init payload: zero ids, the device id, no topics', () => {
    // 1c; 16 00 (sessionId 0) 16 00 (capabilities 0) 18 00 (ua "") 18 01 64 (device "d") 18 00 (family "")
    // 1c 19 08 00 (subscription: topics = empty list<binary>) 00 00
    const wire = '1c 1600 1600 1800 180164 1800 1c 19 08 00 00 00';
    const connect = { sessionId: 0n, clientCapabilities: 0n, userAgent: '', deviceId: 'd', familyDeviceId: '', topics: [] };
    assert.deepEqual(decodeMqttRequest(hex(wire)), { kind: 'connect', connect });
    assert.equal(toHex(encodeMqttRequest({ kind: 'connect', connect })), toHex(hex(wire)));
  });

  it('responses: a publish and an ErrorResponse', () => {
    // 2c 15 02 (code 1) 18 01 "x" 00 00
    assert.deepEqual(decodeMqttResponse(hex('2c 15 02 18 01 78 00 00')), { kind: 'error', code: 1, message: 'x' });
    assert.equal(toHex(encodeMqttResponse({ kind: 'error', code: 1, message: 'x' })), '2c1502180178' + '0000');
    const pub = { kind: 'publish' as const, publish: { payload: text('{}'), topic: '/t' } };
    assert.deepEqual(decodeMqttResponse(encodeMqttResponse(pub)), pub);
  });

  it('refuses a union with no field or two, and a struct missing a required field', () => {
    assert.equal(code(() => decodeMqttRequest(hex('00'))), 'bad-thrift');
    assert.equal(code(() => decodeMqttRequest(hex('1c 00 1c 00 00'))), 'bad-thrift');
    assert.equal(code(() => decodeMqttRequest(hex('2c 18 02 6869 00 00'))), 'bad-thrift'); // publish without topic
    assert.equal(code(() => decodeMqttRequest(hex('2c 15 02 18 02 2f74 00 00'))), 'bad-thrift'); // payload is an i32
  });

  it('the typing publish JSON (indicate_activity) both ways', () => {
    const json = JSON.stringify(indicateActivity('1000000000000001', true));
    assert.deepEqual(JSON.parse(json), { action: 'indicate_activity', activity_status: 1, client_context: '', thread_id: '1000000000000001' });
    assert.deepEqual(parseIndicateActivity(text(json)), indicateActivity('1000000000000001', true));
    assert.equal(parseIndicateActivity(text('{"action":"send_item","thread_id":"1"}')), undefined);
    assert.equal(parseIndicateActivity(text('not json')), undefined);
  });
});

describe('requeststream (streamcontroller) structs', () => {
  it('a StreamResponse with a flow status and a data delta, byte for byte', () => {
    // 5c (field 5 struct); 29 (field 2 list) 2c (2 x struct);
    //   15 04 00 (flow_status 2); 4c 18 02 6162 00 00 (data {bytes "ab"}); 00 00
    const wire = '5c 29 2c 1504 00 4c 18 02 6162 00 00 00 00';
    const value = { kind: 'response' as const, deltas: [{ kind: 'flow-status' as const, status: 2 }, { kind: 'data' as const, bytes: text('ab') }] };
    assert.deepEqual(decodeRequestStream(hex(wire)), value);
    assert.equal(toHex(encodeRequestStream(value)), toHex(hex(wire)));
  });

  it('the request body after the typing subscription', () => {
    // 2c 18 <len> <json> 00 00
    const body = typingSubscriptionBody('15550000000');
    const decoded = decodeRequestStream(body);
    assert.equal(decoded.kind, 'request-body');
    const json = JSON.parse(new TextDecoder().decode((decoded as { body: Uint8Array }).body)) as unknown;
    assert.deepEqual(json, { input_data: { user_id: '15550000000' }, '%options': { useOSSResponseFormat: true, client_has_ods_usecase_counters: true } });
    assert.equal(toHex(body.subarray(0, 2)), '2c18');
    const params = JSON.parse(typingSubscriptionParameters()) as Record<string, string>;
    assert.equal(params['x-dgw-app-XRSS-doc_id'], '27563068933278040');
    assert.equal(params['x-dgw-app-XRSS-method'], 'FBGQLS:XDT_DIRECT_REALTIME_EVENT');
  });

  it('typing notifications from a data delta; other paths and ops skipped', () => {
    const data = typingData('1000000000000001', '15550000001', true, 1_700_000_000_000);
    assert.deepEqual(parseTypingData(data), [{ threadId: '1000000000000001', senderId: '15550000001', isTyping: true, timestampUs: 1_700_000_000_000_000, ttl: 12000 }]);
    // A sender id beyond 2^53 keeps every digit.
    const big = JSON.stringify({ data: { xdt_direct_realtime_event: { event: 'patch', data: [
      { op: 'add', path: '/direct_v2/threads/42/activity_indicator_id/x', value: '{"sender_id":17841400000000000123,"activity_status":0}' },
      { op: 'remove', path: '/direct_v2/threads/42/activity_indicator_id/x', value: '{}' },
      { op: 'add', path: '/direct_v2/threads/42/other', value: '{"sender_id":1}' },
    ] } } });
    assert.deepEqual(parseTypingData(text(big)).map((t) => [t.threadId, t.senderId, t.isTyping]), [['42', '17841400000000000123', false]]);
    assert.deepEqual(parseTypingData(text('{"data":{}}')), []);
    assert.equal(code(() => parseTypingData(text('{'))), 'bad-slide');
  });
});
