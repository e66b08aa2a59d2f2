/** The Meta client runtime: MetaClient and the pieces it is made of. */
export { MetaClient, type MetaClientOptions, type MetaClientState, type MetaClientEvents, type MetaLoggedOutReason, type MetaTaskResult } from './meta-client.js';
export { MetaClientError, MetaTaskError, type MetaClientErrorCode, type MetaTaskFailure } from './errors.js';
export { eventsFromTables, type MetaEvent, type MetaEventType, type MetaThreadChange } from './events.js';
export { META_ENDPOINTS, DEFAULT_USER_AGENT, MetaHttpSession, parseSetCookie, type MetaEndpoints } from './http-session.js';
export { DGWSocket, dgwUrl, frameJSON, withPrefix, LS_PUSH_STREAM_PARAMETERS, LS_FRAME_PREFIX, type DGWCloseInfo } from './dgw-socket.js';
export { parseUploadResponse, type UploadedMedia, type UploadedMediaKind, type DownloadedMedia } from './media.js';
export { TokenBucket, reconnectDelay, type BackoffOptions, type TokenBucketOptions } from './backoff.js';
