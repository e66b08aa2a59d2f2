import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Keys whose values never reach a log line, wherever they sit in a logged object. Remote-side
 * secrets (WhatsApp keys, Meta cookies) and Matrix tokens are all named by one of these.
 */
export const REDACTED_KEYS = [
  'as_token', 'hs_token', 'access_token', 'accessToken', 'token', 'password', 'shared_secret',
  'secret', 'cookie', 'cookies', 'authorization', 'Authorization', 'keys', 'creds', 'private_key',
  'privateKey', 'session', 'sessionid', 'xs', 'pickle_key', 'store_key',
  // A proxy URL may hold a password (the Meta bridges' network.proxy).
  'proxy',
];

// pino has no recursive wildcard, so list depths explicitly: four levels covers every object the
// bridge logs (err.cause.body.token is the deepest seen).
const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`, `*.*.*.*.${k}`]);

let root: Logger | undefined;

export interface LoggingOptions {
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to inspect output. */
  destination?: NodeJS.WritableStream;
}

/** Configures the process-wide root logger; call once at boot. Later calls replace it. */
export function configureLogging(opts: LoggingOptions = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env.TRIBUTARY_LOG_LEVEL ?? 'info',
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  root = opts.destination ? pino(options, opts.destination as DestinationStream) : pino(options);
  return root;
}

/**
 * One logger per module: `const log = getLogger('portal')`; add room/event context with `.child()`.
 * Modules call this at import time, before main() configures logging, so the returned logger
 * forwards to a child of whichever root is current (level and destination follow configureLogging).
 */
export function getLogger(module: string, bindings: Record<string, unknown> = {}): Logger {
  let made: Logger | undefined;
  let madeFrom: Logger | undefined;
  const current = (): Logger => {
    if (!root) root = configureLogging();
    if (madeFrom !== root) {
      made = root.child({ module, ...bindings });
      madeFrom = root;
    }
    return made!;
  };
  return new Proxy({} as Logger, {
    get(_t, prop) {
      const l = current();
      const v = Reflect.get(l, prop, l) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(l) : v;
    },
    set: (_t, prop, value) => Reflect.set(current(), prop, value),
    has: (_t, prop) => Reflect.has(current(), prop),
  });
}
