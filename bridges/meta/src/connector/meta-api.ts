/**
 * One logged-in Messenger or Instagram account: the NetworkAPI with the capabilities Meta has.
 * It owns the MetaClient, reports its states, feeds its events in order to the core (persisting
 * the sync cursor only past events the core has handled), and answers chat and user info from
 * the directory.
 */
import {
  type BackfillingNetworkAPI, type ChatInfo, type ContactListing, type CreateChatResponse, type CreateGroupParams, type EditHandling,
  type EmojiId, type FetchMessagesParams, type FetchMessagesResponse, type GroupCreating, type IdentifierResolving, type MatrixEdit,
  type MatrixMembershipChange, type MatrixMessage, type MatrixMessageRemove, type MatrixMessageResponse, type MatrixReaction,
  type MatrixReactionRemove, type MatrixReadReceipt, type MatrixRoomMeta, type MatrixTyping, type MembershipHandling, type PortalKey,
  type ReactionHandling, type ReadReceiptHandling, type RedactionHandling, type RemoteUserId, type ResolveIdentifierResponse,
  type RoomAvatarHandling, type RoomFeatures, type RoomNameHandling, type TypingHandling, type UserInfo, type UserLoginHandle,
  ErrNotLoggedIn,
} from '@tributary/core/network/index';
import { reconnectDelay, type BackoffOptions } from '../client/backoff.js';
import type { MetaClient } from '../client/meta-client.js';
import type { MetaEvent } from '../client/events.js';
import type { MetaClientState } from '../client/types.js';
import type { MetaCookies } from '../cookies.js';
import { fetchThreadsTask } from '../lightspeed/tasks.js';
import type { LSTables } from '../lightspeed/tables.js';
import { META_EDIT_WINDOW_MS, META_MAX_EDITS, preHandleMetaReaction } from '../msgconv/from-matrix-actions.js';
import { META_MEDIA_LIMITS } from '../msgconv/from-matrix-media.js';
import { makeMetaUserId, parseMetaUserId, type MetaPlatform } from '../msgconv/meta-ids.js';
import { fetchMetaMessages } from './backfill.js';
import { chatInfoOf, userInfoOf } from './chat-info.js';
import { MetaDirectory } from './directory.js';
import { MetaEventHandler } from './handle-meta.js';
import { MetaMatrixHandler } from './handle-matrix.js';
import { storeCookies } from './login.js';
import type { MessageRequestHandling } from './requests.js';
import { bridgeStateOf, expiredCookiesState } from './states.js';

export interface MetaAPIOptions {
  platform: MetaPlatform;
  login: UserLoginHandle;
  /** The stored cookies, or the reason they cannot be used (missing, expired). */
  cookies: MetaCookies | { error: string };
  makeClient(cookies: MetaCookies, cursors: Record<number, string | null>): MetaClient;
  reconnect: BackoffOptions;
  maxBackfillPages: number;
  /** bridge.command_prefix, for texts that name a command. */
  commandPrefix?: string;
}

const CONTACT_REFRESH_MS = 60_000;

export class MetaAPI implements EditHandling, ReactionHandling, RedactionHandling, ReadReceiptHandling, TypingHandling, RoomNameHandling,
  RoomAvatarHandling, MembershipHandling, BackfillingNetworkAPI, ContactListing, IdentifierResolving, GroupCreating, MessageRequestHandling {
  readonly dir: MetaDirectory;
  readonly events: MetaEventHandler;
  readonly #matrix: MetaMatrixHandler;
  readonly #opts: MetaAPIOptions;
  readonly #login: UserLoginHandle;
  #client: MetaClient | undefined;
  #loggedIn: boolean;
  #chain: Promise<void> = Promise.resolve();
  /** `handled` of every event queued since the last cursor save. */
  #handled: Array<Promise<void>> = [];
  readonly #cursors: Record<number, string | null>;
  readonly #otids = new Map<string, string>();
  #retry: NodeJS.Timeout | undefined;
  #attempt = 0;
  #stopped = false;
  #lastContactRefresh = 0;

  constructor(opts: MetaAPIOptions) {
    this.#opts = opts;
    this.#login = opts.login;
    this.dir = new MetaDirectory(opts.login.id as string);
    this.#loggedIn = !('error' in opts.cookies);
    const stored = (opts.login.metadata as { cursors?: Record<string, string | null> }).cursors ?? {};
    this.#cursors = Object.fromEntries(Object.entries(stored).map(([k, v]) => [Number(k), v]));
    const download = async (url: string) => (await this.client().downloadMedia(url)).bytes;
    this.events = new MetaEventHandler({
      login: opts.login, dir: this.dir, platform: opts.platform, download, ...(opts.commandPrefix ? { commandPrefix: opts.commandPrefix } : {}),
      txnOfOtid: (otid) => this.#otids.get(otid),
    });
    this.#matrix = new MetaMatrixHandler({
      client: () => this.client(), dir: this.dir, login: opts.login, platform: opts.platform, absorb: (t) => this.#absorb(t),
      rememberOtid: (otid, txn) => {
        this.#otids.set(otid, txn);
        if (this.#otids.size > 1000) this.#otids.delete(this.#otids.keys().next().value!);
      },
    });
  }

  /** The live client; sends fail with "not logged in" when the cookies could not be loaded. */
  client(): MetaClient {
    if (!this.#client) throw ErrNotLoggedIn();
    return this.#client;
  }

  connect(): void {
    const cookies = this.#opts.cookies;
    this.#stopped = false;
    if ('error' in cookies) {
      this.#login.setBridgeState(expiredCookiesState(cookies.error));
      return;
    }
    if (!this.#client) {
      const client = this.#opts.makeClient(cookies, this.#cursors);
      this.#client = client;
      client.on('state', (s) => this.#onState(s));
      client.on('event', (e) => this.#onEvent(e));
      client.on('cursor', ({ database, cursor }) => this.#onCursor(database, cursor));
    }
    this.#dial();
  }

  #dial(): void {
    const client = this.#client!;
    client.connect().then(
      () => {
        this.#attempt = 0;
        const page = client.pageConfig;
        if (page?.initialTables) this.dir.absorbTables(page.initialTables);
      },
      (err: unknown) => {
        if (this.#stopped || client.state.state === 'logged-out') return;
        // The client retries a dropped socket itself, but not a first connect that failed.
        const delayMs = reconnectDelay(this.#attempt++, this.#opts.reconnect);
        this.#login.log.warn({ err: (err as Error).message, delayMs }, 'Meta connect failed; retrying');
        this.#login.setBridgeState({ stateEvent: 'TRANSIENT_DISCONNECT', error: 'meta-connect-failed', message: 'Could not connect to Meta; retrying' });
        clearTimeout(this.#retry);
        this.#retry = setTimeout(() => {
          if (!this.#stopped && client.state.state === 'disconnected') this.#dial();
        }, delayMs);
      },
    );
  }

  #onState(state: MetaClientState): void {
    if (state.state === 'logged-out') this.#loggedIn = false;
    if (state.state === 'connected') {
      this.#loggedIn = true;
      void this.#saveCookies();
    }
    const update = bridgeStateOf(this.#opts.platform, state);
    if (update && !this.#stopped) this.#login.setBridgeState(update);
  }

  /** Meta refreshes cookies with Set-Cookie; keep the newest so a restart logs in with them. */
  async #saveCookies(): Promise<void> {
    const stored = storeCookies(this.client().cookies);
    const before = JSON.stringify((this.#login.metadata as { cookies?: unknown }).cookies ?? null);
    if (JSON.stringify(stored) !== before) await this.#login.saveMetadata({ cookies: stored }).catch(() => undefined);
  }

  #onEvent(e: MetaEvent): void {
    // The directory changes now, in arrival order; the events reach the core in the same order.
    const build = this.events.absorb(e);
    this.#enqueue(async () => {
      for (const evt of await build()) {
        const queued = await this.#login.queueRemoteEvent(evt);
        this.#handled.push(queued.handled);
      }
    });
  }

  #onCursor(database: number, cursor: string | null): void {
    this.#cursors[database] = cursor;
    // After the events of the same response are queued (they are emitted right after the cursor).
    queueMicrotask(() => this.#enqueue(async () => {
      const handled = this.#handled.splice(0);
      const snapshot = { ...this.#cursors };
      await Promise.allSettled(handled);
      await this.#login.saveMetadata({ cursors: snapshot });
    }));
  }

  #enqueue(fn: () => Promise<void>): void {
    this.#chain = this.#chain.then(fn).catch((err: unknown) => this.#login.log.error({ err: (err as Error).message }, 'Meta event not queued'));
  }

  #absorb(tables: LSTables): void {
    this.dir.absorbTables(tables);
  }

  async disconnect(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#client?.disconnect();
    await this.#chain;
  }

  isLoggedIn(): boolean {
    return this.#loggedIn;
  }

  /** Meta's web client has no logout that keeps other sessions; the cookies are simply dropped. */
  async logoutRemote(): Promise<void> {
    this.#loggedIn = false;
    await this.disconnect();
  }

  isThisUser(user: RemoteUserId): boolean {
    return (user as string) === this.dir.selfId;
  }

  async getChatInfo(portal: PortalKey): Promise<ChatInfo> {
    const key = portal.id as string;
    if (!this.dir.threads.has(key)) await this.#refreshThreads(true);
    return chatInfoOf(key, { dir: this.dir, platform: this.#opts.platform, login: this.#login.id, ...(this.#opts.commandPrefix ? { commandPrefix: this.#opts.commandPrefix } : {}), download: async (url) => (await this.client().downloadMedia(url)).bytes });
  }

  async getUserInfo(user: RemoteUserId): Promise<UserInfo> {
    if (!this.dir.contacts.has(user as string)) await this.#refreshThreads(false);
    return userInfoOf(user as string, { dir: this.dir, download: async (url) => (await this.client().downloadMedia(url)).bytes });
  }

  /** Threads and contacts through FetchThreads, at most once a minute unless forced. */
  async #refreshThreads(force: boolean): Promise<void> {
    if (!this.#client || this.#client.state.state !== 'connected') return;
    if (!force && Date.now() - this.#lastContactRefresh < CONTACT_REFRESH_MS) return;
    this.#lastContactRefresh = Date.now();
    try {
      this.#absorb((await this.#client.sendTask(fetchThreadsTask())).tables);
    } catch (err) {
      this.#login.log.warn({ err: (err as Error).message }, 'Meta thread list could not be fetched');
    }
  }

  getCapabilities(portal: PortalKey): RoomFeatures {
    const group = portal.receiver === '';
    return {
      edits: { maxAgeMs: META_EDIT_WINDOW_MS, maxCount: META_MAX_EDITS }, deletes: {}, reactions: { onePerUser: true }, replies: true,
      formatting: true, media: { maxSize: META_MEDIA_LIMITS.file }, locations: true, readReceipts: true, typing: true,
      rename: group, topic: false, avatar: group, membership: group,
    };
  }

  handleMatrixMessage(msg: MatrixMessage): Promise<MatrixMessageResponse> {
    return this.#matrix.message(msg);
  }
  handleMatrixEdit(msg: MatrixEdit): Promise<void> {
    return this.#matrix.edit(msg);
  }
  preHandleMatrixReaction(msg: MatrixReaction): { emojiId: EmojiId; emoji: string; onePerUser?: boolean } {
    return preHandleMetaReaction(msg);
  }
  handleMatrixReaction(msg: MatrixReaction, emojiId: EmojiId): Promise<void> {
    return this.#matrix.reaction(msg, emojiId);
  }
  handleMatrixReactionRemove(msg: MatrixReactionRemove): Promise<void> {
    return this.#matrix.reactionRemove(msg);
  }
  handleMatrixMessageRemove(msg: MatrixMessageRemove): Promise<void> {
    return this.#matrix.redaction(msg);
  }
  handleMatrixReadReceipt(msg: MatrixReadReceipt): Promise<void> {
    return this.#matrix.readReceipt(msg);
  }
  handleMatrixTyping(msg: MatrixTyping): Promise<void> {
    return this.#matrix.typing(msg);
  }
  handleMatrixRoomName(msg: MatrixRoomMeta): Promise<void> {
    return this.#matrix.roomName(msg);
  }
  handleMatrixRoomAvatar(msg: MatrixRoomMeta): Promise<void> {
    return this.#matrix.roomAvatar(msg);
  }
  handleMatrixMembership(msg: MatrixMembershipChange): Promise<void> {
    return this.#matrix.membership(msg);
  }

  isMessageRequest(portal: PortalKey): boolean {
    return this.dir.isMessageRequest(portal.id as string);
  }
  acceptMessageRequest(portal: PortalKey): Promise<void> {
    return this.#matrix.acceptRequest(portal);
  }
  declineMessageRequest(portal: PortalKey): Promise<void> {
    return this.#matrix.declineRequest(portal);
  }

  fetchMessages(params: FetchMessagesParams): Promise<FetchMessagesResponse> {
    const client = this.client();
    return fetchMetaMessages(params, {
      sendTask: (task) => client.sendTask(task), absorb: (r) => this.#absorb(r.tables), maxPages: this.#opts.maxBackfillPages,
      toBackfill: (msg) => {
        const { type: _type, portal: _portal, createPortal: _c, ...rest } = this.events.messageEvent(msg);
        return rest;
      },
    });
  }

  async getContactList(): Promise<ResolveIdentifierResponse[]> {
    await this.#refreshThreads(false);
    return [...this.dir.contacts.values()].filter((c) => c.id !== this.dir.selfId)
      .map((c) => ({ user: makeMetaUserId(c.id), info: this.#userInfo(c.id) }));
  }

  #userInfo(id: string): UserInfo {
    return userInfoOf(id, { dir: this.dir, download: async (url) => (await this.client().downloadMedia(url)).bytes });
  }

  /** A person by their numeric id (a ghost's id) or, among known contacts, by their exact name or username. */
  async resolveIdentifier(identifier: string, createChat: boolean): Promise<ResolveIdentifierResponse | null> {
    const wanted = identifier.trim().replace(/^@/, '');
    let id = parseMetaUserId(wanted);
    if (!id) {
      await this.#refreshThreads(false);
      const lower = wanted.toLowerCase();
      id = [...this.dir.contacts.values()].find((c) => c.name?.toLowerCase() === lower || c.secondaryName?.toLowerCase() === lower)?.id;
    }
    if (!id || id === this.dir.selfId) return null;
    const res: ResolveIdentifierResponse = { user: makeMetaUserId(id), info: this.#userInfo(id) };
    if (createChat) res.chat = await this.#matrix.createDm(id);
    return res;
  }

  async createGroup(params: CreateGroupParams): Promise<CreateChatResponse> {
    const res = await this.#matrix.createGroup(params);
    return { ...res, info: await this.getChatInfo(res.portal) };
  }
}
