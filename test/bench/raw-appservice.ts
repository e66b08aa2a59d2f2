/**
 * The raw Matrix -> network path the bridge is compared with, run as its own process like the
 * bridge: an appservice that reads a transaction body and answers 200 (nothing durable, nothing
 * checked but the token), and, when told to, forwards each m.room.message to the sandbox network
 * over the same wire client the bridge uses, one send in flight per chat.
 *
 * Synapse pushes every room's events to it (its registration has a non-exclusive `!.*` room
 * namespace); it only forwards rooms it was given. Controlled by the benchmark on /_bench/.
 * Env: BENCH_RAW_PORT, BENCH_RAW_HS_TOKEN, BENCH_RAW_CONTROL_TOKEN, BENCH_SANDBOX_URL.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { SandboxClient } from '../../bridges/sandbox/src/client/index.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const port = Number(env('BENCH_RAW_PORT'));
const hsToken = env('BENCH_RAW_HS_TOKEN');
const controlToken = env('BENCH_RAW_CONTROL_TOKEN');
const sandboxUrl = env('BENCH_SANDBOX_URL');

interface Forwarding { client: SandboxClient; account: string; rooms: Map<string, string>; chains: Map<string, Promise<void>> }
let fwd: Forwarding | undefined;
let forwarded = 0;
let failed = 0;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function forward(body: Buffer): void {
  const f = fwd;
  if (!f || f.rooms.size === 0) return;
  const txn = JSON.parse(body.toString('utf8')) as { events?: Array<{ event_id: string; room_id: string; type: string; content?: { body?: unknown } }> };
  for (const ev of txn.events ?? []) {
    const chat = f.rooms.get(ev.room_id);
    if (!chat || ev.type !== 'm.room.message' || typeof ev.content?.body !== 'string') continue;
    const text = ev.content.body;
    const prev = f.chains.get(chat) ?? Promise.resolve();
    f.chains.set(chat, prev.then(() => f.client.send(chat, { kind: 'text', text, entities: [] }, { clientTxnId: ev.event_id }))
      .then(() => void forwarded++, () => void failed++));
  }
}

async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (req.headers.authorization !== `Bearer ${controlToken}`) return json(res, 403, { errcode: 'M_FORBIDDEN' });
  if (path === '/_bench/forward' && req.method === 'POST') {
    const body = JSON.parse((await readBody(req)).toString('utf8')) as { account: string; password: string; rooms: Record<string, string> };
    if (!fwd || fwd.account !== body.account) {
      await fwd?.client.close();
      const client = new SandboxClient({ url: sandboxUrl, reconnect: { minMs: 50, maxMs: 500 } });
      await client.passwordLogin(body.account, body.password);
      await client.connect();
      fwd = { client, account: body.account, rooms: new Map(), chains: new Map() };
    }
    fwd.rooms = new Map(Object.entries(body.rooms));
    return json(res, 200, { ok: true });
  }
  if (path === '/_bench/stats' && req.method === 'GET') return json(res, 200, { forwarded, failed });
  json(res, 404, { errcode: 'M_UNRECOGNIZED' });
}

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path.startsWith('/_bench/')) {
    control(req, res, path).catch((err: unknown) => json(res, 500, { errcode: 'M_UNKNOWN', error: String(err) }));
    return;
  }
  if (req.headers.authorization !== `Bearer ${hsToken}`) {
    req.resume();
    return json(res, 403, { errcode: 'M_FORBIDDEN' });
  }
  readBody(req).then((body) => {
    // The whole raw cost: body read, 200. Forwarding starts after the answer.
    json(res, 200, {});
    if (path.startsWith('/_matrix/app/v1/transactions/')) forward(body);
  }, () => json(res, 400, { errcode: 'M_BAD_JSON' }));
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: port })}\n`));
process.on('SIGTERM', () => {
  void fwd?.client.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
