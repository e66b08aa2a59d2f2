/**
 * Generators for appservice transaction bodies: a valid transaction, then broken in one or more
 * places (a field removed, of the wrong type, a hostile id, deep nesting, many events, the MSC2409
 * and MSC3202 fields malformed).
 */
import fc from 'fast-check';
import { hostileText } from './arbitraries-text.js';
import { nested } from './arbitraries-http.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const wrongValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, 0, -1, 1e308, '', 'x', [], {}, [1], { a: 1 }, '$', '!', '@', '$e v', '$\u0000', '$\ud800', '@u:s\n', 'x'.repeat(300)),
  hostileText(12),
  fc.json({ maxDepth: 2 }).map((s) => JSON.parse(s) as Json),
);

const validEvent: fc.Arbitrary<Record<string, Json>> = fc
  .record({
    n: fc.nat(1_000_000),
    type: fc.constantFrom('m.room.message', 'm.reaction', 'm.room.member', 'm.room.redaction', 'm.room.encrypted', 'x.y'),
    body: hostileText(20),
    state: fc.boolean(),
  })
  .map(({ n, type, body, state }) => ({
    event_id: `$ev${n}`,
    room_id: '!room:example.org',
    sender: '@alice:example.org',
    type,
    origin_server_ts: 1_700_000_000_000 + n,
    content: { msgtype: 'm.text', body },
    ...(state ? { state_key: '' } : {}),
  }));

const EVENT_FIELDS = ['event_id', 'room_id', 'sender', 'type', 'origin_server_ts', 'content', 'state_key', 'unsigned', 'redacts'];
const TOP_FIELDS = ['events', 'ephemeral', 'de.sorunome.msc2409.ephemeral', 'to_device', 'de.sorunome.msc2409.to_device', 'org.matrix.msc3202.device_one_time_keys_count', 'org.matrix.msc3202.device_unused_fallback_key_types', 'org.matrix.msc3202.device_lists'];

type Mutation = (txn: Record<string, Json>) => void;

function firstEvent(txn: Record<string, Json>): Record<string, Json> | undefined {
  const events = txn.events;
  const first = Array.isArray(events) ? events[0] : undefined;
  return typeof first === 'object' && first !== null && !Array.isArray(first) ? first : undefined;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constantFrom(...EVENT_FIELDS), wrongValue).map(([field, value]): Mutation => (txn) => {
    const ev = firstEvent(txn);
    if (ev) ev[field] = value;
  }),
  fc.constantFrom(...EVENT_FIELDS).map((field): Mutation => (txn) => {
    const ev = firstEvent(txn);
    if (ev) delete ev[field];
  }),
  fc.tuple(fc.constantFrom(...TOP_FIELDS), wrongValue).map(([field, value]): Mutation => (txn) => {
    txn[field] = value;
  }),
  fc.constantFrom(...TOP_FIELDS).map((field): Mutation => (txn) => {
    delete txn[field];
  }),
  fc.tuple(fc.constantFrom('ephemeral', 'to_device', 'events'), wrongValue).map(([field, value]): Mutation => (txn) => {
    txn[field] = [value];
  }),
  fc.constantFrom<Mutation>(
    (txn) => void (txn['org.matrix.msc3202.device_lists'] = { changed: ['@a:s', 5], left: 'x' }),
    (txn) => void (txn['de.sorunome.msc2409.to_device'] = [{ type: 'm.room_key', sender: '@a:s', content: {}, to_user_id: '@b:s', to_device_id: 'D' }]),
    (txn) => void (txn.ephemeral = [{ type: 'm.typing', room_id: '!room:example.org', content: { user_ids: ['@a:s'] } }, { type: 'm.receipt', content: 'x' }]),
    (txn) => void ((firstEvent(txn) ?? {}).content = { 'm.relates_to': { rel_type: 'm.replace', event_id: 5 }, body: null }),
  ),
);

/** A transaction: valid, or broken by one to three mutations. */
export const txnObject: fc.Arbitrary<Record<string, Json>> = fc
  .tuple(fc.array(validEvent, { maxLength: 5 }), fc.array(mutation, { maxLength: 3 }))
  .map(([events, mutations]) => {
    const txn: Record<string, Json> = { events };
    for (const m of mutations) m(txn);
    return txn;
  });

/**
 * Bodies that stress the parser and the database write rather than the validation: deep
 * nesting in a valid event's content or at the top, many events, long strings, lone surrogates
 * escaped in ids.
 */
export const stressTxnText: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 100, max: 200_000 }).map((d) => `{"events":[{"event_id":"$deep${d}","room_id":"!r:s","sender":"@a:s","type":"m.room.message","origin_server_ts":1,"content":${nested(d, '{"a":', '}')}}]}`),
  fc.integer({ min: 100, max: 200_000 }).map((d) => `{"events":[],"x":${nested(d, '[', ']')}}`),
  fc.integer({ min: 100, max: 200_000 }).map((d) => nested(d, '[', ']')),
  fc.integer({ min: 100, max: 2000 }).map((n) => JSON.stringify({ events: Array.from({ length: n }, (_, i) => ({ event_id: `$many${n}_${i}`, room_id: '!r:s', sender: '@a:s', type: 't', origin_server_ts: i, content: {} })) })),
  fc.constantFrom(
    '{"events":[{"event_id":"$\\ud800","room_id":"!r:s","sender":"@a:s","type":"t","origin_server_ts":1}]}',
    '{"events":[{"event_id":"$a\\u0000b","room_id":"!r:s","sender":"@a:s","type":"t","origin_server_ts":1}]}',
    '{"events":[{"event_id":"$x","room_id":"!r:s","sender":"@a:s","type":"t","origin_server_ts":1,"content":{"body":"\\udfff\\u0000"}}]}',
    `{"events":[{"event_id":"$long","room_id":"!r:s","sender":"@a:s","type":"t","origin_server_ts":1,"content":{"body":"${'x'.repeat(500_000)}"}}]}`,
  ),
);
