/** The bridges this repository builds, for scripts that treat them alike. */
import type { z } from 'zod';
import { sandboxConfigSchema } from '../bridges/sandbox/src/connector/connector.js';
import { whatsappConfigSchema } from '../bridges/whatsapp/src/connector/connector.js';
import { metaConfigSchema } from '../bridges/meta/src/connector/config.js';

export interface BridgeEntry {
  name: string;
  schema: z.ZodObject;
  main: string;
}

export const BRIDGES: readonly BridgeEntry[] = [
  { name: 'sandbox', schema: sandboxConfigSchema, main: 'bridges/sandbox/src/main.ts' },
  { name: 'whatsapp', schema: whatsappConfigSchema, main: 'bridges/whatsapp/src/main.ts' },
  { name: 'messenger', schema: metaConfigSchema, main: 'bridges/messenger/src/main.ts' },
  { name: 'instagram', schema: metaConfigSchema, main: 'bridges/instagram/src/main.ts' },
];
