import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getLogger } from '@tributary/core/logging';
import { ControlApi } from './control-api.js';
import { NetworkError } from './errors.js';
import { pathSegments, queryParams, sendError, sendJson } from './http-util.js';
import { handleLogin } from './login-api.js';
import { LoginCodes } from './login-codes.js';
import { handleMedia } from './media-api.js';
import { DEFAULT_MAX_MEDIA_BYTES, MediaStore } from './media-store.js';
import { SandboxNetwork } from './network.js';
import { SnapshotWriter, loadSnapshot } from './persistence.js';
import { seedDemo } from './seed.js';
import { WireServer } from './wire-server.js';

const log = getLogger('sandbox');

export interface SandboxServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** JSON snapshot file; media go to `<state>.media/`. Loaded at start, saved after changes. */
  statePath?: string;
  /** Seeds a fresh network (ignored when a state file already has accounts). */
  seed?: 'demo';
  /** When set, /control/ needs `Authorization: Bearer <controlToken>`. */
  controlToken?: string;
  maxMediaBytes?: number;
  /** QR login code lifetime (default 20 s) and codes per session (default 6). */
  qrRotateMs?: number;
  qrMaxCodes?: number;
  eventLogLimit?: number;
  typingTimeoutMs?: number;
  authTimeoutMs?: number;
  /** Debounce for state saves (default 100 ms). */
  saveDelayMs?: number;
  /** The network's clock (default Date.now): tests age a message by sending it at a shifted time. */
  now?: () => number;
}

export interface SandboxServer {
  url: string;
  port: number;
  network: SandboxNetwork;
  media: MediaStore;
  wire: WireServer;
  loginCodes: LoginCodes;
  /** Writes the pending state snapshot now (no-op without a state file). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export async function startSandboxServer(opts: SandboxServerOptions = {}): Promise<SandboxServer> {
  const media = new MediaStore(opts.maxMediaBytes ?? DEFAULT_MAX_MEDIA_BYTES, opts.statePath ? `${opts.statePath}.media` : undefined);
  const network = new SandboxNetwork({
    mediaExists: (id) => media.has(id), eventLogLimit: opts.eventLogLimit, typingTimeoutMs: opts.typingTimeoutMs,
    ...(opts.now ? { now: opts.now } : {}),
  });
  let writer: SnapshotWriter | undefined;
  if (opts.statePath) {
    const snap = await loadSnapshot(opts.statePath);
    if (snap) {
      network.restoreSnapshot(snap);
      media.restore(snap.media);
    }
    writer = new SnapshotWriter(opts.statePath, () => ({ ...network.toSnapshot(), media: media.list() }), opts.saveDelayMs);
    network.on('change', () => writer?.schedule());
  }
  if (opts.seed === 'demo' && network.listAccounts().length === 0) seedDemo(network);

  const loginCodes = new LoginCodes({ rotateMs: opts.qrRotateMs, maxCodes: opts.qrMaxCodes });
  const wire = new WireServer(network, { authTimeoutMs: opts.authTimeoutMs });
  const startedAt = Date.now();
  const control = new ControlApi({ network, wire, media, loginCodes, controlToken: opts.controlToken, startedAt });

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const segments = pathSegments(url);
    if (!segments) return sendError(res, new NetworkError('bad_request', 'bad URL encoding'));
    const [first, ...rest] = segments;
    if (first === 'control') return control.handle(req, res, rest, queryParams(url));
    if (first === 'login') return handleLogin(req, res, rest, queryParams(url), network, loginCodes);
    if (first === 'media') return handleMedia(req, res, rest, network, media, opts.controlToken);
    if (first === undefined && req.method === 'GET') return sendJson(res, 200, { name: 'tributary-sandbox', wire: '/wire', control: '/control/' });
    sendError(res, new NetworkError('not_found', 'not found'));
  };
  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => sendError(res, err));
  });
  server.on('upgrade', (req, socket, head) => {
    if (pathSegments(req.url ?? '')?.join('/') !== 'wire') {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wire.handleUpgrade(req, socket, head);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.debug({ url, state: opts.statePath ?? null }, 'sandbox network listening');

  let closing: Promise<void> | undefined;
  return {
    url, port: address.port, network, media, wire, loginCodes,
    flush: async () => writer?.flush(),
    close: () => (closing ??= (async () => {
      loginCodes.close();
      network.close();
      await wire.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await writer?.flush();
    })()),
  };
}
