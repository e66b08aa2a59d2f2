/** The bridges this repository builds, for scripts that treat them alike. */
import { sandboxConfigSchema } from '../bridges/sandbox/src/connector/connector.js';
import { whatsappConfigSchema } from '../bridges/whatsapp/src/connector/connector.js';

export const BRIDGES = [
  { name: 'sandbox', schema: sandboxConfigSchema, main: 'bridges/sandbox/src/main.ts' },
  { name: 'whatsapp', schema: whatsappConfigSchema, main: 'bridges/whatsapp/src/main.ts' },
] as const;
