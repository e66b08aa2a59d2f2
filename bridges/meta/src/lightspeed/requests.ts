/**
 * LightSpeed request envelopes (facts): every request is `{app_id, payload, request_id, type}` with
 * `payload` a JSON string. Type 3 carries a task list, types 1 and 2 a database sync query (1 when
 * sync params are sent, 2 when resuming from a cursor), type 4 a stateless fire-and-forget task
 * (typing). The envelope's bytes are the data of a one-off DGW stream.
 */
import { LSRequestError, stringifyLS, toI64 } from './ids.js';
import type { LSTask } from './tasks.js';

export const LS_REQUEST_TYPE = { syncWithParams: 1, sync: 2, tasks: 3, stateless: 4 } as const;
export type LSRequestType = (typeof LS_REQUEST_TYPE)[keyof typeof LS_REQUEST_TYPE];

/** Databases a Messenger session syncs (facts). Instagram's 223 has its own protobuf path. */
export const SYNC_DATABASE = { mailbox: 1, contacts: 2, messageRequests: 95 } as const;

export interface LSRequest {
  app_id: string;
  payload: string;
  request_id: number;
  type: LSRequestType;
}

export interface LSEnvelopeInput {
  /** `CurrentUserInitialData.APP_ID` from the page config. */
  appId: string;
  /** uint16, not 0: see `RequestIdCounter`. */
  requestId: number;
}

function envelope(input: LSEnvelopeInput, type: LSRequestType, payload: unknown): LSRequest {
  if (typeof input.appId !== 'string' || !/^\d{1,20}$/.test(input.appId)) throw new LSRequestError('invalid-input', 'appId must be a numeric string');
  if (!Number.isInteger(input.requestId) || input.requestId < 1 || input.requestId > 0xffff) {
    throw new LSRequestError('invalid-input', 'requestId must be an integer from 1 to 65535');
  }
  return { app_id: input.appId, payload: stringifyLS(payload), request_id: input.requestId, type };
}

/** The envelope as the bytes of a DGW data frame. */
export function encodeLSRequest(request: LSRequest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(request));
}

export interface TaskRequestInput extends LSEnvelopeInput {
  epochId: bigint;
  /** The page config's `versionId` (decimal). */
  versionId: string;
  tasks: readonly LSTask[];
  /** The first task's id; the others follow (ids are per client and increase). */
  firstTaskId: number;
}

/** Type 3: a task list. */
export function buildTaskRequest(input: TaskRequestInput): LSRequest {
  if (input.tasks.length === 0) throw new LSRequestError('invalid-input', 'a task request needs at least one task');
  if (!Number.isSafeInteger(input.firstTaskId) || input.firstTaskId < 0) throw new LSRequestError('invalid-input', 'firstTaskId must be a non-negative integer');
  const stateless = input.tasks.find((t) => t.queueName === '');
  if (stateless) throw new LSRequestError('invalid-input', `${stateless.name} is stateless: use buildStatelessTaskRequest`);
  return envelope(input, LS_REQUEST_TYPE.tasks, {
    epoch_id: toI64(input.epochId, 'epochId'),
    tasks: input.tasks.map((t, i) => ({
      failure_count: null,
      label: t.label,
      payload: stringifyLS(t.payload),
      queue_name: t.queueName,
      task_id: input.firstTaskId + i,
    })),
    version_id: versionString(input.versionId),
  });
}

/** Type 4: one stateless task (typing), answered by nothing. */
export function buildStatelessTaskRequest(input: LSEnvelopeInput & { versionId: string; task: LSTask }): LSRequest {
  if (input.task.queueName !== '') throw new LSRequestError('invalid-input', `${input.task.name} is a queued task: use buildTaskRequest`);
  return envelope(input, LS_REQUEST_TYPE.stateless, {
    label: input.task.label,
    payload: stringifyLS(input.task.payload),
    version: versionString(input.versionId),
  });
}

export interface SyncRequestInput extends LSEnvelopeInput {
  database: number;
  /** The cursor last applied for this database, or null for a first sync. */
  cursor: string | null;
  /**
   * JSON text of the sync params (e.g. `{"locale":"en_US"}`) when the server asked for them
   * (`sendSyncParams` in LSExecuteFirstBlockForSyncTransaction); the request is then type 1.
   */
  syncParams?: string;
  epochId: bigint;
  versionId: string;
}

/** Types 1/2: sync one database from its cursor. */
export function buildSyncRequest(input: SyncRequestInput): LSRequest {
  if (!Number.isInteger(input.database) || input.database < 0) throw new LSRequestError('invalid-input', 'database must be a non-negative integer');
  if (input.cursor !== null && typeof input.cursor !== 'string') throw new LSRequestError('invalid-input', 'cursor must be a string or null');
  if (input.syncParams !== undefined) {
    try {
      JSON.parse(input.syncParams);
    } catch {
      throw new LSRequestError('invalid-input', 'syncParams must be JSON text');
    }
  }
  const withParams = input.syncParams !== undefined;
  return envelope(input, withParams ? LS_REQUEST_TYPE.syncWithParams : LS_REQUEST_TYPE.sync, {
    database: input.database,
    last_applied_cursor: withParams ? null : input.cursor,
    sync_params: withParams ? input.syncParams : null,
    epoch_id: toI64(input.epochId, 'epochId'),
    // `version` is the version id as a JSON number (fact), an int64 that can exceed 2^53.
    version: toI64(versionString(input.versionId), 'versionId'),
    failure_count: null,
  });
}

function versionString(versionId: string): string {
  if (typeof versionId !== 'string' || !/^\d{1,19}$/.test(versionId)) throw new LSRequestError('invalid-input', 'versionId must be a decimal string');
  return versionId;
}
