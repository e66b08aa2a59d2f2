/**
 * The `network:` section of the Messenger and Instagram bridges (one schema, both flavours): how
 * the Meta web client behaves, and the development-only switch to the local emulator.
 */
import { z } from 'zod';
import { META_ENDPOINTS, type MetaEndpoints } from '../client/http-session.js';
import type { MetaPlatform } from '../cookies.js';

export const metaConfigSchema = z.object({
  emulator_url: z.string().url().nullable().default(null)
    .describe('Development and tests only: talk to a Tributary Meta emulator (http://host:port, the local stand-in for Meta used by the demo and the tests) instead of Meta'),
  user_agent: z.string().min(10).max(512).nullable().default(null)
    .describe('The browser user agent the web client presents (default: a current desktop Chrome); use the one of the browser the cookies came from'),
  reconnect: z.object({
    min_ms: z.number().int().min(10).max(60_000).default(1_000).describe('First reconnect delay (doubles, with full jitter)'),
    max_ms: z.number().int().min(100).max(3_600_000).default(300_000).describe('Longest reconnect delay'),
  }).refine((r) => r.min_ms <= r.max_ms, { message: 'min_ms must not exceed max_ms' }).prefault({}).describe('Reconnecting after a lost connection'),
  rate_limit: z.object({
    burst: z.number().int().min(1).max(10_000).default(10).describe('Requests (sends, fetches, uploads) allowed in a burst'),
    per_second: z.number().min(0.01).max(10_000).default(1).describe('Sustained requests per second, like a person in a browser'),
  }).prefault({}).describe('Pacing of requests to Meta, so the account looks like a browser'),
  refresh_hours: z.number().min(0.1).max(72).default(12)
    .describe('Reload the web page configuration (session tokens) this often'),
  backfill_page_limit: z.number().int().min(1).max(100).default(10)
    .describe('At most this many pages of history are fetched per backfill or catch-up request'),
});
export type MetaConfig = z.infer<typeof metaConfigSchema>;

/** Where the client talks to: Meta itself, or the emulator at `emulator_url`. */
export function endpointsFor(platform: MetaPlatform, config: Pick<MetaConfig, 'emulator_url'>): Partial<MetaEndpoints> | undefined {
  if (!config.emulator_url) return undefined;
  const web = new URL(config.emulator_url);
  const gateway = new URL('/ws/lightspeed', web);
  gateway.protocol = web.protocol === 'https:' ? 'wss:' : 'ws:';
  return { web: web.origin, gateway: gateway.href, inboxPath: META_ENDPOINTS[platform].inboxPath };
}
