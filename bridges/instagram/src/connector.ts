/** The Instagram connector: the shared Meta connector with Instagram's names and defaults. */
import { MetaConnector, type MetaConnectorOptions } from '@tributary/meta/connector/index';

export const INSTAGRAM_NAME: MetaConnectorOptions['name'] = {
  displayName: 'Instagram', networkId: 'instagram', networkUrl: 'https://www.instagram.com',
  protocolId: 'instagram', defaultPort: 29320, botDisplayName: 'Instagram bridge bot',
};

export class InstagramConnector extends MetaConnector {
  constructor(opts: { now?: () => number } = {}) {
    super({ platform: 'instagram', name: INSTAGRAM_NAME, ...opts });
  }
}
