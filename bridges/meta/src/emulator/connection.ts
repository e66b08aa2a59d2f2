/**
 * One client connection to the emulated gateway: LightSpeed requests (tasks, syncs) in, responses
 * and pushes out. The mailbox (database 1) is fed from a sandbox wire client of its own, opened by
 * the first mailbox sync: with the client's cursor (the sandbox event seq it has applied) the
 * sandbox replays what came after it into the sync response; without one (or when the sandbox no
 * longer holds those events) the response is a snapshot of threads, last messages and contacts.
 * Every later sandbox event is pushed with the cursor it moves to. A lost sandbox connection
 * closes the gateway connection with 4002 (server error), so the client reconnects and resyncs.
 */
import type WebSocket from 'ws';
import type { Logger } from '@tributary/core/logging';
import { SandboxClient, type WireEvent } from '@tributary/sandbox/client/index';
import { LSProgramBuilder, buildLSResponse } from '../lightspeed/builder.js';
import { DGWServerConnection } from './dgw-server.js';
import { instagramRefusal } from './instagram-moved.js';
import { InstagramSyncStream } from './instagram-sync.js';
import { parseJSONExact } from './ids.js';
import type { MediaRegistry } from './media.js';
import { type RequestFolders } from './requests.js';
import { addContact, addEvent, addMessage, addThread, type RowContext } from './rows.js';
import { requestStateOf, syncRequests } from './sync-requests.js';
import { connectOnce, type AccountSession, type SessionConnection } from './sessions.js';
import { runTasks, type IncomingTask } from './tasks.js';

export interface ConnectionDeps {
  sandboxUrl: string;
  media: MediaRegistry;
  mediaUrl(mediaId: string): string;
  /** Whether a sandbox chat is end-to-end encrypted (see rows.ts). */
  isEncrypted(chatId: string): boolean;
  /** Message requests (Messenger flavour): their threads sync through database 95, not the mailbox. */
  requests?: RequestFolders;
  /** Instagram flavour: the database 223 stream (instagram-sync.ts) replaces the mailbox push stream. */
  instagram?: boolean;
  log: Logger;
  now?: () => number;
}

const REPLAY_TIMEOUT_MS = 10_000;

export class EmulatorConnection implements SessionConnection {
  readonly #session: AccountSession;
  readonly #deps: ConnectionDeps;
  readonly #dgw: DGWServerConnection;
  readonly #rows: RowContext;
  #feed: SandboxClient | undefined;
  #cursor = 0;
  #feeding = false;
  #queued: Array<[WireEvent, number]> = [];
  #pushChain: Promise<void> = Promise.resolve();
  #closed = false;
  /** Database 95's cursor: the newest request message time the client was sent. */
  #requestCursor = 0;
  /** Request chats whose thread row this connection has sent (a message of another gets its row first). */
  readonly #requestThreads = new Set<string>();
  #ig: InstagramSyncStream | undefined;

  constructor(ws: WebSocket, session: AccountSession, deps: ConnectionDeps) {
    this.#session = session;
    this.#deps = deps;
    const requests = deps.requests;
    this.#rows = {
      dir: session.dir, mediaUrl: deps.mediaUrl, isEncrypted: deps.isEncrypted,
      ...(requests ? { folderOf: (chat) => requests.folderOf(chat, session.account.id) } : {}),
    };
    this.#dgw = new DGWServerConnection(ws, {
      onRequest: (json) => this.#onRequest(json),
      ...(deps.instagram ? { onStream: (parameters: string, streamId: number) => this.#openInstagramSync(parameters, streamId) } : {}),
    }, deps.log);
    session.connections.add(this);
    ws.on('close', () => this.#shutdown());
  }

  kill(code: number, deauth: boolean): void {
    if (deauth) this.#dgw.deauth();
    this.#dgw.close(code, deauth ? 'deauthorized' : 'gateway error');
    this.#shutdown();
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#session.connections.delete(this);
    this.#ig?.close();
    const feed = this.#feed;
    this.#feed = undefined;
    feed?.removeAllListeners();
    void feed?.close().catch(() => undefined);
  }

  async #onRequest(json: string): Promise<string | undefined> {
    const req = JSON.parse(json) as { payload?: unknown; request_id?: unknown; type?: unknown };
    if (typeof req.payload !== 'string' || typeof req.request_id !== 'number') return undefined;
    const inner = parseJSONExact(req.payload) as Record<string, unknown>;
    const requestId = req.request_id;
    const ctx = { ...this.#rows, media: this.#deps.media, now: this.#deps.now ?? Date.now, ...(this.#deps.requests ? { requests: this.#deps.requests } : {}),
      onDeclined: (chatId: string) => this.#requestThreads.delete(chatId), ...(this.#deps.instagram ? { refuse: instagramRefusal } : {}) };
    switch (req.type) {
      case 3: {
        const tasks = Array.isArray(inner.tasks) ? (inner.tasks as Array<Record<string, unknown>>) : [];
        const list: IncomingTask[] = tasks.map((t) => ({ label: String(t.label), payload: String(t.payload), taskId: String(t.task_id) }));
        return buildLSResponse({ requestId, program: await runTasks(list, ctx) });
      }
      case 4:
        await runTasks([{ label: String(inner.label), payload: String(inner.payload), taskId: '0' }], ctx);
        return undefined;
      case 1:
      case 2: {
        const database = Number(inner.database);
        const cursor = typeof inner.last_applied_cursor === 'string' ? inner.last_applied_cursor : null;
        try {
          return buildLSResponse({ requestId, program: await this.#sync(database, cursor) });
        } catch (err) {
          // Without the sandbox feed there is nothing to sync from: drop the connection so the
          // client reconnects (and resyncs) instead of waiting for a response that never comes.
          this.#deps.log.warn({ err: (err as Error).message }, 'emulator: mailbox sync failed; closing the connection');
          this.kill(4002, false);
          return undefined;
        }
      }
      default:
        return undefined;
    }
  }

  async #sync(database: number, cursor: string | null): Promise<LSProgramBuilder> {
    const b = new LSProgramBuilder();
    if (database === 2) {
      for (const account of await this.#session.client.getContacts()) await addContact(b, account, this.#rows);
      b.call('LSExecuteFirstBlockForSyncTransaction', { databaseId: 2, ...(cursor ? { currentCursor: cursor } : {}), nextCursor: 'contacts', syncStatus: 2 });
      return b;
    }
    if (database === 95 && this.#deps.requests?.enabled) {
      const since = cursor !== null && /^\d{1,15}$/.test(cursor) ? Number(cursor) : undefined;
      this.#requestCursor = await syncRequests(b, { session: this.#session, rows: this.#rows, requests: this.#deps.requests, since, listed: this.#requestThreads });
      b.call('LSExecuteFirstBlockForSyncTransaction', { databaseId: 95, ...(cursor ? { currentCursor: cursor } : {}), nextCursor: String(this.#requestCursor), syncStatus: 2 });
      return b;
    }
    if (database !== 1 || this.#feeding || this.#feed) {
      b.call('LSExecuteFirstBlockForSyncTransaction', { databaseId: database, nextCursor: database === 1 ? String(this.#cursor) : 'none', syncStatus: 2 });
      return b;
    }
    await this.#startFeed(cursor, b);
    b.call('LSExecuteFirstBlockForSyncTransaction', { databaseId: 1, ...(cursor ? { currentCursor: cursor } : {}), nextCursor: String(this.#cursor), syncStatus: 2 });
    return b;
  }

  async #startFeed(cursor: string | null, b: LSProgramBuilder): Promise<void> {
    const since = cursor !== null && /^\d{1,15}$/.test(cursor) ? Number(cursor) : undefined;
    const feed = new SandboxClient({
      url: this.#deps.sandboxUrl, token: this.#session.token, ...(since !== undefined ? { since } : {}),
      // Never reconnect by itself: a lost feed closes the gateway connection (see above).
      reconnect: { minMs: 3_600_000, maxMs: 3_600_000 },
    });
    this.#feed = feed;
    let remaining = 0;
    let resumed = false;
    let head = 0;
    const replay: Array<[WireEvent, number]> = [];
    let replayDone: () => void = () => undefined;
    const replayed = new Promise<void>((resolve) => (replayDone = resolve));
    feed.on('connected', (info) => {
      resumed = info.resumed;
      head = info.head_seq;
      remaining = info.resumed ? info.replayed : 0;
      if (remaining === 0) replayDone();
    });
    feed.on('event', (event, seq) => {
      if (remaining > 0) {
        replay.push([event, seq]);
        if (--remaining === 0) replayDone();
      } else if (this.#feeding) {
        this.#enqueuePush(event, seq);
      } else {
        this.#queued.push([event, seq]);
      }
    });
    await connectOnce(feed);
    feed.on('disconnected', () => {
      if (!this.#closed) this.kill(4002, false);
    });
    await Promise.race([replayed, new Promise((r) => setTimeout(r, REPLAY_TIMEOUT_MS))]);
    if (resumed) {
      // Events of message requests are database 95's (its own sync replays them).
      for (const [event] of replay) if (!this.#requestState(event)) await addEvent(b, event, this.#rows);
      this.#cursor = replay.length ? replay[replay.length - 1]![1] : (since ?? head);
    } else {
      await this.#snapshot(b);
      this.#cursor = head;
    }
    this.#feeding = true;
    for (const [event, seq] of this.#queued.splice(0)) this.#enqueuePush(event, seq);
  }

  /** Threads with their last message, and contacts: the first sync of a mailbox. */
  async #snapshot(b: LSProgramBuilder): Promise<void> {
    const client = this.#session.client;
    const requests = this.#deps.requests;
    for (const chat of await client.getChats()) {
      if (requests && (requests.isRequest(chat, this.#session.account.id) || requests.isHidden(chat.id, this.#session.account.id))) continue;
      const { messages } = await client.getMessages(chat.id, { limit: 1 });
      const last = messages[messages.length - 1];
      const threadKey = await addThread(b, chat, this.#rows, last?.ts);
      if (last) await addMessage(b, last, this.#rows, threadKey);
    }
    await addContact(b, this.#session.account, this.#rows);
    for (const account of await client.getContacts()) await addContact(b, account, this.#rows);
  }

  /** Instagram's sync stream opens with no parameters (fact); one per connection. */
  #openInstagramSync(parameters: string, streamId: number): ((payload: Uint8Array) => void) | undefined {
    if (parameters !== '' || this.#ig) return undefined;
    const ig = new InstagramSyncStream({
      session: this.#session, sandboxUrl: this.#deps.sandboxUrl, rows: this.#rows, log: this.#deps.log,
      send: (payload) => this.#dgw.sendOnStream(streamId, payload), kill: (code) => this.kill(code, false),
      ...(this.#deps.requests ? { requests: this.#deps.requests } : {}),
    });
    this.#ig = ig;
    return (payload) => ig.onData(payload);
  }

  cutover(chatId: string): void {
    if (this.#ig) return this.#ig.cutover(chatId);
    this.#pushChain = this.#pushChain.then(async () => {
      if (this.#closed || !this.#feeding) return;
      const b = new LSProgramBuilder();
      try {
        b.call('LSMoveThreadToE2EECutoverFolder', { threadKey: await this.#session.dir.threadKey({ id: chatId, type: chatId.startsWith('g:') ? 'group' : 'dm' }) });
      } catch (err) {
        this.#deps.log.warn({ err: (err as Error).message }, 'emulator: cutover could not be translated');
        return;
      }
      b.call('LSExecuteFirstBlockForSyncTransaction', { databaseId: 1, nextCursor: String(this.#cursor), syncStatus: 2 });
      this.#dgw.push(buildLSResponse({ requestId: 0, program: b }));
    });
  }

  /** Whether an event belongs to a message request of this account (or to one it declined). */
  #requestState(event: WireEvent): 'request' | 'hidden' | undefined {
    const requests = this.#deps.requests;
    return requests ? requestStateOf(event, requests, this.#session.account.id) : undefined;
  }

  /**
   * As #requestState, for a live event, which may also change the folders: a new message from the
   * stranger brings a declined request back, and an answer from this account (sent from another
   * device) accepts the request, as on Messenger; the thread row then moves to the inbox.
   */
  async #liveRequestState(event: WireEvent, b: LSProgramBuilder): Promise<'request' | 'hidden' | undefined> {
    const requests = this.#deps.requests;
    const self = this.#session.account.id;
    if (!requests) return undefined;
    requests.noteEvent(event, self);
    const state = this.#requestState(event);
    const ownAnswer = state === 'request' && event.type === 'message' && event.message.sender === self;
    if (ownAnswer) requests.accept(event.message.chat_id, self);
    const message = event.type === 'message' ? event.message : undefined;
    if (message && (ownAnswer || (state === 'request' && !this.#requestThreads.has(message.chat_id)))) {
      if (!ownAnswer) this.#requestThreads.add(message.chat_id);
      // The thread row goes first: in the inbox after an answer, back among the requests after a decline.
      const chat = (await this.#session.client.getChats()).find((c) => c.id === message.chat_id);
      if (chat) await addThread(b, chat, this.#rows, message.ts);
    }
    return ownAnswer ? undefined : state;
  }

  #enqueuePush(event: WireEvent, seq: number): void {
    if (seq <= this.#cursor) return;
    this.#pushChain = this.#pushChain.then(async () => {
      if (this.#closed) return;
      const b = new LSProgramBuilder();
      const state = await this.#liveRequestState(event, b);
      try {
        if (state !== 'hidden') await addEvent(b, event, this.#rows);
      } catch (err) {
        this.#deps.log.warn({ err: (err as Error).message, type: event.type }, 'emulator: event could not be translated');
      }
      this.#cursor = Math.max(this.#cursor, seq);
      if (b.size === 0) return;
      if (state === 'request') {
        if (event.type === 'message') this.#requestCursor = Math.max(this.#requestCursor, event.message.ts);
        b.call('LSExecuteFirstBlockForSyncTransaction', { databaseId: 95, nextCursor: String(this.#requestCursor), syncStatus: 2 });
      } else {
        b.call('LSExecuteFirstBlockForSyncTransaction', { databaseId: 1, nextCursor: String(seq), syncStatus: 2 });
      }
      this.#dgw.push(buildLSResponse({ requestId: 0, program: b }));
    });
  }
}
