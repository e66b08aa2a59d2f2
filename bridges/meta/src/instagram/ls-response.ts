/**
 * `mdCoreSync.LSResponse`, the protobuf each frame of Instagram's database 223 stream carries
 * (field numbers are facts from mautrix-meta's MDCoreSync.proto):
 *
 *   LSResponse        1 controlHeader bytes, 2 operations repeated Operation, 3 transactionParams
 *   Operation (oneof) 1 subscribe, 2 resnapshot, 3 delta, 4 noop, 5 failure
 *   OnIrisSubscribe   1 groupID int32, 2 subscribedSeqID int64, 3 latestSeqID int64
 *   OnResnapshot      1 groupID int32, 2 errorMessage string, 3 errorType int32, 4 snapshotPayload bytes
 *   OnMailboxDelta    1 groupID int32, 2 delta string (slide delta JSON, see slide.ts)
 *   HandleSyncFailure 1 groupID int32 (required), 2 errorMessage string (required)
 *   TransactionParams 1 useTransactionLogic bool, 2 groupID int32, 3 syncEpochID int64,
 *                     4 previousCursor, 5 nextCursor string, 6 syncStatus, 7 syncChannel int32,
 *                     8 userID int64, 9 skipMismatchLog bool
 *
 * Seq ids are int64: kept as bigint here. Unknown fields are skipped, as protobuf readers do.
 */
import { InstagramError } from './errors.js';
import { ProtoWriter, proto, readMessage } from './protobuf.js';

export type LSOperation =
  | { op: 'subscribe'; groupId?: number; subscribedSeqId?: bigint; latestSeqId?: bigint }
  | { op: 'resnapshot'; groupId?: number; errorMessage?: string; errorType?: number; snapshotPayload?: Uint8Array }
  | { op: 'delta'; groupId?: number; delta: string }
  | { op: 'noop' }
  | { op: 'failure'; groupId: number; errorMessage: string };

export interface LSTransactionParams {
  useTransactionLogic?: boolean;
  groupId?: number;
  syncEpochId?: bigint;
  previousCursor?: string;
  nextCursor?: string;
  syncStatus?: number;
  syncChannel?: number;
  userId?: bigint;
  skipMismatchLog?: boolean;
}

export interface IGLSResponse {
  controlHeader?: Uint8Array;
  operations: LSOperation[];
  transactionParams?: LSTransactionParams;
}

const OP_FIELD = { subscribe: 1, resnapshot: 2, delta: 3, noop: 4, failure: 5 } as const;

function decodeOperation(buf: Uint8Array): LSOperation {
  let op: LSOperation | undefined;
  readMessage(buf, (f) => {
    if (f.field < OP_FIELD.subscribe || f.field > OP_FIELD.failure) return; // a newer kind: skipped
    const body = proto.bytes(f);
    switch (f.field) {
      case OP_FIELD.subscribe: {
        const s: Extract<LSOperation, { op: 'subscribe' }> = { op: 'subscribe' };
        readMessage(body, (g) => {
          if (g.field === 1) s.groupId = proto.int32(g);
          else if (g.field === 2) s.subscribedSeqId = proto.int64(g);
          else if (g.field === 3) s.latestSeqId = proto.int64(g);
        });
        op = s;
        return;
      }
      case OP_FIELD.resnapshot: {
        const r: Extract<LSOperation, { op: 'resnapshot' }> = { op: 'resnapshot' };
        readMessage(body, (g) => {
          if (g.field === 1) r.groupId = proto.int32(g);
          else if (g.field === 2) r.errorMessage = proto.string(g);
          else if (g.field === 3) r.errorType = proto.int32(g);
          else if (g.field === 4) r.snapshotPayload = proto.bytes(g);
        });
        op = r;
        return;
      }
      case OP_FIELD.delta: {
        let groupId: number | undefined;
        let delta: string | undefined;
        readMessage(body, (g) => {
          if (g.field === 1) groupId = proto.int32(g);
          else if (g.field === 2) delta = proto.string(g);
        });
        op = { op: 'delta', delta: delta ?? '', ...(groupId !== undefined ? { groupId } : {}) };
        return;
      }
      case OP_FIELD.noop:
        op = { op: 'noop' };
        return;
      case OP_FIELD.failure: {
        let groupId: number | undefined;
        let errorMessage: string | undefined;
        readMessage(body, (g) => {
          if (g.field === 1) groupId = proto.int32(g);
          else if (g.field === 2) errorMessage = proto.string(g);
        });
        if (groupId === undefined || errorMessage === undefined) throw new InstagramError('bad-protobuf', 'protobuf: HandleSyncFailure lacks its required groupID or errorMessage');
        op = { op: 'failure', groupId, errorMessage };
        return;
      }
    }
  });
  if (!op) throw new InstagramError('bad-protobuf', 'protobuf: an Operation with none of the known kinds');
  return op;
}

function decodeTransactionParams(buf: Uint8Array): LSTransactionParams {
  const t: LSTransactionParams = {};
  readMessage(buf, (f) => {
    switch (f.field) {
      case 1: t.useTransactionLogic = proto.bool(f); return;
      case 2: t.groupId = proto.int32(f); return;
      case 3: t.syncEpochId = proto.int64(f); return;
      case 4: t.previousCursor = proto.string(f); return;
      case 5: t.nextCursor = proto.string(f); return;
      case 6: t.syncStatus = proto.int32(f); return;
      case 7: t.syncChannel = proto.int32(f); return;
      case 8: t.userId = proto.int64(f); return;
      case 9: t.skipMismatchLog = proto.bool(f); return;
      default: return;
    }
  });
  return t;
}

export function decodeLSResponse(buf: Uint8Array): IGLSResponse {
  const out: IGLSResponse = { operations: [] };
  readMessage(buf, (f) => {
    if (f.field === 1) out.controlHeader = proto.bytes(f);
    else if (f.field === 2) out.operations.push(decodeOperation(proto.bytes(f)));
    else if (f.field === 3) out.transactionParams = decodeTransactionParams(proto.bytes(f));
  });
  return out;
}

function encodeOperation(op: LSOperation): Uint8Array {
  const inner = new ProtoWriter();
  switch (op.op) {
    case 'subscribe':
      if (op.groupId !== undefined) inner.varint(1, op.groupId);
      if (op.subscribedSeqId !== undefined) inner.varint(2, op.subscribedSeqId);
      if (op.latestSeqId !== undefined) inner.varint(3, op.latestSeqId);
      break;
    case 'resnapshot':
      if (op.groupId !== undefined) inner.varint(1, op.groupId);
      if (op.errorMessage !== undefined) inner.bytes(2, op.errorMessage);
      if (op.errorType !== undefined) inner.varint(3, op.errorType);
      if (op.snapshotPayload !== undefined) inner.bytes(4, op.snapshotPayload);
      break;
    case 'delta':
      if (op.groupId !== undefined) inner.varint(1, op.groupId);
      inner.bytes(2, op.delta);
      break;
    case 'noop':
      break;
    case 'failure':
      inner.varint(1, op.groupId).bytes(2, op.errorMessage);
      break;
  }
  return new ProtoWriter().bytes(OP_FIELD[op.op], inner.finish()).finish();
}

export function encodeLSResponse(res: IGLSResponse): Uint8Array {
  const w = new ProtoWriter();
  if (res.controlHeader) w.bytes(1, res.controlHeader);
  for (const op of res.operations) w.bytes(2, encodeOperation(op));
  const t = res.transactionParams;
  if (t) {
    const tw = new ProtoWriter();
    if (t.useTransactionLogic !== undefined) tw.varint(1, t.useTransactionLogic);
    if (t.groupId !== undefined) tw.varint(2, t.groupId);
    if (t.syncEpochId !== undefined) tw.varint(3, t.syncEpochId);
    if (t.previousCursor !== undefined) tw.bytes(4, t.previousCursor);
    if (t.nextCursor !== undefined) tw.bytes(5, t.nextCursor);
    if (t.syncStatus !== undefined) tw.varint(6, t.syncStatus);
    if (t.syncChannel !== undefined) tw.varint(7, t.syncChannel);
    if (t.userId !== undefined) tw.varint(8, t.userId);
    if (t.skipMismatchLog !== undefined) tw.varint(9, t.skipMismatchLog);
    w.bytes(3, tw.finish());
  }
  return w.finish();
}
