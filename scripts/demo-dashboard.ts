/**
 * The demo dashboard's HTTP server: one page (scripts/dashboard/) and a small JSON API under
 * /api/ that DashboardApi answers. It listens on loopback only; the page is same-origin with a
 * strict CSP, and the checks below keep other sites out: the Host header must name this server
 * (no DNS rebinding), and a POST must be JSON from this origin (no cross-site form posts).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { z } from 'zod';
import {
  DashboardApi, DashboardError, approveBodySchema, sendBodySchema, type DashboardBridge, type DashboardNetwork,
} from './demo-dashboard-api.js';

export { type DashboardBridge, type DashboardNetwork } from './demo-dashboard-api.js';

export interface DashboardOptions {
  /** 0 picks a free port. */
  port: number;
  bridges: DashboardBridge[];
  networks: DashboardNetwork[];
  /** How to connect a Matrix client, shown at the top of the page (the demo's public credentials). */
  intro: { homeserver_url: string; user_id: string; password: string };
}

export interface Dashboard {
  url: string;
  port: number;
  close(): Promise<void>;
}

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

export const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const BODY_CAP = 16 * 1024;

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const api = new DashboardApi(opts.bridges, opts.networks);
  const dir = join(import.meta.dirname, 'dashboard');
  const files = new Map(Object.entries(STATIC).map(([path, f]) => [path, { body: readFileSync(join(dir, f.file)), type: f.type }]));
  const info = {
    ...opts.intro,
    bridges: opts.bridges.map((b) => ({ id: b.id, name: b.name, bot: b.bot })),
    networks: opts.networks.map((n) => ({ id: n.id, name: n.name, self: n.self })),
  };
  let origins = new Set<string>();

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      const known = err instanceof DashboardError;
      if (!known) console.error(`dashboard: ${(err as Error).message}`);
      sendJson(res, known ? err.status : 500, { error: known ? err.message : 'internal error' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!origins.has(`http://${req.headers.host ?? ''}`)) throw new DashboardError(403, 'unexpected Host header');
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const file = files.get(url.pathname);
    if (file) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new DashboardError(405, `${req.method} not allowed here`);
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': file.type, 'content-length': file.body.length, 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : file.body);
      return;
    }
    if (!url.pathname.startsWith('/api/')) throw new DashboardError(404, 'not found');
    const seg = segments(url.pathname.slice('/api/'.length));
    const method = req.method ?? 'GET';
    if (method === 'POST') checkPost(req, origins);
    // Every route is `networks/:network/<what>/:id/<op>` or one word: odd segments are the ids.
    const route = `${method} ${seg.map((s, i) => (i % 2 === 1 ? ':' : s)).join('/')}`;
    const [, net = '', , id = ''] = seg;
    switch (route) {
      case 'GET info': return sendJson(res, 200, info);
      case 'GET state': return sendJson(res, 200, await api.state());
      case 'GET networks/:/contacts': return sendJson(res, 200, await api.contacts(net));
      case 'GET networks/:/contacts/:/chats': return sendJson(res, 200, await api.chats(net, id));
      case 'GET networks/:/chats/:/messages': return sendJson(res, 200, await api.messages(net, id, url.searchParams.get('as') ?? ''));
      case 'POST networks/:/chats/:/messages': return sendJson(res, 201, await api.send(net, id, await readJson(req, sendBodySchema)));
      case 'POST networks/:/login-codes/:/approve':
        await readJson(req, approveBodySchema);
        return sendJson(res, 200, await api.approve(net, id));
    }
    throw new DashboardError(method === 'GET' || method === 'POST' ? 404 : 405, `no such dashboard operation: ${method} /api/${seg.join('/')}`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** Path segments, URL-decoded; ids like dm:alice:me arrive encoded. */
function segments(path: string): string[] {
  try {
    return path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
  } catch {
    throw new DashboardError(400, 'malformed URL encoding');
  }
}

/** POSTs come from this page only: JSON (a cross-site form cannot send it) and, when given, our Origin. */
function checkPost(req: IncomingMessage, origins: Set<string>): void {
  const origin = req.headers.origin;
  if (origin !== undefined && !origins.has(origin)) throw new DashboardError(403, 'cross-origin request refused');
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new DashboardError(415, 'send JSON (Content-Type: application/json)');
}

async function readJson<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  if (Number(req.headers['content-length'] ?? 0) > BODY_CAP) throw new DashboardError(413, `body larger than ${BODY_CAP} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_CAP) throw new DashboardError(413, `body larger than ${BODY_CAP} bytes`);
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new DashboardError(400, 'body is not valid JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new DashboardError(400, parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store',
  });
  res.end(text);
}
