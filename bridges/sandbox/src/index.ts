export { SandboxConnector, sandboxConfigSchema, type SandboxConfig } from './connector/connector.js';
export { SandboxClient } from './client/sandbox-client.js';
