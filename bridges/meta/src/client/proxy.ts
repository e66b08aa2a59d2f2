/**
 * An HTTP(S) proxy for the whole Meta session (`network.proxy`): every connection, the page loads,
 * uploads, downloads and the DGW websocket, goes through a CONNECT tunnel to the proxy, then TLS to
 * Meta inside it for https/wss. No dependency: a node Agent whose connections are tunnels serves
 * the websocket (ws takes an agent) and a small fetch over node's http(s) serves the HTTP side.
 * The proxy URL may carry a user and password (sent as Proxy-Authorization: Basic); neither ever
 * reaches a log line or an error message: only `describeProxy()` (scheme, host, port) does.
 */
import { Agent as HttpAgent, request as httpRequest, type AgentOptions, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { MetaClientError } from './errors.js';
import type { FetchFn } from './http-session.js';

const CONNECT_TIMEOUT_MS = 15_000;

export interface MetaProxy {
  /** For `ws` and node's https: tunnels to https/wss targets. */
  readonly httpsAgent: HttpsAgent;
  /** Tunnels to plain http/ws targets (development: the emulator). */
  readonly httpAgent: HttpAgent;
  /** A fetch whose requests go through the proxy. */
  readonly fetch: FetchFn;
  /** `http://host:port`, without credentials: what logs may show. */
  readonly description: string;
}

/** Checks a proxy URL: http or https, a host, no path; the error never repeats the URL. */
export function parseProxyUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new MetaClientError('http', 'the proxy setting is not a URL (expected http://[user:password@]host:port)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MetaClientError('http', `proxy scheme ${url.protocol.replace(/:$/, '')} is not supported (use an http:// or https:// proxy)`);
  }
  if (!url.hostname) throw new MetaClientError('http', 'the proxy setting has no host');
  return url;
}

export function describeProxy(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

interface TunnelTarget {
  host: string;
  port: number;
}

/** Opens a CONNECT tunnel through the proxy to `target`; resolves with the raw socket. */
function openTunnel(proxy: URL, target: TunnelTarget): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const authority = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
    const headers: Record<string, string> = { host: authority };
    if (proxy.username || proxy.password) {
      const user = decodeURIComponent(proxy.username);
      const pass = decodeURIComponent(proxy.password);
      headers['proxy-authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    }
    const request = proxy.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request({
      host: proxy.hostname, port: Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80)), method: 'CONNECT', path: authority, headers,
      timeout: CONNECT_TIMEOUT_MS, agent: false,
    });
    const fail = (why: string) => reject(new MetaClientError('http', `the proxy ${describeProxy(proxy)} ${why}`));
    req.once('connect', (res: IncomingMessage, socket: Duplex) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        fail(`refused the tunnel with HTTP ${res.statusCode ?? 0}`);
        return;
      }
      resolve(socket);
    });
    req.once('timeout', () => {
      req.destroy();
      fail('did not answer in time');
    });
    req.once('error', (err: NodeJS.ErrnoException) => fail(`could not be reached (${err.code ?? err.name})`));
    req.end();
  });
}

type Oncreate = (err: Error | null, socket?: Duplex) => void;

/** Node agents call `createConnection(options, oncreate)` and wait for the callback when it returns nothing. */
class TunnelHttpAgent extends HttpAgent {
  constructor(private readonly proxy: URL, opts?: AgentOptions) {
    super(opts);
  }

  override createConnection(options: ClientRequestArgs, oncreate: Oncreate): undefined {
    openTunnel(this.proxy, { host: String(options.host ?? 'localhost'), port: Number(options.port ?? 80) }).then((s) => oncreate(null, s), (err: Error) => oncreate(err));
    return undefined;
  }
}

class TunnelHttpsAgent extends HttpsAgent {
  constructor(private readonly proxy: URL, opts?: AgentOptions) {
    super(opts);
  }

  override createConnection(options: ClientRequestArgs & { servername?: string }, oncreate: Oncreate): undefined {
    const host = String(options.host ?? 'localhost');
    openTunnel(this.proxy, { host, port: Number(options.port ?? 443) }).then(
      (socket) => {
        const tls = tlsConnect({ socket, servername: options.servername ?? host, ALPNProtocols: ['http/1.1'] });
        tls.once('secureConnect', () => oncreate(null, tls));
        tls.once('error', (err) => oncreate(err));
      },
      (err: Error) => oncreate(err),
    );
    return undefined;
  }
}

/** Request headers as node wants them (a Headers object, a record or pairs). */
function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  return Object.fromEntries(new Headers(headers ?? {}).entries());
}

/** The body as bytes plus its content type (FormData gets its multipart boundary this way). */
async function bodyBytes(body: RequestInit['body'], url: URL, method: string): Promise<{ bytes?: Buffer; type?: string }> {
  if (body === undefined || body === null) return {};
  const req = new Request(url, { method, body });
  return { bytes: Buffer.from(await req.arrayBuffer()), ...(req.headers.get('content-type') ? { type: req.headers.get('content-type')! } : {}) };
}

function toResponse(res: IncomingMessage): Response {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
  const status = res.statusCode ?? 0;
  const empty = status === 204 || status === 304 || (status >= 100 && status < 200);
  if (empty) res.resume();
  return new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage ?? '', headers });
}

/** What MetaHttpSession needs of fetch (method, headers, body, signal; redirects never followed), over the tunnels. */
function proxiedFetch(agents: { http: HttpAgent; https: HttpsAgent }): FetchFn {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init.method ?? 'GET';
    const headers = headerRecord(init.headers);
    const { bytes, type } = await bodyBytes(init.body, url, method);
    if (type && !headers['content-type']) headers['content-type'] = type;
    if (bytes) headers['content-length'] = String(bytes.length);
    const secure = url.protocol === 'https:';
    const request = secure ? httpsRequest : httpRequest;
    return new Promise<Response>((resolve, reject) => {
      const req = request(url, { method, headers, agent: secure ? agents.https : agents.http, ...(init.signal ? { signal: init.signal } : {}) } as never, (res) => resolve(toResponse(res)));
      req.once('error', reject);
      req.end(bytes);
    });
  }) as FetchFn;
}

export function createMetaProxy(raw: string): MetaProxy {
  const url = parseProxyUrl(raw);
  const http = new TunnelHttpAgent(url, { keepAlive: true });
  const https = new TunnelHttpsAgent(url, { keepAlive: true });
  return { httpAgent: http, httpsAgent: https, fetch: proxiedFetch({ http, https }), description: describeProxy(url) };
}
