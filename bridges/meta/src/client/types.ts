/** The types of MetaClient's API: its states, events and options. */
import type { Logger } from '@tributary/core/logging';
import type { MetaCookies, MetaPlatform } from '../cookies.js';
import type { DGWTimings } from '../dgw/timers.js';
import type { LSTables } from '../lightspeed/tables.js';
import type { MetaPageErrorCode } from '../page-config.js';
import type { BackoffOptions } from './backoff.js';
import type { MetaEvent } from './events.js';
import type { FetchFn, MetaEndpoints } from './http-session.js';

export type MetaLoggedOutReason = 'unauthorized' | 'rejected' | 'deauth' | MetaPageErrorCode;

export type MetaClientState =
  | { state: 'disconnected' }
  | { state: 'connecting' }
  | { state: 'connected' }
  | { state: 'reconnecting'; attempt: number; delayMs: number; reason: string }
  /** Terminal until new cookies: Meta no longer accepts this session. */
  | { state: 'logged-out'; reason: MetaLoggedOutReason; message: string };

export interface MetaClientEvents {
  state: [MetaClientState];
  event: [MetaEvent];
  /** A sync cursor moved: persist it and pass it back in `cursors` next time. */
  cursor: [{ database: number; cursor: string | null }];
}

export interface MetaClientOptions {
  platform: MetaPlatform;
  cookies: MetaCookies;
  /** Where Meta is; defaults to the real hosts. The emulator passes its own. */
  endpoints?: Partial<MetaEndpoints>;
  /** Sync cursors saved from an earlier session, per database. */
  cursors?: Record<number, string | null>;
  log?: Logger;
  userAgent?: string;
  reconnect?: BackoffOptions;
  /** Reload the page config this often (default 12 h). */
  refreshIntervalMs?: number;
  /** Sends and fetches: burst size and sustained rate (default 10, 1 per second). */
  rateLimit?: { capacity: number; refillPerSecond: number };
  timings?: Partial<DGWTimings>;
  fetch?: FetchFn;
  /** An http(s) proxy URL (`network.proxy`) for every request and the websocket; its password is never logged. */
  proxy?: string;
  random?: () => number;
}

export interface MetaTaskResult {
  tables: LSTables;
  /** Ids the tasks were sent with, in order. */
  taskIds: number[];
}
