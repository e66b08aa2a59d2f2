/**
 * An emulated WhatsApp socket on top of the sandbox network: a `WAClientPort` the real connector
 * drives exactly like Baileys' socket, so the demo and the e2e tests can play WhatsApp contacts
 * through the sandbox control API. It keeps WhatsApp's life cycle:
 * - a socket without a session shows rotating QR codes (the sandbox's login codes) and answers
 *   `requestPairingCode` with the current code; once a code is approved it writes `creds.me`, says
 *   `isNewLogin` and closes with 515 (restart required), like WhatsApp after pairing;
 * - a socket with a session connects with the stored sandbox token, opens, sends the contacts and,
 *   on the first connection after pairing, the history (see history.ts);
 * - a lost connection closes the socket (428) and WAConnection makes a new one, which resumes from
 *   the last event seq kept in the creds; a logout on the sandbox closes it with 401.
 * Events are translated by events.ts, sends by from-wa.ts. Development and tests only.
 */
import { Boom } from '@hapi/boom';
import {
  makeEventBuffer, proto, type AuthenticationCreds, type UserFacingSocketConfig, type WAMessage,
} from 'baileys';
import { SandboxClient, isSandboxClientError, type WireAccount } from '@tributary/sandbox/client/index';
import type { MakeWASocket } from '../client/connection.js';
import type { WAClientPort } from '../client/port.js';
import { SandboxDirectory, groupChatId, phoneJid } from './directory.js';
import { OwnActions, translateEvent, type EventContext } from './events.js';
import { sendThroughSandbox } from './from-wa.js';
import { groupOps } from './groups.js';
import { initialHistory, olderHistory } from './history.js';

/** What the emulated socket keeps in the Baileys creds (saved with them by the auth store). */
export interface SandboxSession {
  account: string;
  token: string;
  /** Last sandbox event seq handled; the next connection resumes after it. */
  lastSeq?: number;
  historySent?: boolean;
}
export type SandboxCreds = AuthenticationCreds & { sandbox?: SandboxSession };

const CREDS_SAVE_MS = 1_000;

/** A `MakeWASocket` that connects to the sandbox server at `baseUrl` instead of WhatsApp. */
export function sandboxSocketFactory(baseUrl: string): MakeWASocket {
  const url = baseUrl.replace(/\/+$/, '');
  return (config) => new SandboxSocket(url, config).port;
}

class SandboxSocket {
  readonly port: WAClientPort;
  private readonly ev: ReturnType<typeof makeEventBuffer>;
  private readonly creds: SandboxCreds;
  private readonly own = new OwnActions();
  private client: SandboxClient | undefined;
  private ctx: (EventContext & { me: string }) | undefined;
  private ready: Promise<void>;
  private chain: Promise<void> = Promise.resolve();
  private ended = false;
  private qrCode: string | undefined;
  private qrWaiters: Array<(code: string) => void> = [];
  private cancelQr: (() => void) | undefined;
  private pairingPhone: string | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private readonly log: NonNullable<UserFacingSocketConfig['logger']>;

  constructor(private readonly baseUrl: string, private readonly config: UserFacingSocketConfig) {
    if (!config.logger) throw new Error('the sandbox socket needs a logger');
    this.log = config.logger;
    this.ev = makeEventBuffer(this.log);
    this.creds = config.auth.creds as SandboxCreds;
    const session = this.creds.sandbox;
    // Start once the caller has attached its listeners (WAConnection does so right after creating us).
    this.ready = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      session?.token ? this.connect(session) : this.pair());
    this.ready.catch((err: unknown) => void this.end(toBoom(err)));
    this.port = this.makePort();
  }

  // ---- pairing ----

  private async pair(): Promise<void> {
    const client = new SandboxClient({ url: this.baseUrl });
    const qr = client.startQrLogin(({ code }) => {
      this.qrCode = code;
      for (const wake of this.qrWaiters.splice(0)) wake(code);
      if (!this.ended) this.ev.emit('connection.update', { connection: 'connecting', qr: code });
    });
    this.cancelQr = () => qr.cancel();
    let result;
    try {
      result = await qr.result;
    } catch (err) {
      if (this.ended) return;
      throw isSandboxClientError(err) && err.code === 'login_expired' ? new Boom('QR refs attempts ended', { statusCode: 408 }) : err;
    }
    if (this.ended) return;
    const probe = new SandboxClient({ url: this.baseUrl, token: result.token, reconnect: { minMs: 60_000, maxMs: 60_000 } });
    let account: WireAccount;
    try {
      account = (await probe.connect()).account;
    } finally {
      await probe.close();
    }
    const digits = account.phone.replace(/\D/g, '');
    if (this.pairingPhone && this.pairingPhone !== digits) {
      throw new Boom('the pairing code was entered on another phone number', { statusCode: 401 });
    }
    this.updateCreds({
      me: { id: `${digits}:1@s.whatsapp.net`, name: account.name },
      registered: true,
      sandbox: { account: account.id, token: result.token },
    });
    this.ev.emit('connection.update', { isNewLogin: true, qr: undefined });
    await this.end(new Boom('Stream Errored (restart required)', { statusCode: 515 }));
  }

  // ---- session ----

  private async connect(session: SandboxSession): Promise<void> {
    const client = new SandboxClient({
      url: this.baseUrl, token: session.token, autoAck: false,
      ...(session.lastSeq !== undefined ? { since: session.lastSeq } : {}),
      // WAConnection owns reconnects: a drop ends this socket and it makes the next one.
      reconnect: { minMs: 3_600_000, maxMs: 3_600_000 },
    });
    this.client = client;
    client.on('event', (event, seq) => {
      this.chain = this.chain.then(() => this.deliver(event, seq));
    });
    client.on('logged_out', (reason) => void this.end(new Boom(`logged out: ${reason}`, { statusCode: 401 })));
    client.on('disconnected', (info) => {
      if (info.code === 4001 || info.code === 4002) void this.end(new Boom('logged out', { statusCode: 401 }));
      else void this.end(new Boom('Connection Closed', { statusCode: 428 }));
    });
    let info;
    try {
      info = await client.connect();
    } catch (err) {
      throw isSandboxClientError(err) && (err.code === 'unauthorized' || err.code === 'bad_credentials')
        ? new Boom('session no longer valid', { statusCode: 401 }) : err;
    }
    const directory = new SandboxDirectory(client, info.account);
    this.ctx = { client, directory, baseUrl: this.baseUrl, logger: this.log, own: this.own, me: phoneJid(info.account.phone) };
    const contacts = await directory.loadContacts();
    this.ev.emit('connection.update', { connection: 'open' });
    this.ev.emit('contacts.upsert', contacts.map((c) => ({ id: phoneJid(c.phone), notify: c.name, name: c.name })));
    if (!session.historySent) {
      for (const set of await initialHistory(this.ctx)) this.ev.emit('messaging-history.set', set);
      this.updateCreds({ sandbox: { ...session, ...this.creds.sandbox, historySent: true } });
    }
  }

  private async deliver(event: Parameters<typeof translateEvent>[0], seq: number): Promise<void> {
    if (this.ended || !this.ctx) return;
    try {
      for (const [name, payload] of await translateEvent(event, this.ctx)) {
        (this.ev.emit as (n: string, p: unknown) => boolean)(name, payload);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message, type: event.type }, 'sandbox event could not be translated');
    }
    this.client?.ack(seq);
    const session = this.creds.sandbox;
    if (session) {
      session.lastSeq = seq;
      this.scheduleCredsSave();
    }
  }

  private updateCreds(update: Partial<SandboxCreds>): void {
    Object.assign(this.creds, update);
    this.ev.emit('creds.update', update);
  }

  private scheduleCredsSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      if (this.creds.sandbox) this.ev.emit('creds.update', { sandbox: this.creds.sandbox } as Partial<SandboxCreds>);
    }, CREDS_SAVE_MS);
  }

  private async end(error: Error | undefined): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.cancelQr?.();
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
      if (this.creds.sandbox) this.ev.emit('creds.update', { sandbox: this.creds.sandbox } as Partial<SandboxCreds>);
    }
    const client = this.client;
    this.client = undefined;
    client?.removeAllListeners();
    await client?.close().catch(() => undefined);
    this.ev.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
  }

  private async context(): Promise<EventContext & { me: string }> {
    await this.ready;
    if (!this.ctx || this.ended) throw new Boom('Connection Closed', { statusCode: 428 });
    return this.ctx;
  }

  // ---- the port ----

  private makePort(): WAClientPort {
    const ctx = () => this.context();
    const creds = this.creds;
    return {
      get user() {
        const me = creds.me;
        return me ? { id: me.id, ...(me.name ? { name: me.name } : {}) } : undefined;
      },
      ev: this.ev,
      sendMessage: async (jid, content, options) => {
        const c = await ctx();
        const sent = await sendThroughSandbox(jid, content, options, c);
        process.nextTick(() => this.ev.emit('messages.upsert', { messages: [sent], type: 'append' }));
        return sent;
      },
      readMessages: async (keys) => {
        const c = await ctx();
        for (const key of keys) {
          if (!key.remoteJid || !key.id) continue;
          const id = await c.directory.messageId(key.remoteJid, key.id);
          this.own.expect('read', id);
          await c.client.markRead(await c.directory.chatId(key.remoteJid), id);
        }
      },
      sendPresenceUpdate: async (type, jid) => {
        const c = await ctx();
        if (type === 'available' || type === 'unavailable') {
          await c.client.setPresence(type === 'available');
        } else if (jid) {
          await c.client.typing(await c.directory.chatId(jid), type === 'composing' || type === 'recording');
        }
      },
      presenceSubscribe: async () => undefined, // the sandbox sends every contact's presence anyway
      ...groupOps(ctx),
      profilePictureUrl: async (jid) => {
        const c = await ctx();
        const group = groupChatId(jid);
        const avatar = group ? (await c.client.getChat(group)).avatar : (await c.client.getUser((await c.directory.accountOfJid(jid)).id)).avatar;
        if (!avatar) throw new Boom('item-not-found', { statusCode: 404 });
        return `${this.baseUrl}/media/${encodeURIComponent(avatar)}`;
      },
      onWhatsApp: async (...jids) => {
        const c = await ctx();
        const out: Array<{ jid: string; exists: boolean }> = [];
        for (const jid of jids) {
          const account = await c.directory.accountOfJid(jid).catch(() => undefined);
          if (account) out.push({ jid: phoneJid(account.phone), exists: true });
        }
        return out;
      },
      requestPairingCode: async (phone) => {
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.pairingPhone = phone.replace(/\D/g, '');
        const code = this.qrCode ?? await new Promise<string>((resolve) => this.qrWaiters.push(resolve));
        return code.replace(/-/g, '');
      },
      updateMediaMessage: async (msg) => this.rehost(msg),
      fetchMessageHistory: async (count, oldestKey, _ts) => {
        const c = await ctx();
        if (!oldestKey.remoteJid || !oldestKey.id) throw new Boom('no message key', { statusCode: 400 });
        const chat = await c.directory.chatId(oldestKey.remoteJid);
        const before = await c.directory.messageId(oldestKey.remoteJid, oldestKey.id);
        void olderHistory(chat, before, count, c).then((set) => this.ev.emit('messaging-history.set', set))
          .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'sandbox history fetch failed'));
        return `sandbox-${Date.now()}`;
      },
      logout: async () => {
        const c = await ctx();
        await c.client.logout().catch(() => undefined);
        await this.end(new Boom('Intentional Logout', { statusCode: 401 }));
      },
      end: async (error) => this.end(error),
    };
  }

  /** A phone's re-upload of expired media: the same encrypted file under a new link. */
  private async rehost(msg: WAMessage): Promise<WAMessage> {
    const c = await this.context();
    const copy = proto.WebMessageInfo.decode(proto.WebMessageInfo.encode(msg).finish()) as WAMessage;
    const media = Object.values(copy.message ?? {}).find((v): v is { url?: string | null } =>
      !!v && typeof v === 'object' && 'url' in v && 'mediaKey' in v);
    if (!media?.url) throw new Boom('media not found', { statusCode: 404 });
    const res = await fetch(media.url);
    if (!res.ok) throw new Boom('media not found', { statusCode: 404 });
    const up = await c.client.uploadMedia(Buffer.from(await res.arrayBuffer()), 'application/octet-stream');
    media.url = `${this.baseUrl}/media/${encodeURIComponent(up.media_id)}`;
    return copy;
  }
}

function toBoom(err: unknown): Error {
  if (err instanceof Boom) return err;
  return new Boom(err instanceof Error ? err.message : String(err), { statusCode: 428 });
}
