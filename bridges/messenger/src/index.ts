/** The Messenger bridge: the shared Meta connector (bridges/meta) with Messenger's names. */
export { MessengerConnector, MESSENGER_NAME } from './connector.js';
export { metaConfigSchema as messengerConfigSchema, type MetaConfig as MessengerConfig } from '@tributary/meta/connector/index';
