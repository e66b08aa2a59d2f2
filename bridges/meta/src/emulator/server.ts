/**
 * A local emulator of Meta's web gateway, backed by the sandbox network: one HTTP server that
 * serves the inbox page (page-render.ts), the login and checkpoint pages, the upload endpoint,
 * CDN-like media, and the DGW websocket `/ws/lightspeed`. Flavours: `messenger` (facebook.com
 * shape: /messages, c_user + xs, x-dgw-authtype 1:0) and `instagram` (/direct/inbox/,
 * ds_user_id + sessionid, 6:0). Both speak LightSpeed over DGW; see connection.ts.
 * Development and tests only; docs/meta-emulator.md describes it.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { getLogger, type Logger } from '@tributary/core/logging';
import type { MetaPlatform } from '../cookies.js';
import { LSProgramBuilder } from '../lightspeed/builder.js';
import { renderCheckpointPage, renderLoginPage, renderPageConfig } from '../page-render.js';
import { EmulatorConnection } from './connection.js';
import { handleInstagramGraphQL } from './instagram-graphql.js';
import { InstagramSideSocket, instagramSocketKind } from './instagram-sockets.js';
import { IG_GRAPHQL_PATH } from '../instagram/graphql.js';
import { MediaRegistry, handleUpload, proxyMedia } from './media.js';
import { RequestFolders } from './requests.js';
import { addThread } from './rows.js';
import { SessionRegistry, type AccountSession } from './sessions.js';

/** The emulator's app ids and LightSpeed version (ours: emulator constants, not Meta's). */
export const EMULATOR_APP = { appId: '100000000000001', dgwAppId: '100000000000002', versionId: '9000000000000001' } as const;
const AUTH_TYPE: Record<MetaPlatform, string> = { messenger: '1:0', instagram: '6:0' };
const INBOX_PATHS: Record<MetaPlatform, string[]> = { messenger: ['/messages', '/messages/', '/'], instagram: ['/direct/inbox/', '/direct/inbox'] };
const LOGIN_PATH: Record<MetaPlatform, string> = { messenger: '/login/', instagram: '/accounts/login/' };
const CHECKPOINT_PATH: Record<MetaPlatform, string> = { messenger: '/checkpoint/', instagram: '/challenge/' };

export interface MetaEmulatorOptions {
  flavour: MetaPlatform;
  /** The sandbox network's base URL. */
  sandboxUrl: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  log?: Logger;
  now?: () => number;
  /** Sandbox chats that are end-to-end encrypted from the start (see `setEncrypted`). */
  encryptedChats?: readonly string[];
  /** Sandbox accounts that are strangers: their DMs are message requests (see `setStranger`). */
  strangers?: readonly string[];
}

export interface MetaEmulator {
  flavour: MetaPlatform;
  /** http://host:port: the `web` endpoint; the gateway is ws://host:port/ws/lightspeed. */
  url: string;
  gatewayUrl: string;
  port: number;
  /** Drops every gateway connection (of one user id, or all) with `code` (default 4002, server error). */
  dropConnections(userId?: string, code?: number): number;
  /** Sends the pages of a user id to the checkpoint (or back) from now on. */
  setCheckpoint(userId: string, on: boolean): void;
  /**
   * Marks a sandbox chat (`dm:alice:me`, `g:1`) end-to-end encrypted, or not, from now on: listed
   * with the encrypted thread type, its messages never sent over LightSpeed. Turning it on pushes
   * moveThreadToE2EECutoverFolder to the connections of the chat's members, as Meta does.
   */
  setEncrypted(chatId: string, on: boolean): Promise<void>;
  /**
   * Marks a sandbox account as a stranger (not a contact of anyone), or not, from now on: on the
   * Messenger flavour a DM with a stranger is a message request (database 95) until accepted.
   */
  setStranger(accountId: string, on: boolean): void;
  /** Issues new page tokens (fb_dtsg) to a user id's sessions: the old ones are stale from now on, as after Meta rotates them. */
  rotateTokens(userId: string): void;
  /** The next gateway upgrade of a user id is refused with this HTTP status (401, 403), once. */
  refuseGatewayOnce(userId: string, status: number): void;
  close(): Promise<void>;
}

export async function startMetaEmulator(opts: MetaEmulatorOptions): Promise<MetaEmulator> {
  const flavour = opts.flavour;
  const log = opts.log ?? getLogger('meta-emulator', { flavour });
  const sandboxUrl = opts.sandboxUrl.replace(/\/+$/, '');
  const sessions = new SessionRegistry(sandboxUrl, flavour, log);
  const media = new MediaRegistry();
  const checkpoints = new Set<string>();
  const encrypted = new Set<string>(opts.encryptedChats ?? []);
  const isEncrypted = (chatId: string) => encrypted.has(chatId);
  const requests = new RequestFolders(true, opts.strangers);
  const refusals = new Map<string, number>();
  let base = '';
  const mediaUrl = (id: string) => `${base}/fbcdn/${encodeURIComponent(id)}`;

  const page = (res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
    res.end(html);
  };
  const redirect = (res: ServerResponse, to: string) => {
    res.writeHead(302, { location: to, 'content-length': '0' });
    res.end();
  };

  const inboxPage = async (res: ServerResponse, session: AccountSession) => {
    const { threads } = await initialThreads(session);
    page(res, 200, renderPageConfig({
      platform: flavour, fbDtsg: session.fbDtsg, lsd: session.lsd, versionId: EMULATOR_APP.versionId,
      accountId: session.userId, appId: EMULATOR_APP.appId, userName: session.account.name, dgwAppId: EMULATOR_APP.dgwAppId,
      deviceId: session.deviceId, syncParams: { mailbox: '{"locale":"en_US"}', contact: '{"locale":"en_US"}' },
      initialProgram: threads,
    }), { 'set-cookie': 'wd=1280x800; Path=/; Max-Age=604800' });
  };

  /** The page's embedded table: the thread list (as a browser's inbox shows it first). */
  const initialThreads = async (session: AccountSession) => {
    const b = new LSProgramBuilder();
    const folderOf = (chat: Parameters<RequestFolders['folderOf']>[0]) => requests.folderOf(chat, session.account.id);
    for (const chat of await session.client.getChats()) {
      if (!requests.isHidden(chat.id, session.account.id)) await addThread(b, chat, { dir: session.dir, mediaUrl, isEncrypted, folderOf });
    }
    return { threads: b.build() };
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    if (req.method === 'GET' && INBOX_PATHS[flavour].includes(path)) {
      const session = await sessions.fromCookies(req.headers.cookie);
      if (!session) return redirect(res, `${LOGIN_PATH[flavour]}?next=${encodeURIComponent(path)}`);
      if (checkpoints.has(session.userId)) return redirect(res, `${CHECKPOINT_PATH[flavour]}?next=${encodeURIComponent(path)}`);
      return inboxPage(res, session);
    }
    if (req.method === 'GET' && path === LOGIN_PATH[flavour]) return page(res, 200, renderLoginPage(flavour));
    if (req.method === 'GET' && path === CHECKPOINT_PATH[flavour]) return page(res, 200, renderCheckpointPage(flavour));
    if (req.method === 'POST' && path === '/ajax/mercury/upload.php') {
      const session = await sessions.fromCookies(req.headers.cookie);
      if (!session) {
        res.writeHead(401, { 'content-type': 'application/x-javascript' });
        res.end('for (;;);{"error":1357001,"errorSummary":"Not logged in","payload":null}');
        return;
      }
      return handleUpload(req, res, session, media);
    }
    if (flavour === 'instagram' && req.method === 'POST' && path === IG_GRAPHQL_PATH) {
      const session = await sessions.fromCookies(req.headers.cookie);
      if (!session || checkpoints.has(session.userId)) return redirect(res, `${LOGIN_PATH[flavour]}?next=${encodeURIComponent(path)}`);
      return handleInstagramGraphQL(req, res, session, { sandboxUrl, rows: (s) => ({ dir: s.dir, mediaUrl, isEncrypted, folderOf: (chat) => requests.folderOf(chat, s.account.id) }), media, requests, now: opts.now ?? Date.now });
    }
    const m = /^\/fbcdn\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && m) return proxyMedia(res, sandboxUrl, decodeURIComponent(m[1]!));
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  };

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, 'emulator request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error');
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', base);
    const igSocket = flavour === 'instagram' ? instagramSocketKind(url.pathname) : undefined;
    if (url.pathname !== '/ws/lightspeed' && !igSocket) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const uuid = url.searchParams.get('x-dgw-uuid') ?? '';
    const refused = refusals.get(uuid);
    if (refused !== undefined) {
      refusals.delete(uuid);
      socket.end(`HTTP/1.1 ${refused} Refused\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      void (async () => {
        const q = url.searchParams;
        const session = await sessions.fromCookies(req.headers.cookie);
        if (!session) return ws.close(4003, 'unauthorized');
        if (checkpoints.has(session.userId)) return ws.close(4004, 'rejected');
        const good = q.get('x-dgw-appid') === EMULATOR_APP.dgwAppId && q.get('x-dgw-authtype') === AUTH_TYPE[flavour]
          && q.get('x-dgw-version') === '5' && q.get('x-dgw-uuid') === session.userId && q.get('x-dgw-deviceid') === session.deviceId;
        if (!good) return ws.close(4005, 'bad request');
        if (igSocket) {
          new InstagramSideSocket(igSocket, ws, session, { sandboxUrl, rows: { dir: session.dir, mediaUrl, isEncrypted }, log, now: opts.now ?? Date.now });
          return;
        }
        new EmulatorConnection(ws, session, {
          sandboxUrl, media, mediaUrl, isEncrypted, requests, log, ...(opts.now ? { now: opts.now } : {}), ...(flavour === 'instagram' ? { instagram: true } : {}),
        });
      })().catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, 'emulator websocket setup failed');
        ws.close(4002, 'server error');
      });
    });
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
  base = `http://${host}:${address.port}`;
  log.debug({ url: base }, 'meta emulator listening');

  return {
    flavour,
    url: base,
    gatewayUrl: `ws://${host}:${address.port}/ws/lightspeed`,
    port: address.port,
    dropConnections(userId, code = 4002) {
      let n = 0;
      for (const session of sessions.all()) {
        if (userId !== undefined && session.userId !== userId) continue;
        for (const conn of [...session.connections]) {
          conn.kill(code, false);
          n++;
        }
      }
      return n;
    },
    setCheckpoint(userId, on) {
      if (on) checkpoints.add(userId);
      else checkpoints.delete(userId);
    },
    async setEncrypted(chatId, on) {
      if (!on) {
        encrypted.delete(chatId);
        return;
      }
      if (encrypted.has(chatId)) return;
      encrypted.add(chatId);
      for (const session of sessions.all()) {
        if (!session.connections.size) continue;
        const chats = await session.client.getChats().catch(() => []);
        if (!chats.some((c) => c.id === chatId)) continue;
        for (const conn of session.connections) conn.cutover(chatId);
      }
    },
    setStranger(accountId, on) {
      requests.setStranger(accountId, on);
    },
    rotateTokens(userId) {
      for (const session of sessions.all()) if (session.userId === userId) session.fbDtsg = randomBytes(18).toString('base64url');
    },
    refuseGatewayOnce(userId, status) {
      refusals.set(userId, status);
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await sessions.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

