/**
 * The `network:` section of the Messenger and Instagram bridges (one schema, both flavours): how
 * the Meta web client behaves, and the development-only switch to the local emulator.
 */
import { z } from 'zod';
import type { MetaEndpoints } from '../client/http-session.js';
import type { MetaPlatform } from '../cookies.js';

/** An http(s) proxy URL with a host (socks is not supported). The check never echoes the value. */
function isProxyUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && (u.pathname === '/' || u.pathname === '');
  } catch {
    return false;
  }
}

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
  proxy: z.string().max(2048).nullable().default(null)
    .refine((v) => v === null || isProxyUrl(v), { message: 'must be an http:// or https:// proxy URL (http://[user:password@]host:port)' })
    .describe('An HTTP(S) proxy for every connection to Meta (page loads, uploads, media and the websocket), as http://[user:password@]host:port; null for none'),
  refresh_hours: z.number().min(0.1).max(72).default(12)
    .describe('Reload the web page configuration (session tokens) this often'),
  backfill_page_limit: z.number().int().min(1).max(100).default(10)
    .describe('At most this many pages of history are fetched per backfill or catch-up request'),
});
export type MetaConfig = z.infer<typeof metaConfigSchema>;

/** Where the client talks to: Meta itself, or the emulator at `emulator_url`. */
export function endpointsFor(_platform: MetaPlatform, config: Pick<MetaConfig, 'emulator_url'>): Partial<MetaEndpoints> | undefined {
  if (!config.emulator_url) return undefined;
  const web = new URL(config.emulator_url);
  const gateway = new URL('/ws/lightspeed', web);
  gateway.protocol = web.protocol === 'https:' ? 'wss:' : 'ws:';
  // The inbox path stays the site's (facebook.com's /messages, messenger.com's /): the emulator serves both.
  return { web: web.origin, gateway: gateway.href };
}
