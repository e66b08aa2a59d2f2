export { WhatsAppConnector, whatsappConfigSchema, type WhatsAppConfig, type WhatsAppConnectorOptions } from './connector/connector.js';
export { WhatsAppAPI } from './connector/wa-api.js';
