import { runBridgeCli } from '@tributary/core/main';
import { WhatsAppConnector } from './connector/connector.js';

await runBridgeCli(new WhatsAppConnector());
