/** The Instagram bridge: the shared Meta connector (bridges/meta) with Instagram's names. */
export { InstagramConnector, INSTAGRAM_NAME } from './connector.js';
export { metaConfigSchema as instagramConfigSchema, type MetaConfig as InstagramConfig } from '@tributary/meta/connector/index';
