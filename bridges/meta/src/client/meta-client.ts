/**
 * MetaClient: one logged-in Messenger or Instagram web session. It loads the inbox page for its
 * configuration, holds the DGW socket, syncs the mailbox from the last cursor on every connect
 * (so a reconnect loses nothing), turns pushes into typed `MetaEvent`s, sends LightSpeed tasks at
 * a browser's pace, uploads and downloads media, and keeps itself alive:
 * - a dropped socket reconnects with exponential backoff and jitter;
 * - close codes 4003/4004 or a Deauth end in the `logged-out` state, without a reconnect; the
 *   page is reloaded once to say why (login page, checkpoint, consent);
 * - the page config is reloaded every `refreshIntervalMs` and when the gateway refuses the socket.
 *
 * Instagram receives on its own database 223 stream (seq_id, protobuf frames of slide deltas) and
 * sends text, reactions, edits and unsends over GraphQL and typing over mqttbypass (see
 * ../instagram/ig-path.ts); its other tasks still travel as LightSpeed tasks (docs/meta-emulator.md).
 */
import { EventEmitter } from 'node:events';
import { getLogger, type Logger } from '@tributary/core/logging';
import type { MetaCookies, MetaPlatform } from '../cookies.js';
import type { DGWTimings } from '../dgw/timers.js';
import { EpochIdGenerator, RequestIdCounter } from '../lightspeed/ids.js';
import { buildStatelessTaskRequest, buildSyncRequest, buildTaskRequest, SYNC_DATABASE } from '../lightspeed/requests.js';
import { parseLSResponse } from '../lightspeed/response.js';
import { syncCursorUpdates, type LSTables } from '../lightspeed/tables.js';
import type { LSTask } from '../lightspeed/tasks.js';
import { MetaPageError, type MetaPageConfig, type MetaPageErrorCode } from '../page-config.js';
import { TokenBucket, reconnectDelay, type BackoffOptions } from './backoff.js';
import type { MetaClientEvents, MetaClientOptions, MetaClientState, MetaLoggedOutReason, MetaTaskResult } from './types.js';

export type { MetaClientEvents, MetaClientOptions, MetaClientState, MetaLoggedOutReason, MetaTaskResult } from './types.js';
import { DGWSocket, dgwUrl, type DGWCloseInfo, type DGWSocketOptions } from './dgw-socket.js';
import { MetaClientError, MetaTaskError, type MetaTaskFailure } from './errors.js';
import { eventsFromTables } from './events.js';
import type { MetaHttpSession } from './http-session.js';
import { createHttpSession } from './session-factory.js';
import { downloadMedia, uploadMedia, type DownloadedMedia, type UploadedMedia, type UploadOptions } from './media.js';
import { IG_SYNC_DATABASE, InstagramPath } from '../instagram/ig-path.js';

const DEFAULT_REFRESH_MS = 12 * 3_600_000;
const DEFAULT_MAX_DOWNLOAD = 100 * 1024 * 1024;
const LOGGED_OUT_CODES: Record<number, MetaLoggedOutReason> = { 4003: 'unauthorized', 4004: 'rejected' };
const PAGE_LOGOUT_CODES = new Set<MetaPageErrorCode>(['login-required', 'checkpoint', 'challenge', 'consent']);

export class MetaClient extends EventEmitter<MetaClientEvents> {
  readonly platform: MetaPlatform;
  readonly #http: MetaHttpSession;
  readonly #log: Logger;
  readonly #cursors = new Map<number, string | null>();
  readonly #epochs = new EpochIdGenerator();
  readonly #requestIds = new RequestIdCounter();
  readonly #bucket: TokenBucket;
  readonly #reconnect: BackoffOptions;
  readonly #refreshMs: number;
  readonly #timings: Partial<DGWTimings> | undefined;
  readonly #random: () => number;
  readonly #ig: InstagramPath | undefined;
  #page: MetaPageConfig | undefined;
  #socket: DGWSocket | undefined;
  #state: MetaClientState = { state: 'disconnected' };
  #nextTaskId = 1;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  /** Bumped by connect() and disconnect(): work from an older run stops. */
  #run = 0;

  constructor(opts: MetaClientOptions) {
    super();
    this.platform = opts.platform;
    this.#log = opts.log ?? getLogger('meta-client', { platform: opts.platform });
    this.#http = createHttpSession(opts, this.#log);
    for (const [db, cursor] of Object.entries(opts.cursors ?? {})) this.#cursors.set(Number(db), cursor);
    this.#bucket = new TokenBucket(opts.rateLimit ?? { capacity: 10, refillPerSecond: 1 });
    this.#reconnect = opts.reconnect ?? { minMs: 1_000, maxMs: 5 * 60_000 };
    this.#refreshMs = opts.refreshIntervalMs ?? DEFAULT_REFRESH_MS;
    this.#timings = opts.timings;
    this.#random = opts.random ?? Math.random;
    this.#ig = opts.platform !== 'instagram' ? undefined : new InstagramPath({
      http: this.#http, log: this.#log, timings: opts.timings, cursor: this.getCursor(IG_SYNC_DATABASE), page: () => this.#requirePage(), emitTables: (t) => this.#emitEvents(t),
      setCursor: (c) => { this.#cursors.set(IG_SYNC_DATABASE, c); this.emit('cursor', { database: IG_SYNC_DATABASE, cursor: c }); },
      restart: () => this.#socket?.close(1000) });
  }

  get state(): MetaClientState {
    return this.#state;
  }

  /** The page configuration of the current session (after `connect()`). */
  get pageConfig(): MetaPageConfig | undefined {
    return this.#page;
  }

  get cookies(): MetaCookies {
    return this.#http.cookies;
  }

  getCursor(database: number): string | null {
    return this.#cursors.get(database) ?? null;
  }

  /**
   * Loads the page, opens the socket and syncs the mailbox. Rejects when the page or the socket
   * fails; a page that says the session is gone also moves to `logged-out`.
   */
  async connect(): Promise<void> {
    if (this.#state.state === 'connected' || this.#state.state === 'connecting') throw new MetaClientError('not-connected', 'already connected or connecting');
    const run = ++this.#run;
    this.#setState({ state: 'connecting' });
    try {
      await this.refreshSession();
      await this.#open(run);
    } catch (err) {
      if ((this.#state as MetaClientState).state === 'connecting') this.#setState({ state: 'disconnected' });
      throw err;
    }
    this.#attempt = 0;
    this.#scheduleRefresh(run);
  }

  /** Closes the socket for good (until the next `connect()`). */
  async disconnect(): Promise<void> {
    this.#run++;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#refreshTimer);
    this.#ig?.close();
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close(1000);
    if (this.#state.state !== 'logged-out') this.#setState({ state: 'disconnected' });
  }

  /** Reloads the page config; a page that says the session is gone moves to `logged-out` and rethrows. */
  async refreshSession(): Promise<MetaPageConfig> {
    try {
      this.#page = await this.#http.loadPage();
      this.#log.debug({ accountId: this.#page.accountId }, 'meta page config loaded');
      return this.#page;
    } catch (err) {
      if (err instanceof MetaPageError && PAGE_LOGOUT_CODES.has(err.code)) this.#loggedOut(err.code, err.message);
      throw err;
    }
  }

  /**
   * Sends tasks in one request and resolves with the response's tables; rejects with
   * `MetaTaskError` when the server refused any of them. A single stateless task (typing) goes
   * out fire-and-forget and resolves with empty tables.
   */
  async sendTask(tasks: LSTask | readonly LSTask[]): Promise<MetaTaskResult> {
    const list = Array.isArray(tasks) ? (tasks as readonly LSTask[]) : [tasks as LSTask];
    const page = this.#requirePage();
    await this.#bucket.take();
    const socket = this.#requireSocket();
    const viaInstagram = list.length === 1 ? await this.#ig?.trySend(list[0]!) : undefined;
    if (viaInstagram) return viaInstagram;
    const requestId = this.#requestIds.next();
    if (list.length === 1 && list[0]!.queueName === '') {
      const request = buildStatelessTaskRequest({ appId: page.appId, requestId, versionId: page.versionId, task: list[0]! });
      await socket.request(JSON.stringify(request), true);
      return { tables: {}, taskIds: [] };
    }
    const firstTaskId = this.#nextTaskId;
    this.#nextTaskId += list.length;
    const request = buildTaskRequest({ appId: page.appId, requestId, epochId: this.#epochs.next(), versionId: page.versionId, tasks: list, firstTaskId });
    const tables = this.#parse(await socket.request(JSON.stringify(request)));
    const taskIds = list.map((_, i) => firstTaskId + i);
    const failures: MetaTaskFailure[] = [];
    for (const row of tables.LSTaskFailed ?? []) {
      const index = Number(row.taskId) - firstTaskId;
      if (index < 0 || index >= list.length) continue;
      failures.push({ taskId: Number(row.taskId), task: list[index]!.name, code: row.code, message: row.message ?? '' });
    }
    if (failures.length) throw new MetaTaskError(failures, tables);
    return { tables, taskIds };
  }

  /**
   * Syncs one database from `cursor` (default: the cursor this client holds) and returns the rows.
   * Nothing is applied: `#deliver` emits the rows and only then moves and announces the cursor, so
   * a cursor is never saved ahead of events that were not handed on.
   */
  async #syncDatabase(database: number, cursor: string | null = this.getCursor(database)): Promise<LSTables> {
    const page = this.#requirePage();
    await this.#bucket.take();
    const socket = this.#requireSocket();
    const params = cursor === null ? syncParamsFor(page, database) : undefined;
    const request = buildSyncRequest({
      appId: page.appId, requestId: this.#requestIds.next(), database, cursor, epochId: this.#epochs.next(), versionId: page.versionId,
      ...(params !== undefined ? { syncParams: params } : {}),
    });
    return this.#parse(await socket.request(JSON.stringify(request)));
  }

  async uploadMedia(bytes: Uint8Array, mimeType: string, filename: string, opts: UploadOptions = {}): Promise<UploadedMedia> {
    const page = this.#requirePage();
    await this.#bucket.take();
    return uploadMedia(this.#http, page, bytes, mimeType, filename, opts);
  }

  async downloadMedia(url: string, opts: { maxBytes?: number } = {}): Promise<DownloadedMedia> {
    await this.#bucket.take();
    return downloadMedia(this.#http, url, opts.maxBytes ?? DEFAULT_MAX_DOWNLOAD);
  }

  // ---------------------------------------------------------------- connection life cycle

  async #open(run: number): Promise<void> {
    let page = this.#requirePage();
    const ig = await this.#ig?.prepare(page);
    let socket: DGWSocket;
    try {
      socket = await this.#dial(page, run, ig?.mainStream);
    } catch (err) {
      // The gateway refusing the upgrade (401/403) may mean a stale page config: reload it once.
      if (!(err instanceof MetaClientError && (err.status === 401 || err.status === 403))) throw err;
      page = await this.refreshSession();
      socket = await this.#dial(page, run, ig?.mainStream);
    }
    if (run !== this.#run) {
      socket.close(1000);
      throw new MetaClientError('closed', 'disconnect() was called while connecting');
    }
    this.#socket = socket;
    const tables = ig ? ig.snapshot ?? {} : await this.#syncDatabase(SYNC_DATABASE.mailbox);
    if (run !== this.#run) throw new MetaClientError('closed', 'disconnect() was called while connecting');
    this.#setState({ state: 'connected' });
    this.#deliver(tables);
    this.#ig?.connected();
    // Messenger keeps message requests in a database of their own (95), synced beside the mailbox
    // from its own cursor; if that fails the mailbox still works and the next connect retries.
    if (this.platform === 'messenger') {
      const requests = await this.#syncDatabase(SYNC_DATABASE.messageRequests).catch((err: unknown) => {
        this.#log.warn({ err: (err as Error).message }, 'message requests (database 95) could not be synced');
      });
      if (requests && run === this.#run) this.#deliver(requests);
    }
  }

  async #dial(page: MetaPageConfig, run: number, mainStream?: DGWSocketOptions['mainStream']): Promise<DGWSocket> {
    const endpoints = this.#http.endpoints;
    // Callbacks act only for the current socket of the current run: a socket replaced by a
    // reconnect (or closed by a failed one) must neither emit nor schedule anything.
    const ref: { socket?: DGWSocket } = {};
    const current = () => run === this.#run && ref.socket !== undefined && ref.socket === this.#socket;
    ref.socket = await DGWSocket.open({
      url: dgwUrl({ platform: this.platform, gateway: endpoints.gateway, dgwAppId: page.dgwAppId, accountId: page.accountId, deviceId: page.deviceId }),
      headers: {
        cookie: this.#http.cookies.toCookieHeader(),
        'user-agent': this.#http.userAgent,
        origin: endpoints.web,
        'sec-fetch-dest': 'empty',
        'sec-fetch-mode': 'websocket',
        'sec-fetch-site': 'same-site',
        'cache-control': 'no-cache',
        pragma: 'no-cache',
      },
      log: this.#log, agent: this.#http.socketAgent(endpoints.gateway),
      ...(this.#timings ? { timings: this.#timings } : {}),
      ...(mainStream ? { mainStream } : {}),
      onPush: (json) => {
        if (current()) this.#onPush(json);
      },
      onClose: (info) => {
        if (current()) void this.#onClose(info, run);
      },
    });
    return ref.socket;
  }

  #onPush(json: string): void {
    let tables: LSTables;
    try {
      tables = this.#parse(json);
    } catch (err) {
      this.#log.warn({ code: (err as { code?: string }).code }, 'a LightSpeed push could not be read; skipped');
      return;
    }
    this.#deliver(tables);
  }

  async #onClose(info: DGWCloseInfo, run: number): Promise<void> {
    this.#socket = undefined;
    if (!info.reconnect) {
      const reason: MetaLoggedOutReason = info.deauth ? 'deauth' : LOGGED_OUT_CODES[info.code] ?? 'unauthorized';
      this.#log.warn({ code: info.code, reason }, 'Meta ended the session');
      // The page says why (login page, checkpoint, consent) when it can; either way no reconnect.
      const why = await this.#http.loadPage().then(() => undefined, (err: unknown) => err);
      if (run !== this.#run) return;
      if (why instanceof MetaPageError && PAGE_LOGOUT_CODES.has(why.code)) this.#loggedOut(why.code, why.message);
      else this.#loggedOut(reason, `Meta closed the connection (${reason}): log in again with fresh cookies`);
      return;
    }
    this.#scheduleReconnect(run, info.error?.message ?? `closed with ${info.code}`);
  }

  #scheduleReconnect(run: number, reason: string): void {
    clearTimeout(this.#retryTimer);
    const attempt = this.#attempt++;
    const delayMs = reconnectDelay(attempt, this.#reconnect, this.#random);
    this.#setState({ state: 'reconnecting', attempt: attempt + 1, delayMs, reason });
    this.#retryTimer = setTimeout(() => {
      if (run !== this.#run) return;
      this.#open(run).then(
        () => {
          this.#attempt = 0;
        },
        (err: unknown) => {
          if (run !== this.#run || this.#state.state === 'logged-out') return;
          const socket = this.#socket;
          this.#socket = undefined;
          socket?.close(1000);
          this.#scheduleReconnect(run, (err as Error).message);
        },
      );
    }, delayMs);
  }

  #scheduleRefresh(run: number): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => {
      if (run !== this.#run) return;
      this.refreshSession().then(
        () => this.#scheduleRefresh(run),
        (err: unknown) => {
          if (this.#state.state === 'logged-out') return;
          this.#log.warn({ code: (err as { code?: string }).code }, 'page config refresh failed; retrying later');
          this.#scheduleRefresh(run);
        },
      );
    }, this.#refreshMs);
    this.#refreshTimer.unref();
  }

  #loggedOut(reason: MetaLoggedOutReason, message: string): void {
    this.#run++;
    this.#ig?.close();
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#refreshTimer);
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close(1000);
    this.#setState({ state: 'logged-out', reason, message });
  }

  // ---------------------------------------------------------------- helpers

  #setState(state: MetaClientState): void {
    this.#state = state;
    this.#log.info({ state: state.state, ...(state.state === 'logged-out' ? { reason: state.reason } : {}) }, 'meta client state');
    this.emit('state', state);
  }

  #parse(json: string | undefined): LSTables {
    if (json === undefined) throw new MetaClientError('bad-response', 'the request got no response');
    return parseLSResponse(json).result.tables;
  }

  /** Hands the rows on as events, then moves the cursors they carry (see #syncDatabase). */
  #deliver(tables: LSTables): void {
    this.#emitEvents(tables);
    this.#absorbCursors(tables);
  }

  #absorbCursors(tables: LSTables): void {
    for (const update of syncCursorUpdates(tables)) {
      if (this.#cursors.get(update.database) === update.cursor) continue;
      this.#cursors.set(update.database, update.cursor);
      this.emit('cursor', { database: update.database, cursor: update.cursor });
    }
  }

  #emitEvents(tables: LSTables): void {
    for (const event of eventsFromTables(tables)) {
      try {
        this.emit('event', event);
      } catch (err) {
        this.#log.error({ err: (err as Error).message, type: event.type }, 'a MetaEvent listener threw');
      }
    }
  }

  #requirePage(): MetaPageConfig {
    if (this.#state.state === 'logged-out') throw new MetaClientError('logged-out', this.#state.message);
    if (!this.#page) throw new MetaClientError('not-connected', 'connect() first');
    return this.#page;
  }

  #requireSocket(): DGWSocket {
    if (this.#state.state === 'logged-out') throw new MetaClientError('logged-out', this.#state.message);
    if (!this.#socket) throw new MetaClientError('not-connected', 'the Meta socket is not connected');
    return this.#socket;
  }
}

/** Sync params for a first sync, from the page's LSPlatformMessengerSyncParams. */
function syncParamsFor(page: MetaPageConfig, database: number): string | undefined {
  const key = database === SYNC_DATABASE.mailbox ? 'mailbox' : database === SYNC_DATABASE.contacts ? 'contact' : undefined;
  return key === undefined ? undefined : page.syncParams[key];
}
