/**
 * Loading matrix-js-sdk with its Rust crypto inside mocha, where two quirks need care (both
 * checked on Node 20.19 with tsx): module instances and the wasm's console logging.
 * Also the password login and UIA pieces the encrypting client needs.
 */
import type * as sdk from 'matrix-js-sdk';
import type * as SdkModule from 'matrix-js-sdk/lib/matrix.js';
import { silenceSdkLogging, silentLogger } from './matrix-client.js';

/** Log in with a password (a new device with its own access token). The password never appears in errors. */
export async function passwordLogin(
  baseUrl: string,
  userId: string,
  password: string,
  deviceName: string,
): Promise<{ accessToken: string; deviceId: string }> {
  const res = await fetch(`${baseUrl}/_matrix/client/v3/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: userId },
      password,
      initial_device_display_name: deviceName,
    }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok || typeof body['access_token'] !== 'string' || typeof body['device_id'] !== 'string') {
    throw new Error(`password login of ${userId} failed: HTTP ${res.status} ${String(body['errcode'])} ${String(body['error'])}`);
  }
  return { accessToken: body['access_token'], deviceId: body['device_id'] };
}

/** The UIA session of a 401 "more auth needed" answer, if that is what err is (duck-typed: see loadSdk). */
export function uiaSession(err: unknown): string | undefined {
  const e = err as { httpStatus?: unknown; data?: { session?: unknown } } | null;
  if (e?.httpStatus !== 401) return undefined;
  return typeof e.data?.session === 'string' ? e.data.session : undefined;
}

/**
 * matrix-js-sdk for the crypto clients, loaded with import(), never require().
 * mocha loads test files as CommonJS through tsx, so a static `import * as sdk from
 * 'matrix-js-sdk'` (as in matrix-client.ts) is a require(esm) of the SDK, while initRustCrypto()
 * loads rust-crypto with import(). Under tsx's loader hooks those are two separate module
 * instances (checked on Node 20.19: MatrixEvent from one !== MatrixEvent from the other), and
 * every decryption failure then comes out as UNKNOWN_ERROR because models/event.js tests
 * `instanceof DecryptionError` against the other copy's class. Creating the client from the
 * import() copy keeps the whole client on one copy.
 * Static imports stay fine for types and string constants (event names, enums), which are equal.
 */
type Sdk = typeof SdkModule;
let sdkPromise: Promise<Sdk> | undefined;
function loadSdk(): Promise<Sdk> {
  sdkPromise ??= (async () => {
    // lib/matrix.js, not the package entry: lib/index.js throws "Multiple matrix-js-sdk
    // entrypoints detected!" when it is evaluated a second time.
    const [mod, log] = await Promise.all([import('matrix-js-sdk/lib/matrix.js'), import('matrix-js-sdk/lib/logger.js')]);
    silenceSdkLogging(log.logger);
    return mod;
  })();
  return sdkPromise;
}

let muted = 0;
const { debug: consoleDebug, info: consoleInfo } = console;

/**
 * Run fn with console.debug/info muted: the wasm's tracing writes there, and initRustCrypto
 * turns it on at DEBUG before it logs the Olm account creation. Counted, so overlapping
 * starts (Promise.all) restore the console only when the last one ends.
 */
async function withQuietConsole<T>(fn: () => Promise<T>): Promise<T> {
  if (muted++ === 0) console.debug = console.info = () => {};
  try {
    return await fn();
  } finally {
    if (--muted === 0) {
      console.debug = consoleDebug;
      console.info = consoleInfo;
    }
  }
}

/**
 * initRustCrypto turns the wasm's tracing on at DEBUG, straight to the console; keep errors only.
 * A dynamic import on purpose: mocha loads this file as CommonJS, where a static import would
 * `require` the package's CJS build, a second wasm instance whose log level matrix-js-sdk (ESM,
 * the package's node.mjs) never sees. It resolves to matrix-js-sdk's own copy (14.x, repo root).
 */
async function quietRustTracing(): Promise<void> {
  const wasm = await import('@matrix-org/matrix-sdk-crypto-wasm');
  new wasm.Tracing(wasm.LoggerLevel.Error).turnOn();
}

/** A client for (userId, deviceId) with Rust crypto initialised in memory, without console noise. */
export async function createCryptoClient(opts: {
  baseUrl: string;
  userId: string;
  accessToken: string;
  deviceId: string;
}): Promise<sdk.MatrixClient> {
  const client = (await loadSdk()).createClient({ ...opts, logger: silentLogger });
  await withQuietConsole(async () => {
    await client.initRustCrypto({ useIndexedDB: false });
    await quietRustTracing();
  });
  return client;
}
