import { runBridgeCli } from '@tributary/core/main';
import { SandboxConnector } from './connector/connector.js';

await runBridgeCli(new SandboxConnector());
