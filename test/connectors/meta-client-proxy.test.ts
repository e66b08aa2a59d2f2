/**
 * `network.proxy`: the Meta client's HTTP calls (page load, upload, download) and its DGW websocket
 * go through an HTTP proxy's CONNECT tunnels, checked with a tiny local proxy that counts them and
 * wants a password; the password never reaches a log line or an error, a refused tunnel is a clear
 * error, and the config takes only http(s) proxy URLs.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { generateTestPng } from '../../bridges/sandbox/src/server/index.js';
import { MetaConnector } from '../../bridges/meta/src/connector/connector.js';
import { metaConfigSchema, type MetaConfig } from '../../bridges/meta/src/connector/config.js';
import { MESSENGER_NAME } from '../../bridges/messenger/src/connector.js';
import type { BridgeHandle } from '../../shared/src/network/index.js';
import { typingTask } from '../../bridges/meta/src/lightspeed/tasks.js';
import { MetaEnv, USER, until } from '../helpers/meta-env.js';

const PASSWORD = 'pr0xy-s3cret-pw';

/**
 * A CONNECT-only proxy: counts tunnels per target, wants `user:<PASSWORD>`, and (the emulator
 * speaks plain HTTP inside the tunnel) notes the request lines that went through.
 */
async function startProxy(): Promise<{ url: (pw?: string) => string; tunnels: string[]; requests: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    const auth = req.headers['proxy-authorization'];
    if (auth !== `Basic ${Buffer.from(`user:${PASSWORD}`).toString('base64')}`) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const [host, port] = [req.url!.slice(0, req.url!.lastIndexOf(':')), Number(req.url!.slice(req.url!.lastIndexOf(':') + 1))];
    const upstream = netConnect(port, host, () => {
      tunnels.push(req.url!);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
      client.on('data', (chunk: Buffer) => {
        for (const m of chunk.toString('latin1').matchAll(/^(GET|POST) (\/[^ ?]*)\S* HTTP\/1\.1$/gm)) requests.push(`${m[1]} ${m[2]}`);
      });
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: (pw = PASSWORD) => `http://user:${pw}@127.0.0.1:${port}`,
    tunnels,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A started emulator and proxy around each test; `proxy()` is the current test's proxy. */
function withProxy(env: MetaEnv): () => Awaited<ReturnType<typeof startProxy>> {
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  beforeEach(async () => {
    await env.start();
    proxy = await startProxy();
  });
  afterEach(async () => {
    await env.stop();
    await proxy.close();
  });
  return () => proxy;
}

describe('Meta client through a proxy (network.proxy)', function () {
  this.timeout(30_000);
  const env = new MetaEnv('messenger');
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  const current = withProxy(env);
  beforeEach(() => { proxy = current(); });

  it('the login (page load), the websocket, an upload and a download all go through the proxy\'s tunnels', async () => {
    const emulator = new URL(env.emulator.url).host;
    const client = env.client(await env.cookies(), { proxy: proxy.url() });
    await client.connect();
    assert.equal(client.state.state, 'connected');
    assert.ok(proxy.tunnels.length >= 1);
    assert.ok(proxy.tunnels.every((t) => t === emulator), 'every tunnel goes to Meta (here the emulator)');
    assert.deepEqual(proxy.requests.slice(0, 2), ['GET /messages', 'GET /ws/lightspeed'], 'the page load, then the websocket upgrade');
    const png = generateTestPng(7, 5);
    const up = await client.uploadMedia(png, 'image/png', 'p.png');
    assert.match(up.fbid, /^\d+$/);
    assert.equal(proxy.requests.at(-1), 'POST /ajax/mercury/upload.php');
    const stored = await (await fetch(`${env.server.url}/media`, { method: 'POST', headers: { authorization: `Bearer ${await env.token('alice')}`, 'content-type': 'image/png' }, body: png })).json() as { media_id: string };
    const media = await client.downloadMedia(`${env.emulator.url}/fbcdn/${encodeURIComponent(stored.media_id)}`);
    assert.ok(Buffer.from(media.bytes).equals(png), 'the bytes come back whole through the tunnel');
    assert.match(proxy.requests.at(-1) ?? '', /^GET \/fbcdn\//);
    // A reconnect dials the gateway through the proxy again.
    const upgrades = proxy.requests.filter((r) => r === 'GET /ws/lightspeed').length;
    env.emulator.dropConnections();
    await new Promise((r) => setTimeout(r, 30));
    await until('reconnected', () => client.state.state === 'connected' && proxy.requests.filter((r) => r === 'GET /ws/lightspeed').length > upgrades);
    assert.equal(env.logs.includes(PASSWORD), false, 'the password never reaches a log line');
    assert.match(env.logs, /goes through a proxy/);
  });

  it('a proxy that refuses the tunnel (407) is a clear error without the password, and nothing is connected', async () => {
    const client = env.client(await env.cookies(), { proxy: proxy.url('wrong-password') });
    await assert.rejects(client.connect(), (err: Error) => /refused the tunnel with HTTP 407/.test(err.message) && !err.message.includes('wrong-password'));
    assert.notEqual(client.state.state, 'connected');
    assert.equal(proxy.tunnels.length, 0);
    assert.equal(env.logs.includes('wrong-password'), false);
  });

  it('the connector passes network.proxy to its clients; the config takes only http(s) proxy URLs', async () => {
    const good = metaConfigSchema.parse({ emulator_url: env.emulator.url, proxy: proxy.url(), rate_limit: { burst: 100, per_second: 100 } });
    for (const bad of ['socks5://127.0.0.1:1080', 'not a url', 'http://user:pw@host:1/some/path']) {
      const res = metaConfigSchema.safeParse({ proxy: bad });
      assert.equal(res.success, false, bad);
      assert.equal(JSON.stringify(res.error?.issues).includes('pw@'), false, 'the error does not echo the URL');
    }
    assert.equal(metaConfigSchema.parse({}).proxy, null);
    const connector = new MetaConnector({ platform: 'messenger', name: MESSENGER_NAME });
    const bridge: BridgeHandle<MetaConfig> = {
      networkConfig: good, log: env.log.child({ module: 'connector' }), serverName: 'example.org', db: undefined as never,
      ghostUserId: (u) => `@messenger_${u}:example.org`, getLogin: () => undefined,
    };
    connector.init(bridge);
    const client = connector.makeClient(await env.cookies());
    env.clients.push(client);
    await client.connect();
    assert.ok(proxy.requests.includes('GET /ws/lightspeed') && proxy.requests.includes('GET /messages'));
    assert.equal(env.logs.includes(PASSWORD), false);
  });
});

describe('Instagram client through a proxy (network.proxy)', function () {
  this.timeout(30_000);
  const env = new MetaEnv('instagram');
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  const current = withProxy(env);
  beforeEach(() => { proxy = current(); });

  it('the GraphQL calls and all three Instagram sockets (sync, mqttbypass, streamcontroller) go through the proxy', async () => {
    const emulator = new URL(env.emulator.url).host;
    const client = env.client(await env.cookies(), { proxy: proxy.url() });
    await client.connect();
    await client.sendTask(typingTask({ threadId: USER.alice, isGroup: false, isTyping: true, threadType: 1 }));
    await until('the three sockets', () => ['GET /ws/lightspeed', 'GET /ws/mqttbypass', 'GET /ws/streamcontroller'].every((r) => proxy.requests.includes(r)));
    assert.ok(proxy.requests.includes('POST /api/graphql'), 'the inbox query went through the proxy');
    assert.ok(proxy.tunnels.every((t) => t === emulator));
    assert.equal(env.logs.includes(PASSWORD), false);
    await client.disconnect();
  });
});
