import { runBridgeCli } from '@tributary/core/main';
import { metaCommands } from '@tributary/meta/connector/index';
import { MessengerConnector } from './connector.js';

await runBridgeCli(new MessengerConnector(), { extraCommands: metaCommands() });
