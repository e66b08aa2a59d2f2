/** The bridges this repository builds, for scripts that treat them alike. */
import { sandboxConfigSchema } from '../bridges/sandbox/src/connector/connector.js';

export const BRIDGES = [
  { name: 'sandbox', schema: sandboxConfigSchema, main: 'bridges/sandbox/src/main.ts' },
] as const;
