/**
 * The appservice HTTP intake. We subclass matrix-appservice's AppService (so matrix-appservice-bridge
 * keeps working with it) but replace its express app with our own handler, because the stock one
 * accepts `?access_token=`, answers oversized bodies with HTML, drops to-device and MSC3202 fields,
 * and acknowledges transactions before anything is durable.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppService } from 'matrix-appservice-bridge';
import { getLogger } from '../logging.js';
import { HttpError, bearerToken, readJsonObject, safeEqual, sendError, sendJson } from './http-util.js';
import { parseTransaction, type ParsedTransaction } from './transaction.js';

const log = getLogger('appservice');

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export interface AppserviceHandlers {
  /** Must resolve only once the transaction is durably queued; the 200 is sent after it. */
  onTransaction(txnId: string, txn: ParsedTransaction): Promise<void>;
  onUserQuery?(userId: string): Promise<boolean>;
  onAliasQuery?(alias: string): Promise<boolean>;
}

export interface TributaryAppServiceOptions {
  homeserverToken: string;
  maxBodyBytes: number;
  handlers: AppserviceHandlers;
}

interface ExtraRoute { method: string; prefix: string; handler: RouteHandler }

export class TributaryAppService extends AppService {
  private readonly opts: TributaryAppServiceOptions;
  private readonly extraRoutes: ExtraRoute[] = [];
  /** Set by the ping handler so the start-up self-check can see the homeserver reached us. */
  lastPingTxnId: string | undefined;

  constructor(opts: TributaryAppServiceOptions) {
    super({ homeserverToken: opts.homeserverToken, httpMaxSizeBytes: opts.maxBodyBytes });
    this.opts = opts;
    // AppService.listen() serves `this.app`; any request handler function works with http.createServer.
    (this as unknown as { app: unknown }).app = (req: IncomingMessage, res: ServerResponse) => {
      this.route(req, res).catch((err) => {
        log.error({ err }, 'unhandled error in HTTP handler');
        sendError(res, 500, 'M_UNKNOWN', 'internal error');
      });
    };
  }

  /**
   * Also answers requests Node's HTTP parser refuses before any handler runs (bytes that are not
   * HTTP, an unknown method, a non-ASCII target, headers too large, broken chunking) with a JSON
   * Matrix error, instead of Node's bare "400 Bad Request".
   */
  override listen(port: number, hostname: string, backlog: number, callback?: () => void): Promise<void> | undefined {
    const result = super.listen(port, hostname, backlog, callback);
    const server = (this as unknown as { server?: Server & { requireHostHeader?: boolean } }).server;
    server?.on('clientError', answerClientError);
    // Node answers an HTTP/1.1 request without Host with a bare 400 of its own (the option is read
    // per request); nothing here depends on Host, so such a request gets our JSON answers instead.
    if (server) server.requireHostHeader = false;
    // Without a listener Node drops CONNECT requests without a word; nothing here is a proxy.
    server?.on('connect', (_req: IncomingMessage, socket: Duplex) => rawAnswer(socket, 405, 'Method Not Allowed', 'M_UNRECOGNIZED', 'CONNECT is not supported'));
    return result;
  }

  /** Routes outside /_matrix/app (health, provisioning, bridge state); matched by path prefix. */
  addRoute(method: string, prefix: string, handler: RouteHandler): void {
    this.extraRoutes.push({ method, prefix, handler });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendError(res, 400, 'M_UNRECOGNIZED', 'malformed URL');
    }
    const path = url.pathname;
    try {
      if (path.startsWith('/_matrix/app/')) return await this.routeAppservice(req, res, url);
      for (const r of this.extraRoutes) {
        if ((r.method === '*' || r.method === req.method) && path.startsWith(r.prefix)) {
          return await r.handler(req, res, url);
        }
      }
      sendError(res, 404, 'M_UNRECOGNIZED', 'unknown endpoint');
    } catch (err) {
      if (err instanceof HttpError) return sendError(res, err.status, err.errcode, err.message);
      throw err;
    }
  }

  private checkAuth(req: IncomingMessage, url: URL): void {
    const token = bearerToken(req);
    if (token === undefined) {
      const hint = url.searchParams.has('access_token') ? ' (the access_token query parameter is not accepted)' : '';
      throw new HttpError(401, 'M_UNAUTHORIZED', `missing Authorization: Bearer header${hint}`);
    }
    if (!safeEqual(token, this.opts.homeserverToken)) {
      throw new HttpError(403, 'M_FORBIDDEN', 'invalid homeserver token');
    }
  }

  private async routeAppservice(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    this.checkAuth(req, url);
    const parts = url.pathname.split('/').slice(3); // ['v1', 'transactions', id]
    if (parts[0] !== 'v1') throw new HttpError(404, 'M_UNRECOGNIZED', 'unknown appservice API version');
    const [, what, rawArg] = parts;
    const arg = rawArg === undefined ? undefined : safeDecode(rawArg);
    if (what === 'transactions' && arg && parts.length === 3) {
      if (req.method !== 'PUT') throw new HttpError(405, 'M_UNRECOGNIZED', 'use PUT');
      const body = await readJsonObject(req, this.opts.maxBodyBytes);
      const txn = parseTransaction(body);
      await this.opts.handlers.onTransaction(arg, txn);
      return sendJson(res, 200, {});
    }
    if (what === 'ping' && parts.length === 2) {
      if (req.method !== 'POST') throw new HttpError(405, 'M_UNRECOGNIZED', 'use POST');
      const body = await readJsonObject(req, 65536);
      if (typeof body.transaction_id === 'string') this.lastPingTxnId = body.transaction_id;
      return sendJson(res, 200, {});
    }
    if (what === 'users' && arg && parts.length === 3 && req.method === 'GET') {
      const known = (await this.opts.handlers.onUserQuery?.(arg)) ?? false;
      return known ? sendJson(res, 200, {}) : sendError(res, 404, 'M_NOT_FOUND', 'no such user');
    }
    if (what === 'rooms' && arg && parts.length === 3 && req.method === 'GET') {
      const known = (await this.opts.handlers.onAliasQuery?.(arg)) ?? false;
      return known ? sendJson(res, 200, {}) : sendError(res, 404, 'M_NOT_FOUND', 'no such room alias');
    }
    if (what === 'thirdparty') return sendError(res, 404, 'M_NOT_FOUND', 'no third-party protocols');
    throw new HttpError(404, 'M_UNRECOGNIZED', 'unknown appservice endpoint');
  }
}

/** The JSON answer to a request the HTTP parser refused (see Node's `clientError` event). */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  // Bytes after a complete request (a body longer than its Content-Length) fail to parse while
  // that request is still being handled: its own answer goes out (the transaction may be stored
  // by then), then the connection closes; an error written now would overtake it. Node's own
  // handler checks the same private field.
  const inFlight = (socket as unknown as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight?.req.complete) {
    closeAfter(inFlight, socket);
    return;
  }
  const [status, reason, errcode, error] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large', 'M_TOO_LARGE', 'request headers too large']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout', 'M_UNKNOWN', 'request timed out']
    : [400, 'Bad Request', 'M_UNRECOGNIZED', 'malformed HTTP request'];
  if (inFlight) {
    // The request being handled is the broken one (its body ended early or was badly chunked):
    // answer through its response, which the handler then finds already sent.
    inFlight.shouldKeepAlive = false;
    sendError(inFlight, status, errcode, error);
    closeAfter(inFlight, socket);
    return;
  }
  rawAnswer(socket, status, reason, errcode, error);
}

/** Destroys the socket once `res` has gone out (at once if it has): the parser cannot go on. */
function closeAfter(res: ServerResponse, socket: Duplex): void {
  if (res.writableFinished || res.closed) {
    socket.destroy();
    return;
  }
  const done = (): void => void socket.destroy();
  res.once('finish', done);
  res.once('close', done);
}

/**
 * A JSON Matrix error written straight to a socket no ServerResponse owns, which is then closed:
 * the parser has stopped reading it, so a client that hangs up would never be noticed.
 */
function rawAnswer(socket: Duplex, status: number, reason: string, errcode: string, error: string): void {
  const body = JSON.stringify({ errcode, error });
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'M_INVALID_PARAM', 'malformed path parameter');
  }
}
