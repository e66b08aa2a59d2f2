/** The connector shared by the Messenger and Instagram bridges. */
export { MetaConnector, type MetaConnectorOptions } from './connector.js';
export { metaConfigSchema, endpointsFor, type MetaConfig } from './config.js';
export { MetaAPI, type MetaAPIOptions } from './meta-api.js';
export { MetaCookieLogin, COOKIE_FLOW_ID, cookieLoginFlows, storeCookies, type StoredCookie } from './login.js';
export { bridgeStateOf, loggedOutState } from './states.js';
export { META_ROLE_LEVEL, requestTopicNote } from './chat-info.js';
export { metaCommands } from './commands.js';
export { handlesMessageRequests, requestNoticeText, type MessageRequestHandling } from './requests.js';
