/**
 * The database 223 stream's init payload (the shape instameow sends, field by field), its reading
 * on the gateway's side, and the `{request_id, payload: base64(LSResponse)}` frames, with bad
 * frames refused as bad-frame.
 */
import assert from 'node:assert/strict';
import { buildSyncInit, decodeSyncFrame, encodeSyncFrame, parseSyncInit } from '../../bridges/meta/src/instagram/sync-request.js';
import { igErrorCode } from '../helpers/instagram-errors.js';

const text = (s: string) => new TextEncoder().encode(s);
const code = igErrorCode;

describe('Instagram database 223 stream', () => {
  it('the init payload: {app_id, device_id, payload: DatabaseQuery, request_id: 4 + retries, type: 2}', () => {
    const bytes = buildSyncInit({ appId: '936619743392459', deviceId: 'dev-1', seqId: '123456789012345678', snapshotAtMs: 1_700_000_000_000, retries: 2 });
    const raw = new TextDecoder().decode(bytes);
    const outer = JSON.parse(raw) as Record<string, unknown>;
    assert.deepEqual(Object.keys(outer), ['app_id', 'device_id', 'payload', 'request_id', 'type']);
    assert.deepEqual({ ...outer, payload: undefined }, { app_id: '936619743392459', device_id: 'dev-1', payload: undefined, request_id: 6, type: 2 });
    const query = outer.payload as string;
    // seq_id keeps all 18 digits (beyond 2^53), as a bare JSON number inside the cursor text.
    assert.ok(query.includes('"last_applied_cursor":"{\\"seq_id\\":123456789012345678}"'), query);
    const q = JSON.parse(query) as Record<string, unknown>;
    assert.deepEqual(Object.keys(q), ['database', 'last_applied_cursor', 'sync_params', 'epoch_id', 'version', 'failure_count']);
    assert.equal(q.database, 223);
    assert.equal(q.epoch_id, 0);
    assert.equal(q.version, -3);
    assert.equal(q.failure_count, 2);
    assert.deepEqual(JSON.parse(q.sync_params as string), { user_agent: 'WMI Web', snapshot_at_ms: 1_700_000_000_000, prevalidated_graphql_doc_id: '28239922265610241' });
  });

  it('the gateway reads it back, seq_id exact', () => {
    const parsed = parseSyncInit(buildSyncInit({ appId: 'a', deviceId: 'd', seqId: '9007199254740993', snapshotAtMs: 0, retries: 0 }));
    assert.deepEqual(parsed, {
      appId: 'a', deviceId: 'd', requestId: 4, database: 223, seqId: '9007199254740993', version: -3,
      syncParams: { user_agent: 'WMI Web', snapshot_at_ms: 0, prevalidated_graphql_doc_id: '28239922265610241' },
    });
  });

  it('refuses a seq_id that is not a non-negative integer, and init payloads of another shape', () => {
    assert.equal(code(() => buildSyncInit({ appId: 'a', deviceId: 'd', seqId: '-1', snapshotAtMs: 0, retries: 0 })), 'invalid-field');
    assert.equal(code(() => buildSyncInit({ appId: 'a', deviceId: 'd', seqId: '1e5', snapshotAtMs: 0, retries: 0 })), 'invalid-field');
    assert.equal(code(() => parseSyncInit(text('nope'))), 'bad-frame');
    assert.equal(code(() => parseSyncInit(text('{"type":1,"payload":"{}","request_id":1}'))), 'bad-frame');
    assert.equal(code(() => parseSyncInit(text('{"type":2,"payload":"{\\"last_applied_cursor\\":\\"{}\\"}","request_id":1}'))), 'bad-frame');
    assert.equal(code(() => parseSyncInit(Uint8Array.of(0xff))), 'bad-frame');
  });

  it('frames: {request_id, payload: base64 of the protobuf}, both ways', () => {
    const frame = encodeSyncFrame(6, { operations: [{ op: 'noop' }] });
    // noop LSResponse is 12 02 22 00 -> base64 "EgIiAA=="
    assert.equal(new TextDecoder().decode(frame), '{"request_id":6,"payload":"EgIiAA=="}');
    assert.deepEqual(decodeSyncFrame(text('{"request_id":6,"payload":"EgIiAA=="}')), { requestId: 6, response: { operations: [{ op: 'noop' }] } });
    assert.equal(code(() => decodeSyncFrame(text('{"request_id":6}'))), 'bad-frame');
    assert.equal(code(() => decodeSyncFrame(text('{"payload":"not base64!"}'))), 'bad-frame');
    assert.equal(code(() => decodeSyncFrame(text('[]'))), 'bad-frame');
    // base64 of bytes that are not an LSResponse: the protobuf error comes through
    assert.equal(code(() => decodeSyncFrame(text('{"payload":"Cw=="}'))), 'bad-protobuf');
  });
});
