import assert from 'node:assert/strict';
import { HttpError } from '../../shared/src/matrix/http-util.js';
import { parseTransaction } from '../../shared/src/matrix/transaction.js';

const EV = { event_id: '$e1', room_id: '!r:example.org', sender: '@a:example.org', type: 'm.room.message', origin_server_ts: 5, content: { body: 'x' } };
const TD = { type: 'm.room.encrypted', sender: '@a:example.org', to_user_id: '@bot:example.org', to_device_id: 'DEV', content: { ciphertext: {} } };
const OTK = { '@bot:example.org': { DEV: { signed_curve25519: 49 } } };

/** Asserts parseTransaction refuses `body` with 400 M_BAD_JSON and a message naming `field`. */
function refuses(body: Record<string, unknown>, field: string | RegExp): void {
  assert.throws(() => parseTransaction(body), (err: unknown) => {
    assert.ok(err instanceof HttpError, `expected HttpError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.errcode, 'M_BAD_JSON');
    if (typeof field === 'string') assert.ok(err.message.includes(field), `"${err.message}" should name ${field}`);
    else assert.match(err.message, field);
    return true;
  });
}

describe('parseTransaction', () => {
  describe('accepts', () => {
    it('a minimal transaction with no events', () => {
      const t = parseTransaction({ events: [] });
      assert.deepEqual(t, { events: [], ephemeral: [], crypto: { toDevice: [], oneTimeKeyCounts: undefined, unusedFallbackKeyTypes: undefined, deviceLists: undefined } });
    });

    it('room events, defaulting a missing content to {}', () => {
      const { content: _c, ...noContent } = EV;
      const t = parseTransaction({ events: [EV, { ...noContent, event_id: '$e2', state_key: '', type: 'm.room.create', unsigned: { age: 1 } }] });
      assert.deepEqual(t.events[0], EV);
      assert.deepEqual(t.events[1]!.content, {});
      assert.equal(t.events[1]!.state_key, '');
    });

    it('stable `ephemeral`', () => {
      const t = parseTransaction({ events: [], ephemeral: [{ type: 'm.typing', room_id: '!r:example.org', content: { user_ids: ['@a:example.org'] } }] });
      assert.deepEqual(t.ephemeral, [{ type: 'm.typing', room_id: '!r:example.org', content: { user_ids: ['@a:example.org'] } }]);
    });

    it('unstable `de.sorunome.msc2409.ephemeral`, with content defaulting to {}', () => {
      const t = parseTransaction({ events: [], 'de.sorunome.msc2409.ephemeral': [{ type: 'm.presence', sender: '@a:example.org' }] });
      assert.deepEqual(t.ephemeral, [{ type: 'm.presence', sender: '@a:example.org', content: {} }]);
    });

    it('unstable `de.sorunome.msc2409.to_device` (and the stable spelling)', () => {
      assert.deepEqual(parseTransaction({ events: [], 'de.sorunome.msc2409.to_device': [TD] }).crypto.toDevice, [TD]);
      assert.deepEqual(parseTransaction({ events: [], to_device: [TD] }).crypto.toDevice, [TD]);
    });

    it('both MSC3202 one-time-key count spellings', () => {
      assert.deepEqual(parseTransaction({ events: [], 'org.matrix.msc3202.device_one_time_keys_count': OTK }).crypto.oneTimeKeyCounts, OTK);
      assert.deepEqual(parseTransaction({ events: [], 'org.matrix.msc3202.device_one_time_key_counts': OTK }).crypto.oneTimeKeyCounts, OTK);
    });

    it('MSC3202 unused fallback key types and device lists', () => {
      const t = parseTransaction({
        events: [],
        'org.matrix.msc3202.device_unused_fallback_key_types': { '@bot:example.org': { DEV: ['signed_curve25519'] } },
        'org.matrix.msc3202.device_lists': { changed: ['@a:example.org'], left: ['@b:example.org'] },
      });
      assert.deepEqual(t.crypto.unusedFallbackKeyTypes, { '@bot:example.org': { DEV: ['signed_curve25519'] } });
      assert.deepEqual(t.crypto.deviceLists, { changed: ['@a:example.org'], left: ['@b:example.org'] });
    });
  });

  describe('refuses with 400 M_BAD_JSON naming the field', () => {
    it('a missing events list', () => refuses({}, 'events'));
    it('events that is not an array', () => refuses({ events: {} }, 'events'));
    it('an event that is not an object', () => refuses({ events: [EV, 'x'] }, 'events[1]'));

    const eventCases: Array<[string, Record<string, unknown>]> = [
      ['event_id', { event_id: undefined }],
      ['event_id', { event_id: 'e1' }],
      ['event_id', { event_id: '$has space' }],
      ['event_id', { event_id: `$${'x'.repeat(300)}` }],
      ['room_id', { room_id: '#alias:example.org' }],
      ['room_id', { room_id: 7 }],
      ['sender', { sender: 'alice' }],
      ['sender', { sender: '@' }],
      ['type', { type: '' }],
      ['type', { type: 3 }],
      ['state_key', { state_key: 1 }],
      ['origin_server_ts', { origin_server_ts: '5' }],
      ['origin_server_ts', { origin_server_ts: Number.NaN }],
      ['content', { content: [] }],
      ['content', { content: 'text' }],
      ['unsigned', { unsigned: 'x' }],
      ['redacts', { redacts: 'not-an-event-id' }],
    ];
    for (const [field, patch] of eventCases) {
      it(`events[0].${field} = ${JSON.stringify(Object.values(patch)[0]) ?? 'missing'}`, () =>
        refuses({ events: [{ ...EV, ...patch }] }, `events[0].${field}`));
    }

    it('ephemeral that is not an array', () => refuses({ events: [], ephemeral: {} }, 'ephemeral'));
    it('de.sorunome.msc2409.ephemeral that is not an array', () =>
      refuses({ events: [], 'de.sorunome.msc2409.ephemeral': 'x' }, 'de.sorunome.msc2409.ephemeral'));
    it('an ephemeral event without a type', () => refuses({ events: [], ephemeral: [{ content: {} }] }, 'ephemeral[0]'));
    it('an ephemeral event whose content is not an object', () =>
      refuses({ events: [], ephemeral: [{ type: 'm.typing', content: [1] }] }, 'ephemeral[0].content'));
    it('de.sorunome.msc2409.to_device that is not an array', () =>
      refuses({ events: [], 'de.sorunome.msc2409.to_device': {} }, 'de.sorunome.msc2409.to_device'));
    for (const [what, patch] of [['type', { type: 1 }], ['sender', { sender: undefined }], ['content', { content: 'x' }]] as const) {
      it(`a to-device event with a bad ${what}`, () =>
        refuses({ events: [], 'de.sorunome.msc2409.to_device': [TD, { ...TD, ...patch }] }, 'to_device[1]'));
    }
    it('org.matrix.msc3202.device_one_time_keys_count that is not an object', () =>
      refuses({ events: [], 'org.matrix.msc3202.device_one_time_keys_count': [1] }, 'org.matrix.msc3202.device_one_time_keys_count'));
    it('org.matrix.msc3202.device_one_time_key_counts that is not an object', () =>
      refuses({ events: [], 'org.matrix.msc3202.device_one_time_key_counts': 'x' }, /org\.matrix\.msc3202\.device_one_time_key/));
    it('org.matrix.msc3202.device_unused_fallback_key_types that is not an object', () =>
      refuses({ events: [], 'org.matrix.msc3202.device_unused_fallback_key_types': 3 }, 'org.matrix.msc3202.device_unused_fallback_key_types'));
    it('org.matrix.msc3202.device_lists that is not an object', () =>
      refuses({ events: [], 'org.matrix.msc3202.device_lists': ['@a:example.org'] }, 'org.matrix.msc3202.device_lists'));
    it('org.matrix.msc3202.device_lists.changed / .left that are not lists of user ids', () => {
      refuses({ events: [], 'org.matrix.msc3202.device_lists': { changed: '@a:example.org' } }, 'org.matrix.msc3202.device_lists.changed');
      refuses({ events: [], 'org.matrix.msc3202.device_lists': { left: [1] } }, 'org.matrix.msc3202.device_lists.left');
      refuses({ events: [], 'org.matrix.msc3202.device_lists': { changed: ['@a:example.org', 'not a user'] } }, 'org.matrix.msc3202.device_lists.changed');
    });
  });
});
