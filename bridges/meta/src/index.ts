/** The Meta web client (Messenger and Instagram): protocol codec, cookies, LightSpeed. */
export { MetaError, isMetaError } from './errors.js';
export * from './cookies.js';
export { shellWords } from './cookie-input.js';

export * from './dgw/errors.js';
export * from './dgw/close-codes.js';
export * from './dgw/frames.js';
export * from './dgw/timers.js';
export { DGWMultiplexer, type DGWEvent, type DGWMultiplexerOptions, type DGWRequestOptions, type DGWOpenStreamOptions } from './dgw/streams.js';
export { DGWPersistentStream, type DGWDataHandler } from './dgw/persistent-stream.js';

export * from './lightspeed/ids.js';
export * from './lightspeed/tasks.js';
export * from './lightspeed/requests.js';
export { OP, DEFAULT_STEP_LIMITS, runSteps, type StepLimits, type StepOptions, type LSStepResult } from './lightspeed/steps.js';
export { LSStepError, type LSStepErrorCode, type LSValue } from './lightspeed/values.js';
export { TABLES, tableForProcedure, syncCursorUpdates, type LSTableName, type LSRow, type LSTables, type ColumnKind } from './lightspeed/tables.js';
export { parseLSResponse, type LSResponse } from './lightspeed/response.js';
export { LSProgramBuilder, buildLSResponse, type LSResponseInput } from './lightspeed/builder.js';

export * from './page-config.js';
export * from './client/index.js';
