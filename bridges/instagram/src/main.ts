import { runBridgeCli } from '@tributary/core/main';
import { metaCommands } from '@tributary/meta/connector/index';
import { InstagramConnector } from './connector.js';

await runBridgeCli(new InstagramConnector(), { extraCommands: metaCommands() });
