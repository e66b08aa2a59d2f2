/** The Messenger connector: the shared Meta connector with Messenger's names and defaults. */
import { MetaConnector, type MetaConnectorOptions } from '@tributary/meta/connector/index';

export const MESSENGER_NAME: MetaConnectorOptions['name'] = {
  displayName: 'Messenger', networkId: 'messenger', networkUrl: 'https://www.messenger.com',
  protocolId: 'facebook', defaultPort: 29319, botDisplayName: 'Messenger bridge bot',
};

export class MessengerConnector extends MetaConnector {
  constructor(opts: { now?: () => number } = {}) {
    super({ platform: 'messenger', name: MESSENGER_NAME, ...opts });
  }
}
