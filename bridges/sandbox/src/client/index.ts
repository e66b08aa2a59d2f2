export { SandboxClient, type SandboxClientOptions, type DisconnectInfo, type SandboxClientEvents } from './sandbox-client.js';
export { SandboxClientError, isSandboxClientError } from './errors.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export type { QrCode, QrLogin } from './login.js';
export type * from '../wire.js';
