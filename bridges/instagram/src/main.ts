import { runBridgeCli } from '@tributary/core/main';
import { InstagramConnector } from './connector.js';

await runBridgeCli(new InstagramConnector());
