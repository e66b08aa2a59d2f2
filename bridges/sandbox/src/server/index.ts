export { startSandboxServer, type SandboxServer, type SandboxServerOptions } from './server.js';
export { SandboxNetwork, makeDmId, makeMessageId, parseMessageId, DEFAULT_PASSWORD, type NetworkOptions } from './network.js';
export { NetworkError } from './errors.js';
export { generateTestPng } from './test-png.js';
