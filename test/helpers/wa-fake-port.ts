/**
 * A fake WAClientPort built from Baileys' own pieces, so connector tests run the real connector
 * code on real protos without a WhatsApp server:
 * - `ev` is Baileys' `makeEventBuffer` (the emitter the real socket uses, buffering included);
 * - `sendMessage` runs Baileys' `generateWAMessage`, so what it returns is the exact proto the real
 *   socket would relay (edits are protocolMessage MESSAGE_EDIT, deletes REVOKE, ...);
 * - media is encrypted by Baileys and uploaded to a local HTTP server on 127.0.0.1, so Baileys'
 *   `downloadMediaMessage` fetches and decrypts it for real.
 * Like the real socket (emitOwnEvents), a sent message is also upserted as 'append' on the next tick.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Boom } from '@hapi/boom';
import { pino } from 'pino';
import {
  generateMessageIDV2, generateWAMessage, makeEventBuffer, prepareWAMessageMedia, proto,
  type AnyMediaMessageContent, type AnyMessageContent, type GroupMetadata, type MiscMessageGenerationOptions,
  type WAMediaUploadFunction, type WAMessage, type WAMessageKey,
} from 'baileys';
import type { WAClientPort } from '../../bridges/whatsapp/src/client/port.js';
import { WA_CLIENT_METHODS } from '../../bridges/whatsapp/src/client/port.js';

export type WAMediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';

export interface SentRecord {
  jid: string;
  content: AnyMessageContent;
  options: MiscMessageGenerationOptions | undefined;
  /** What sendMessage returned. */
  message: WAMessage;
}

export interface FakeMediaServer {
  /** Base URL, http://127.0.0.1:<port> */
  url: string;
  /** Encrypted uploads by id. */
  readonly files: Map<string, Buffer>;
  /** Stores bytes and returns their URL. */
  put(bytes: Buffer): string;
  /** Makes a URL answer 410 Gone, like an expired WhatsApp CDN link. */
  expire(url: string): void;
  close(): Promise<void>;
}

export interface IncomingOptions {
  /** Chat jid; defaults to `from` (a 1:1 chat). */
  chat?: string;
  /** Sender jid; defaults to a fixed contact. Set `participant` in groups. */
  from?: string;
  id?: string;
  /** Seconds since the epoch. */
  timestamp?: number;
  pushName?: string;
  fromMe?: boolean;
}

export interface IncomingMediaOptions extends IncomingOptions {
  mimetype?: string;
  caption?: string;
  fileName?: string;
  ptt?: boolean;
}

export interface FakeWAPort {
  port: WAClientPort;
  /** Baileys' event buffer; emit anything the real socket would. */
  ev: ReturnType<typeof makeEventBuffer>;
  sent: SentRecord[];
  /** Other recorded calls (readMessages, presence ...), in order. */
  calls: Array<{ method: string; args: unknown[] }>;
  /** Groups served by groupMetadata / groupFetchAllParticipating. */
  groups: Map<string, GroupMetadata>;
  /** The next sendMessage rejects with this error (once). */
  failNextSend(err: Error): void;
  /** Emits `messages.upsert` (type 'notify' unless told) with the message. */
  emitIncoming(msg: proto.IWebMessageInfo, type?: 'notify' | 'append'): void;
  /** A received message with the given content. */
  makeIncoming(message: proto.IMessage, opts?: IncomingOptions): WAMessage;
  /** A received media message whose encrypted file is on the local media server. */
  makeIncomingMedia(kind: WAMediaKind, bytes: Buffer, opts?: IncomingMediaOptions): Promise<WAMessage>;
  mediaServer: FakeMediaServer;
  close(): Promise<void>;
}

export interface FakeWAPortOptions {
  /** Our own jid, e.g. 15550001111@s.whatsapp.net */
  me: string;
  /** Upsert sent messages as 'append' like the real socket's emitOwnEvents; default true. */
  emitOwnEvents?: boolean;
  /** Replace or add port methods (the rest throw "not implemented"). */
  overrides?: Partial<WAClientPort>;
}

const DEFAULT_CONTACT = '15550009999@s.whatsapp.net';
const silent = pino({ level: 'silent' });

async function startMediaServer(): Promise<FakeMediaServer> {
  const files = new Map<string, Buffer>();
  const expired = new Set<string>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const id = decodeURIComponent((req.url ?? '/').slice(1).split('?')[0] ?? '');
    if (req.method === 'PUT' || req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        files.set(id, Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
      return;
    }
    if (expired.has(id)) {
      res.writeHead(410).end();
      return;
    }
    const body = files.get(id);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${body.length}` });
      res.end(body.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('media server: no address');
  const url = `http://127.0.0.1:${addr.port}`;
  const idOf = (u: string) => (u.startsWith(`${url}/`) ? u.slice(url.length + 1) : undefined);
  return {
    url,
    files,
    put(bytes) {
      const id = randomBytes(12).toString('hex');
      files.set(id, bytes);
      return `${url}/${id}`;
    },
    expire(u) {
      const id = idOf(u);
      if (id === undefined) throw new Error(`media server: not one of our URLs: ${u}`);
      expired.add(id);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The media payload (imageMessage, documentMessage ...) of a message, if it has one with a url. */
function mediaOf(message: proto.IMessage | null | undefined): { url?: string | null } | undefined {
  if (!message) return undefined;
  for (const value of Object.values(message)) {
    if (value && typeof value === 'object' && 'url' in value && 'mediaKey' in value) return value as { url?: string | null };
  }
  return undefined;
}

export async function createFakeWAPort(opts: FakeWAPortOptions): Promise<FakeWAPort> {
  const mediaServer = await startMediaServer();
  const ev = makeEventBuffer(silent);
  const sent: SentRecord[] = [];
  const calls: FakeWAPort['calls'] = [];
  const groups = new Map<string, GroupMetadata>();
  const emitOwnEvents = opts.emitOwnEvents ?? true;
  let nextFailure: Error | undefined;
  let ended = false;

  /** Baileys hands us the path of the encrypted temp file; we store its bytes. */
  const upload: WAMediaUploadFunction = async (encFilePath) => {
    const mediaUrl = mediaServer.put(await readFile(encFilePath));
    // Without a directPath Baileys downloads from `url` as is (a directPath forces https://mmg...).
    return { mediaUrl, directPath: undefined as unknown as string };
  };

  const notImplemented = (name: string) => () => {
    throw new Error(`fake port: ${name} not implemented`);
  };
  const base = Object.fromEntries(WA_CLIENT_METHODS.map((m) => [m, notImplemented(m)])) as unknown as WAClientPort;

  const record = (method: string, args: unknown[]) => calls.push({ method, args });
  const endSocket = async (error: Error | undefined) => {
    if (ended) return;
    ended = true;
    ev.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
  };

  const port: WAClientPort = {
    ...base,
    user: { id: opts.me },
    ev,
    sendMessage: async (jid, content, options) => {
      if (nextFailure) {
        const err = nextFailure;
        nextFailure = undefined;
        throw err;
      }
      const message = await generateWAMessage(jid, content, {
        logger: silent,
        userJid: opts.me,
        upload,
        messageId: generateMessageIDV2(opts.me),
        ...options,
      });
      sent.push({ jid, content, options, message });
      if (emitOwnEvents) process.nextTick(() => ev.emit('messages.upsert', { messages: [message], type: 'append' }));
      return message;
    },
    readMessages: async (keys: WAMessageKey[]) => void record('readMessages', [keys]),
    sendPresenceUpdate: async (type, jid) => void record('sendPresenceUpdate', [type, jid]),
    presenceSubscribe: async (jid) => void record('presenceSubscribe', [jid]),
    groupMetadata: async (jid) => {
      const g = groups.get(jid);
      if (!g) throw new Boom('item-not-found', { statusCode: 404 });
      return g;
    },
    groupFetchAllParticipating: async () => Object.fromEntries(groups),
    /** Re-hosts the media of an expired message under a new URL, like a phone re-upload. */
    updateMediaMessage: async (msg) => {
      record('updateMediaMessage', [msg.key]);
      const copy = proto.WebMessageInfo.decode(proto.WebMessageInfo.encode(msg).finish()) as WAMessage;
      const media = mediaOf(copy.message);
      const oldId = media?.url ? media.url.slice(mediaServer.url.length + 1) : undefined;
      const bytes = oldId !== undefined ? mediaServer.files.get(oldId) : undefined;
      if (!media || !bytes) throw new Boom('media not found', { statusCode: 404 });
      media.url = mediaServer.put(bytes);
      return copy;
    },
    logout: async () => {
      record('logout', []);
      await endSocket(new Boom('Intentional Logout', { statusCode: 401 }));
    },
    end: async (error) => endSocket(error),
    ...opts.overrides,
  };

  const makeIncoming = (message: proto.IMessage, o: IncomingOptions = {}): WAMessage => {
    const from = o.from ?? DEFAULT_CONTACT;
    const chat = o.chat ?? from;
    const isGroup = chat.endsWith('@g.us');
    return proto.WebMessageInfo.fromObject({
      key: { remoteJid: chat, fromMe: o.fromMe ?? false, id: o.id ?? generateMessageIDV2(from), ...(isGroup ? { participant: from } : {}) },
      message,
      messageTimestamp: o.timestamp ?? Math.floor(Date.now() / 1000),
      pushName: o.pushName ?? 'Contact',
    }) as WAMessage;
  };

  return {
    port,
    ev,
    sent,
    calls,
    groups,
    failNextSend(err) {
      nextFailure = err;
    },
    emitIncoming(msg, type = 'notify') {
      ev.emit('messages.upsert', { messages: [msg as WAMessage], type });
    },
    makeIncoming,
    async makeIncomingMedia(kind, bytes, o = {}) {
      const content = {
        [kind]: bytes,
        ...(o.mimetype !== undefined ? { mimetype: o.mimetype } : kind === 'document' ? { mimetype: 'application/octet-stream' } : {}),
        ...(o.caption !== undefined ? { caption: o.caption } : {}),
        ...(o.fileName !== undefined ? { fileName: o.fileName } : {}),
        ...(o.ptt !== undefined ? { ptt: o.ptt } : {}),
      } as AnyMediaMessageContent;
      const message = await prepareWAMessageMedia(content, { upload, logger: silent });
      return makeIncoming(message, o);
    },
    mediaServer,
    async close() {
      ev.destroy();
      await mediaServer.close();
    },
  };
}
