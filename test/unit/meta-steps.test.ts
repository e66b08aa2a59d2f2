import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OP, runSteps, LSStepError } from '../../bridges/meta/src/lightspeed/steps.js';
import { parseLSResponse } from '../../bridges/meta/src/lightspeed/response.js';
import { syncCursorUpdates } from '../../bridges/meta/src/lightspeed/tables.js';

const i64 = (s: string) => [OP.I64_FROM_STRING, s];
const U = [OP.UNDEFINED];
const call = (name: string, ...args: unknown[]) => [OP.CALL_STORED_PROCEDURE, name, ...args];
/** Positional arguments: `at` maps index -> value, the rest undefined. */
function args(n: number, at: Record<number, unknown>): unknown[] {
  return Array.from({ length: n }, (_, i) => (i in at ? at[i] : U));
}
const THREAD = '9007199254740993';
const USER = '100012345678901';

function stepError(fn: () => unknown, code: string): LSStepError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LSStepError, `expected LSStepError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected LSStepError ${code}`);
}

describe('meta LightSpeed steps', () => {
  describe('stored procedures -> typed rows', () => {
    const message = args(70, { 0: 'hello', 2: i64('80'), 3: i64(THREAD), 5: i64('1700000000000'), 8: 'mid.$m1', 9: '7000000000000000001', 10: i64(USER), 12: false, 17: false, 21: '1,2', 23: 'mid.$m0', 68: i64('2') });
    const messageRow = { text: 'hello', authorityLevel: 80, threadKey: THREAD, timestampMs: 1_700_000_000_000, messageId: 'mid.$m1', offlineThreadingId: '7000000000000000001', senderId: USER, isAdminMessage: false, isUnsent: false, mentionIds: '1,2', replySourceId: 'mid.$m0', editCount: 2 };

    const cases: Array<[string, unknown[], string, Record<string, unknown>]> = [
      ['insertMessage', message, 'LSInsertMessage', messageRow],
      ['upsertMessage', message, 'LSUpsertMessage', messageRow],
      ['editMessage', ['mid.$m1', i64('80'), 'edited', i64('1')], 'LSEditMessage', { messageId: 'mid.$m1', authorityLevel: 80, text: 'edited', editCount: 1 }],
      ['deleteMessage', [i64(THREAD), 'mid.$m1'], 'LSDeleteMessage', { threadKey: THREAD, messageId: 'mid.$m1' }],
      ['upsertReaction', [i64(THREAD), i64('1700000000001'), 'mid.$m1', i64(USER), '👍', i64('0')], 'LSUpsertReaction', { threadKey: THREAD, timestampMs: 1_700_000_000_001, messageId: 'mid.$m1', actorId: USER, reaction: '👍', authorityLevel: 0 }],
      ['deleteReaction', [i64(THREAD), 'mid.$m1', i64(USER)], 'LSDeleteReaction', { threadKey: THREAD, messageId: 'mid.$m1', actorId: USER }],
      ['deleteThenInsertThread', args(90, { 0: i64('1700000000000'), 2: 'snippet', 3: 'Team', 7: i64(THREAD), 9: i64('2'), 35: i64('-1'), 77: i64('5') }), 'LSDeleteThenInsertThread', { lastActivityTimestampMs: 1_700_000_000_000, snippet: 'snippet', threadName: 'Team', threadKey: THREAD, threadType: 2, parentThreadKey: '-1', memberCount: 5 }],
      ['syncUpdateThreadName', ['New name', i64(THREAD), 'New name'], 'LSSyncUpdateThreadName', { threadName: 'New name', threadKey: THREAD }],
      ['setThreadImageURL', [i64(THREAD), 'https://img/1', U, i64('1700000009999'), true], 'LSSetThreadImageURL', { threadKey: THREAD, imageUrl: 'https://img/1', imageUrlExpiryTimeMs: 1_700_000_009_999, isCustomThreadPicture: true }],
      ['addParticipantIdToGroupThread', args(15, { 0: i64(THREAD), 1: i64(USER), 5: 'Bobby', 6: true, 13: false }), 'LSAddParticipantIdToGroupThread', { threadKey: THREAD, contactId: USER, nickname: 'Bobby', isAdmin: true, isSuperAdmin: false }],
      ['removeParticipantFromThread', [i64(THREAD), i64(USER)], 'LSRemoveParticipantFromThread', { threadKey: THREAD, participantId: USER }],
      ['updateReadReceipt', [i64('1700000000500'), i64(THREAD), i64(USER), i64('1700000000600')], 'LSUpdateReadReceipt', { readWatermarkTimestampMs: 1_700_000_000_500, threadKey: THREAD, contactId: USER, readActionTimestampMs: 1_700_000_000_600 }],
      ['updateTypingIndicator', [i64(THREAD), i64(USER), true], 'LSUpdateTypingIndicator', { threadKey: THREAD, senderId: USER, isTyping: true }],
      ['verifyContactRowExists', args(22, { 0: i64(USER), 2: 'https://pic', 3: 'Bob B', 13: false, 21: 'Bob' }), 'LSVerifyContactRowExists', { contactId: USER, profilePictureUrl: 'https://pic', name: 'Bob B', isSelf: false, firstName: 'Bob' }],
      ['upsertSyncGroupThreadsRange', [i64('1'), i64('-1'), i64('1690000000000'), true, false, i64('123')], 'LSUpsertSyncGroupThreadsRange', { syncGroup: 1, parentThreadKey: '-1', minLastActivityTimestampMs: 1_690_000_000_000, hasMoreBefore: true, isLoadingBefore: false, minThreadKey: '123' }],
      ['executeFirstBlockForSyncTransaction', [i64('95'), i64('7'), 'CUR1', 'CUR2', i64('1'), true, i64('0'), false, i64('1')], 'LSExecuteFirstBlockForSyncTransaction', { databaseId: 95, epochId: '7', currentCursor: 'CUR1', nextCursor: 'CUR2', syncStatus: 1, sendSyncParams: true, minTimeToSyncTimestampMs: 0, canIgnoreTimestamp: false, syncChannel: 1 }],
      ['insertAttachment', args(133, { 1: 'cat.jpg', 2: i64('2048'), 3: true, 10: 'https://preview', 16: i64('640'), 17: i64('480'), 32: i64(THREAD), 34: i64('2'), 35: 'image/jpeg', 37: 'mid.$m1', 39: '555' }), 'LSInsertAttachment', { filename: 'cat.jpg', filesize: 2048, hasMedia: true, previewUrl: 'https://preview', previewWidth: 640, previewHeight: 480, threadKey: THREAD, attachmentType: 2, attachmentMimeType: 'image/jpeg', messageId: 'mid.$m1', attachmentFbid: '555' }],
      ['insertBlobAttachment', args(49, { 0: 'voice.mp4', 3: 'https://audio', 22: i64('3000'), 27: i64(THREAD), 29: i64('3'), 32: 'mid.$m1' }), 'LSInsertBlobAttachment', { filename: 'voice.mp4', playableUrl: 'https://audio', playableDurationMs: 3000, threadKey: THREAD, attachmentType: 3, messageId: 'mid.$m1' }],
    ];
    for (const [procedure, procArgs, table, row] of cases) {
      it(`${procedure} -> ${table}`, () => {
        const result = runSteps([OP.BLOCK, call(procedure, ...procArgs)]);
        assert.deepEqual(result.tables, { [table]: [row] });
        assert.deepEqual(result.warnings, []);
      });
    }

    it('collects unknown procedures by name without failing', () => {
      const result = runSteps([OP.BLOCK, call('mciTraceLog', 'x'), call('mciTraceLog'), call('updateTypingIndicator', i64('1'), i64('2'), false)]);
      assert.deepEqual({ ...result.unknownProcedures }, { mciTraceLog: 2 });
      assert.equal(result.tables.LSUpdateTypingIndicator?.length, 1);
    });

    it('a missing required column is a bad-row error naming it; a wrong optional one is a warning', () => {
      const err = stepError(() => runSteps(call('deleteMessage', i64('1'))), 'bad-row');
      assert.match(err.message, /LSDeleteMessage: required column messageId \(argument 1\)/);
      stepError(() => runSteps(call('updateTypingIndicator', 'not-an-id', i64('2'), true)), 'bad-row');
      const result = runSteps(call('syncUpdateThreadName', i64('5'), i64('1')));
      assert.deepEqual(result.tables.LSSyncUpdateThreadName, [{ threadKey: '1' }]);
      assert.deepEqual(result.warnings, ['LSSyncUpdateThreadName: column threadName (argument 0) is not a str']);
    });

    it('derives sync cursor updates per database', () => {
      const { tables } = runSteps([OP.BLOCK, call('executeFirstBlockForSyncTransaction', i64('1'), i64('9'), 'A', 'B', i64('1'), false), call('executeFirstBlockForSyncTransaction', i64('2'), U, U, U, U, true)]);
      assert.deepEqual(syncCursorUpdates(tables), [{ database: 1, cursor: 'B', sendSyncParams: false }, { database: 2, cursor: null, sendSyncParams: true }]);
    });
  });

  describe('opcodes', () => {
    it('variables, IF/NOT/AND/OR, comparisons and i64 arithmetic drive which procedures run', () => {
      const program = [OP.BLOCK,
        [OP.STORE, 0, i64('41')],
        [OP.STORE, 1, [OP.I64_ADD, [OP.LOAD, 0], i64('1')]],
        [OP.IF, [OP.I64_EQUAL, [OP.LOAD, 1], i64('42')], call('deleteMessage', i64('1'), 'yes'), call('deleteMessage', i64('1'), 'no')],
        [OP.IF, [OP.NOT, [OP.AND, true, [OP.I64_GREATER_THAN, i64('1'), i64('2')]]], call('deleteMessage', i64('2'), 'not-and')],
        [OP.IF, [OP.OR, false, [OP.IS_NULL, U]], call('deleteMessage', i64('3'), 'or-null')],
        [OP.IF, [OP.I64_LESS_THAN_OR_EQUAL, i64('-5'), i64('-5')], call('deleteMessage', i64('4'), [OP.I64_TO_STRING, [OP.LOAD, 1]])],
        [OP.IF, [OP.GENERIC_NOT_EQUAL, 'a', 'a'], call('deleteMessage', i64('5'), 'never')],
        [OP.IF, false, call('deleteMessage', i64('6'), 'never'), null],
      ];
      assert.deepEqual(runSteps(program).tables.LSDeleteMessage?.map((r) => r.messageId), ['yes', 'not-and', 'or-null', '42']);
    });

    it('native arrays, maps, blobs, floats, STORE_ARRAY and the injectable clock', () => {
      const program = [OP.BLOCK,
        [OP.STORE, 0, [OP.ARRAY_APPEND, [OP.ARRAY_CREATE], 'x']],
        [OP.STORE, 1, [OP.MAP_CREATE]],
        [OP.MAP_SET, [OP.LOAD, 1], 'k', 'v'],
        [OP.STORE_ARRAY, 2, 'a', i64('3')],
        [OP.IF, [OP.AND, [OP.I64_EQUAL, [OP.ARRAY_GET_SIZE, [OP.LOAD, 0]], i64('1')], [OP.MAP_HAS, [OP.LOAD, 1], 'k'], [OP.GENERIC_EQUAL, [OP.TO_BLOB, 'AQI='], [OP.TO_BLOB, 'AQI=']]],
          call('syncUpdateThreadName', [OP.MAP_GET, [OP.LOAD, 1], 'k'], [OP.I64_OF_FLOAT, 12.9])],
        call('upsertReaction', i64('1'), [OP.CURRENT_TIME], 'm', i64('2'), 'r'),
        [OP.LOGGER_LOG, 'whatever', ['not evaluated']],
      ];
      const result = runSteps(program, { now: () => 1234 });
      assert.deepEqual(result.tables.LSSyncUpdateThreadName, [{ threadName: 'v', threadKey: '12' }]);
      assert.equal(result.tables.LSUpsertReaction?.[0]?.timestampMs, 1234);
    });
  });

  describe('malformed programs', () => {
    const cases: Array<[string, unknown, string]> = [
      ['unknown opcode', [200], 'unknown-opcode'],
      ['opcode 67 (not in the protocol)', [67], 'unknown-opcode'],
      ['an unexecuted protocol opcode (LOOP)', [105, 1, 2], 'unsupported-opcode'],
      ['an empty step', [], 'malformed'],
      ['a string opcode', ['1'], 'malformed'],
      ['an object step', { op: 1 }, 'malformed'],
      ['a missing operand', [OP.STORE, 0], 'malformed'],
      ['a negative slot', [OP.LOAD, -1], 'malformed'],
      ['a non-literal procedure name', [OP.CALL_STORED_PROCEDURE, [OP.UNDEFINED]], 'malformed'],
      ['IF with too many branches', [OP.IF, true, 1, 2, 3], 'malformed'],
      ['an i64 op on strings', [OP.I64_ADD, 'a', 'b'], 'bad-type'],
      ['I64_FROM_STRING out of range', [OP.I64_FROM_STRING, '9223372036854775808'], 'bad-type'],
      ['bad base64', [OP.TO_BLOB, '!!'], 'bad-type'],
      ['a string condition', [OP.IF, 'yes', 1], 'bad-type'],
      ['ARRAY_APPEND on a non-array', [OP.ARRAY_APPEND, 1, 2], 'bad-type'],
    ];
    for (const [what, program, code] of cases) it(`${what} -> ${code}`, () => void stepError(() => runSteps(program), code));

    it('depth, step and collection limits', () => {
      let deep: unknown = [OP.UNDEFINED];
      for (let i = 0; i < 100; i++) deep = [OP.NOT, deep];
      stepError(() => runSteps(deep), 'too-deep');
      let veryDeep: unknown = [OP.UNDEFINED];
      for (let i = 0; i < 100_000; i++) veryDeep = [OP.BLOCK, veryDeep];
      stepError(() => runSteps(veryDeep, { limits: { maxDepth: 1_000_000 } }), 'too-deep');
      stepError(() => runSteps([OP.BLOCK, ...Array.from({ length: 20 }, () => U)], { limits: { maxSteps: 10 } }), 'too-large');
      stepError(() => runSteps([OP.STORE_ARRAY, 0, 1, 2, 3], { limits: { maxItems: 2 } }), 'too-large');
    });

    it('responses: envelope and payload are checked before running', () => {
      const ok = JSON.stringify({ request_id: 3, payload: JSON.stringify({ name: 'execute', step: call('deleteMessage', i64('1'), 'm') }), sp: ['deleteMessage'], target: 1 });
      const parsed = parseLSResponse(new TextEncoder().encode(ok));
      assert.deepEqual([parsed.requestId, parsed.sp, parsed.name, parsed.result.tables.LSDeleteMessage], [3, ['deleteMessage'], 'execute', [{ threadKey: '1', messageId: 'm' }]]);
      stepError(() => parseLSResponse('{'), 'bad-json');
      stepError(() => parseLSResponse(Uint8Array.of(0xff)), 'bad-json');
      stepError(() => parseLSResponse('[]'), 'bad-json');
      stepError(() => parseLSResponse(JSON.stringify({ payload: 5 })), 'bad-json');
      stepError(() => parseLSResponse(JSON.stringify({ payload: '{"name":"x"}' })), 'bad-json');
      stepError(() => parseLSResponse(JSON.stringify({ payload: '{"step":[1]}', sp: [1] })), 'bad-json');
      stepError(() => parseLSResponse('x'.repeat(100), { limits: { maxChars: 10 } }), 'too-large');
    });
  });

  describe('property: any input ends in a result or an LSStepError', () => {
    const leaf = fc.oneof(fc.constant(null), fc.boolean(), fc.integer({ min: -3, max: 130 }), fc.double(), fc.string({ maxLength: 8 }),
      fc.constantFrom('insertMessage', 'deleteMessage', 'updateTypingIndicator', 'executeFirstBlockForSyncTransaction', '42', '-1', 'AQI='));
    const { step } = fc.letrec<{ step: unknown }>((tie) => ({
      step: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.tuple(fc.integer({ min: 0, max: 130 }), fc.array(tie('step'), { maxLength: 5 })).map(([op, rest]) => [op, ...rest]), fc.array(tie('step'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 3 }), leaf, { maxKeys: 2 })),
    }));

    it('holds for 2000 generated programs (seed 42)', () => {
      fc.assert(
        fc.property(step, (program) => {
          const started = Date.now();
          try {
            runSteps(program, { limits: { maxSteps: 10_000 } });
          } catch (err) {
            if (!(err instanceof LSStepError)) throw err;
          }
          assert.ok(Date.now() - started < 1_000, 'a program took over a second');
        }),
        { seed: 42, numRuns: 2000 },
      );
    });

    it('holds for raw response text (seed 42)', () => {
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.json(), step.map((s) => JSON.stringify({ request_id: 1, payload: JSON.stringify({ step: s }) }))), (text) => {
          try {
            parseLSResponse(text);
          } catch (err) {
            if (!(err instanceof LSStepError)) throw err;
          }
        }),
        { seed: 42, numRuns: 2000 },
      );
    });
  });
});
