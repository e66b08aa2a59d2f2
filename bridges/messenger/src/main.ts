import { runBridgeCli } from '@tributary/core/main';
import { MessengerConnector } from './connector.js';

await runBridgeCli(new MessengerConnector());
