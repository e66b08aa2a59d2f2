/** Errors of the Meta client runtime (socket, HTTP session, tasks, media). */
import { MetaError } from '../errors.js';
import type { LSTables } from '../lightspeed/tables.js';
import type { TaskName } from '../lightspeed/tasks.js';

export type MetaClientErrorCode =
  /** The operation needs a connected socket. */
  | 'not-connected'
  /** The session is logged out (cookies expired or revoked): new cookies are needed. */
  | 'logged-out'
  /** An HTTP request failed or got an unexpected status. */
  | 'http'
  /** A response that does not have the shape the protocol says. */
  | 'bad-response'
  /** More bytes than the caller allows. */
  | 'too-large'
  /** `disconnect()` was called while the operation waited. */
  | 'closed';

export class MetaClientError extends MetaError<MetaClientErrorCode> {
  readonly area = 'client' as const;
  /** The HTTP status, for `http`. */
  readonly status: number | undefined;

  constructor(code: MetaClientErrorCode, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(code, message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = opts.status;
  }
}

export interface MetaTaskFailure {
  taskId: number;
  task: TaskName;
  /** The server's short reason (the emulator's: `edit-window-passed`, `edit-limit-reached`, `not_found` ...). */
  code: string;
  message: string;
}

/** One or more tasks of a request were refused; `tables` holds what the response did carry. */
export class MetaTaskError extends MetaError<'task-failed'> {
  readonly area = 'client' as const;
  readonly failures: readonly MetaTaskFailure[];
  readonly tables: LSTables;

  constructor(failures: MetaTaskFailure[], tables: LSTables) {
    super('task-failed', failures.map((f) => `${f.task} refused (${f.code}): ${f.message}`).join('; '));
    this.failures = failures;
    this.tables = tables;
  }
}
