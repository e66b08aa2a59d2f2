/**
 * Instagram's mdCoreSync.LSResponse codec on hand-made bytes (written out as hex, so a decoder bug
 * cannot hide behind a matching encoder): every operation kind, transaction params, int64 seq ids
 * beyond 2^53, negative int32s, unknown fields skipped, and malformed input refused by name.
 */
import assert from 'node:assert/strict';
import { decodeLSResponse, encodeLSResponse, type IGLSResponse } from '../../bridges/meta/src/instagram/ls-response.js';
import { ProtoReader, ProtoWriter } from '../../bridges/meta/src/instagram/protobuf.js';
import { igErrorCode } from '../helpers/instagram-errors.js';

const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const code = igErrorCode;

/** Each fixture: the bytes (by hand, see the comments) and what they mean. */
const fixtures: Array<{ name: string; wire: string; value: IGLSResponse }> = [
  {
    // operations[0] = Operation{subscribe = {groupID 1, subscribedSeqID 300, latestSeqID 301}}
    name: 'subscribe',
    wire: '12 0a  0a 08  08 01  10 ac 02  18 ad 02',
    value: { operations: [{ op: 'subscribe', groupId: 1, subscribedSeqId: 300n, latestSeqId: 301n }] },
  },
  {
    // Operation{resnapshot = {groupID 1, errorMessage "old", errorType 2}}
    name: 'resnapshot',
    wire: '12 0b  12 09  08 01  12 03 6f 6c 64  18 02',
    value: { operations: [{ op: 'resnapshot', groupId: 1, errorMessage: 'old', errorType: 2 }] },
  },
  {
    // Operation{delta = {groupID 1, delta "[]"}}
    name: 'delta',
    wire: '12 08  1a 06  08 01  12 02 5b 5d',
    value: { operations: [{ op: 'delta', groupId: 1, delta: '[]' }] },
  },
  { name: 'noop', wire: '12 02  22 00', value: { operations: [{ op: 'noop' }] } },
  {
    // Operation{failure = {groupID 7, errorMessage "bad"}}
    name: 'failure',
    wire: '12 09  2a 07  08 07  12 03 62 61 64',
    value: { operations: [{ op: 'failure', groupId: 7, errorMessage: 'bad' }] },
  },
  {
    // transactionParams = {nextCursor "5", userID 1}
    name: 'transaction params',
    wire: '1a 05  2a 01 35  40 01',
    value: { operations: [], transactionParams: { nextCursor: '5', userId: 1n } },
  },
];

describe('Instagram LSResponse protobuf', () => {
  for (const f of fixtures) {
    it(`decodes and encodes the ${f.name} fixture byte for byte`, () => {
      assert.deepEqual(decodeLSResponse(hex(f.wire)), f.value);
      assert.equal(toHex(encodeLSResponse(f.value)), toHex(hex(f.wire)));
    });
  }

  it('keeps several operations in order', () => {
    const wire = hex('12 08 1a 06 08 01 12 02 5b 5d  12 02 22 00  12 0a 0a 08 08 01 10 ac 02 18 ad 02');
    assert.deepEqual(decodeLSResponse(wire).operations.map((o) => o.op), ['delta', 'noop', 'subscribe']);
  });

  it('reads int64 seq ids beyond 2^53 exactly, and negative int32 as ten-byte varints', () => {
    // subscribedSeqID 2^62 + 5: varint 85, seven 80s, 40 (nine bytes)
    const big = 2n ** 62n + 5n;
    const w = new ProtoWriter().varint(2, big).finish();
    assert.equal(toHex(w), '10858080808080808040');
    const op = decodeLSResponse(hex('12 0c 0a 0a 10858080808080808040')).operations[0];
    assert.deepEqual(op, { op: 'subscribe', subscribedSeqId: big });
    // groupID -1: ff ff ff ff ff ff ff ff ff 01
    const neg = decodeLSResponse(hex('12 0d 0a 0b 08 ff ff ff ff ff ff ff ff ff 01')).operations[0];
    assert.deepEqual(neg, { op: 'subscribe', groupId: -1 });
    assert.equal(toHex(new ProtoWriter().varint(1, -1).finish()), '08ffffffffffffffffff01');
  });

  it('skips fields it does not know, of every wire type', () => {
    // field 15 fixed32, field 14 fixed64, field 13 varint, field 12 bytes, then a noop operation
    const wire = hex('7d 01020304  71 0102030405060708  68 05  62 02 aabb  12 02 22 00');
    assert.deepEqual(decodeLSResponse(wire), { operations: [{ op: 'noop' }] });
    // an Operation whose only field is a kind newer than ours is refused as empty
    assert.equal(code(() => decodeLSResponse(hex('12 02 32 00'))), 'bad-protobuf');
  });

  it('refuses malformed bytes with bad-protobuf, naming the problem', () => {
    assert.equal(code(() => decodeLSResponse(hex('12 05 0a 03'))), 'bad-protobuf'); // truncated
    assert.equal(code(() => decodeLSResponse(hex('0b'))), 'bad-protobuf'); // wire type 3 (groups)
    assert.equal(code(() => decodeLSResponse(hex('12 ffffffffffffffffffffff'))), 'bad-protobuf'); // overlong varint
    assert.equal(code(() => decodeLSResponse(hex('12 03 2a 01 08'))), 'bad-protobuf'); // failure without its required fields
    assert.equal(code(() => decodeLSResponse(hex('12 04 1a 02 12 01'))), 'bad-protobuf'); // string cut short
    assert.equal(code(() => decodeLSResponse(hex('12 05 1a 03 12 01 ff'))), 'bad-protobuf'); // not UTF-8
    assert.equal(code(() => decodeLSResponse(hex('12 02 08 01'))), 'bad-protobuf'); // Operation field 1 is a varint, not a message
    assert.match((() => {
      try {
        decodeLSResponse(hex('12 05 0a 03'));
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })(), /^protobuf: .+ at byte \d+$/);
  });

  it('the reader walks fields one by one and reports the end', () => {
    const r = new ProtoReader(hex('08 96 01  12 01 61'));
    assert.deepEqual(r.next(), { field: 1, wire: 0, int: 150n, bytes: undefined });
    const s = r.next()!;
    assert.equal(s.field, 2);
    assert.deepEqual([...s.bytes!], [0x61]);
    assert.equal(r.next(), undefined);
    assert.equal(r.done, true);
  });
});
