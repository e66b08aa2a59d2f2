/**
 * One logged-in WhatsApp account: owns its socket lifecycle (WAConnection over the SQL auth state),
 * attaches the event handler to every socket, and answers the core's questions. Matrix -> WhatsApp
 * sends live in handle-matrix.ts; this file keeps chat info, identifiers, contacts and groups.
 */
import { Browsers, isJidGroup, isPnUser, isLidUser, type BaileysEventMap } from 'baileys';
import type { Database } from '@tributary/core/db/database';
import {
  BridgeError, emojiId, portalKey, remoteUserId,
  type ChatInfo, type ContactListing, type CreateChatResponse, type CreateGroupParams, type EditHandling, type EmojiId,
  type GroupCreating, type IdentifierResolving, type MatrixEdit, type MatrixMembershipChange, type MatrixMessage,
  type MatrixMessageRemove, type MatrixMessageResponse, type MatrixPowerLevelChange, type PowerLevelHandling, type PresenceHandling, type MatrixReaction, type MatrixReactionRemove,
  type MatrixReadReceipt, type MatrixRoomMeta, type MatrixTyping, type MembershipHandling, type PortalKey,
  type ChatAvatar, type ReactionHandling, type ReadReceiptHandling, type RedactionHandling, type RemoteUserId,
  type ResolveIdentifierResponse, type RoomAvatarHandling, type RoomFeatures, type RoomNameHandling,
  type RoomTopicHandling, type TypingHandling, type UserInfo, type UserLoginHandle,
} from '@tributary/core/network/index';
import { WAConnection, type MakeWASocket } from '../client/connection.js';
import type { WAClientPort } from '../client/port.js';
import { useSqlAuthState, wrapCacheable, type BaileysLogger, type SqlAuthState } from '../db/auth-state.js';
import { ContactStore } from '../db/contacts.js';
import { LidMap } from '../db/lid-map.js';
import type { WhatsAppConfig } from './connector.js';
import type { WAMatrixContext } from './context.js';
import { avatarOf } from './avatars.js';
import { groupEvents } from './handle-whatsapp-groups.js';
import { dmChatInfo, groupChatInfo } from './chat-info.js';
import { STATUS_ROOM_FEATURES, isStatusBroadcast, statusChatInfo } from './handle-whatsapp-status.js';
import { chatJidOfPortal, jidFromUserId, phoneDigits, PN_SERVER, userIdFromJid } from './ids.js';
import { WALidResolver, attachLidRecorder } from './lid-resolver.js';
import { WAEventHandler } from './handle-whatsapp.js';
import { HISTORY_DISPATCH_WAIT_MS } from './history-sync.js';
import { PhoneWatchdog } from './phone-watchdog.js';
import { WA_MEDIA_LIMITS } from '../msgconv/from-matrix-media.js';
import {
  WA_DELETE_WINDOW_MS, WA_EDIT_WINDOW_MS, changeGroupMembership, changeGroupPowerLevels, removeMatrixMessage, removeMatrixReaction, renameGroup, sendMatrixEdit,
  sendMatrixMessage, sendMatrixReaction, sendMatrixReadReceipt, sendMatrixTyping, setGroupAvatar, setGroupTopic,
  setMatrixPresence,
} from './handle-matrix.js';

/**
 * The core's size check is one number per room: the largest WhatsApp takes of any kind (documents).
 * The converter (from-matrix-media.ts) then holds each kind to its own limit from the same table.
 */
const MAX_MEDIA_BYTES = Math.max(...Object.values(WA_MEDIA_LIMITS));

export interface WhatsAppAPIOptions {
  login: UserLoginHandle;
  db: Database;
  config: WhatsAppConfig;
  /** Tests inject a fake socket; production uses Baileys' makeWASocket. */
  makeSocket?: MakeWASocket;
  socketUrl?: string;
  /**
   * Resolves once a login process has finished writing this login's auth state (or undefined
   * when none is under way); connect() reads the auth state only after it.
   */
  handoff?: () => Promise<void> | undefined;
  /** Overrides HISTORY_DISPATCH_WAIT_MS (tests). */
  historyDispatchWaitMs?: number;
  /** The clock of the phone-offline watchdog (tests). */
  now?: () => number;
}

/** The Baileys socket options the bridge's config decides. */
export function socketConfigOf(config: WhatsAppConfig): { browser: [string, string, string] } {
  // Baileys sends browser[0] as the companion's OS, which the phone lists as the device's name.
  const browser = Browsers.ubuntu('Chrome');
  return { browser: [config.browser_name, browser[1], browser[2]] };
}

export class WhatsAppAPI implements WAMatrixContext, EditHandling, ReactionHandling, RedactionHandling,
  ReadReceiptHandling, TypingHandling, RoomNameHandling, RoomTopicHandling, RoomAvatarHandling, MembershipHandling,
  PowerLevelHandling, PresenceHandling, IdentifierResolving, ContactListing, GroupCreating {
  readonly login: UserLoginHandle;
  readonly lids: WALidResolver;
  readonly events: WAEventHandler;
  readonly phone: PhoneWatchdog;
  private readonly contacts: ContactStore;
  private readonly opts: WhatsAppAPIOptions;
  private conn: WAConnection | undefined;
  private auth: SqlAuthState | undefined;
  private openSocket: WAClientPort | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  private loggedIn = true;
  private loggingOut = false;
  private readonly detachers: Array<() => void> = [];

  constructor(opts: WhatsAppAPIOptions) {
    this.opts = opts;
    this.login = opts.login;
    this.lids = new WALidResolver(new LidMap(opts.db, opts.login.id), () => this.conn?.current(), opts.login.log);
    this.contacts = new ContactStore(opts.db, opts.login.id);
    this.phone = new PhoneWatchdog({ login: opts.login, warningDays: opts.config.phone_offline_warning_days, ...(opts.now ? { now: opts.now } : {}) });
    this.events = new WAEventHandler(opts.login, this.lids, {
      statusBroadcast: opts.config.status_broadcast,
      onLidMapping: (pairs) => void this.lids.record(pairs),
      historyLimits: { maxChats: opts.config.history_sync.max_chats, maxMessagesPerChat: opts.config.history_sync.max_messages_per_chat },
      historyDispatchWaitMs: opts.historyDispatchWaitMs ?? HISTORY_DISPATCH_WAIT_MS,
      onPhoneSeen: (at) => this.phone.seen(at),
      contactStore: this.contacts,
    });
  }

  // ---- WAMatrixContext ----

  socket(): WAClientPort {
    if (!this.openSocket) {
      throw new BridgeError('not connected to WhatsApp', {
        status: 'retriable', reason: 'm_network_error', userMessage: 'Not connected to WhatsApp right now; try again shortly',
      });
    }
    return this.openSocket;
  }

  ownJid(): string {
    return `${this.login.id}@${PN_SERVER}`;
  }

  // ---- lifecycle ----

  connect(): void {
    if (this.starting || this.conn) return;
    this.stopped = false;
    this.starting = this.start()
      .catch((err: unknown) => {
        this.login.log.error({ err: (err as Error).message }, 'WhatsApp connection could not start');
        this.login.setBridgeState({ stateEvent: 'UNKNOWN_ERROR', error: 'wa-start-failed', message: 'The WhatsApp connection could not start' });
      })
      .finally(() => {
        this.starting = undefined;
      });
  }

  private async start(): Promise<void> {
    await this.opts.handoff?.();
    const auth = await useSqlAuthState(this.opts.db, this.login.id);
    if (this.stopped) return;
    if (!auth.state.creds.me) {
      // A stored login without a session (never finished, or cleared by a logout): connecting would
      // start a new pairing nobody is looking at.
      this.loggedIn = false;
      this.login.setBridgeState({ stateEvent: 'BAD_CREDENTIALS', error: 'wa-no-session', message: 'No WhatsApp session is stored for this login; log in again' });
      return;
    }
    this.auth = auth;
    // Contact names from before a restart, before any event can look them up.
    await this.contacts.loadAll().then((stored) => this.events.book.load(stored))
      .catch((err: unknown) => this.login.log.warn({ err: (err as Error).message }, 'loading WhatsApp contact names failed'));
    const cfg = this.opts.config;
    const conn = new WAConnection({
      auth: wrapCacheable(auth.state, this.login.log as unknown as BaileysLogger),
      saveCreds: () => auth.saveCreds(),
      logger: this.login.log,
      backoff: { minMs: cfg.reconnect.min_ms, maxMs: cfg.reconnect.max_ms },
      socketConfig: socketConfigOf(cfg),
      ...(this.opts.makeSocket ? { makeSocket: this.opts.makeSocket } : {}),
      ...(this.opts.socketUrl !== undefined ? { socketUrl: this.opts.socketUrl } : {}),
    });
    this.conn = conn;
    this.phone.start();
    conn.on('state', (state) => {
      if (state.stateEvent !== 'CONNECTED') this.openSocket = undefined;
      this.login.setBridgeState(this.phone.filter(state));
    });
    conn.on('socket', (sock) => this.attach(sock));
    conn.on('open', (sock) => {
      this.openSocket = sock;
      this.loggedIn = true;
    });
    conn.on('logged_out', (state) => void this.onLoggedOut(state.message ?? 'Logged out from WhatsApp'));
    conn.on('fatal', () => {
      this.loggedIn = false;
    });
    conn.start();
  }

  private attach(sock: WAClientPort): void {
    this.events.attach(sock);
    this.detachers.push(attachLidRecorder(this.lids, sock));
    // Group picture changes arrive as stub messages, which the message handler skips.
    const onUpsert = ({ messages }: BaileysEventMap['messages.upsert']) => void this.groupPictureChanges(sock, messages);
    sock.ev.on('messages.upsert', onUpsert);
    this.detachers.push(() => sock.ev.off('messages.upsert', onUpsert));
  }

  private async groupPictureChanges(sock: WAClientPort, messages: BaileysEventMap['messages.upsert']['messages']): Promise<void> {
    try {
      const evts = await groupEvents.fromIconStubs(this.events, messages, (jid) => this.pictureOf(jid, sock));
      if (evts.length === 0) return;
      await this.events.idle();
      for (const evt of evts) await this.login.queueRemoteEvent(evt);
    } catch (err) {
      this.login.log.warn({ err: (err as Error).message }, 'failed to handle a WhatsApp group picture change');
    }
  }

  /** The profile picture of a person or group; none when it is missing, hidden or cannot be looked up now. */
  private async pictureOf(jid: string, sock = this.openSocket): Promise<ChatAvatar | undefined> {
    if (!sock) return undefined;
    try {
      return await avatarOf(sock, jid);
    } catch (err) {
      this.login.log.warn({ err: (err as Error).message, jid }, 'looking up a WhatsApp profile picture failed');
      return undefined;
    }
  }

  private async onLoggedOut(reason: string): Promise<void> {
    this.openSocket = undefined;
    this.loggedIn = false;
    // The phone removed this device: its keys can never be used again.
    await this.auth?.clear().catch((err: unknown) => this.login.log.warn({ err: (err as Error).message }, 'clearing the WhatsApp session failed'));
    if (!this.loggingOut) await this.login.handleRemoteLogout(reason);
  }

  async disconnect(): Promise<void> {
    this.stopped = true;
    await this.starting;
    const conn = this.conn;
    this.conn = undefined;
    this.openSocket = undefined;
    await conn?.stop();
    await this.phone.stop();
    this.events.close();
    for (const off of this.detachers.splice(0)) off();
  }

  isLoggedIn(): boolean {
    return this.loggedIn;
  }

  async logoutRemote(): Promise<void> {
    this.loggingOut = true;
    try {
      await this.openSocket?.logout();
    } finally {
      this.loggedIn = false;
      await this.disconnect();
      await this.auth?.clear();
    }
  }

  isThisUser(user: RemoteUserId): boolean {
    return (user as string) === (this.login.id as string);
  }

  // ---- information ----

  /** The name of a person from contact events (the event handler's book), if any. */
  contactName(user: RemoteUserId): string | undefined {
    return this.events.book.name(jidFromUserId(user));
  }

  async getChatInfo(portal: PortalKey): Promise<ChatInfo> {
    const jid = chatJidOfPortal(portal);
    if (isStatusBroadcast(jid)) return statusChatInfo();
    if (isJidGroup(jid)) {
      const meta = await this.socket().groupMetadata(jid);
      this.events.timers.set(portal.id, meta.ephemeralDuration);
      return groupChatInfo(meta, this.login.id, this.lids, await this.pictureOf(jid));
    }
    const other = await userIdFromJid(jid, this.lids);
    if (!other) throw new BridgeError(`not a WhatsApp chat: ${jid}`, { reason: 'm_not_found', sendNotice: false });
    return dmChatInfo(other, this.login.id, this.contactName(other));
  }

  async getUserInfo(user: RemoteUserId): Promise<UserInfo> {
    const name = this.contactName(user);
    const avatar = await this.pictureOf(jidFromUserId(user));
    return {
      ...(name ? { name } : {}),
      ...(avatar ? { avatar } : {}),
      identifiers: user.startsWith('lid-') ? [] : [`+${user}`],
    };
  }

  getCapabilities(portal: PortalKey): RoomFeatures {
    if (isStatusBroadcast(portal.id)) return STATUS_ROOM_FEATURES;
    const group = isJidGroup(portal.id) === true;
    return {
      edits: { maxAgeMs: WA_EDIT_WINDOW_MS }, deletes: { maxAgeMs: WA_DELETE_WINDOW_MS }, reactions: { onePerUser: true },
      replies: true, formatting: true, media: { maxSize: MAX_MEDIA_BYTES }, locations: true, readReceipts: true, typing: true,
      rename: group, topic: group, avatar: group, membership: group,
    };
  }

  async resolveIdentifier(identifier: string, createChat: boolean): Promise<ResolveIdentifierResponse | null> {
    const digits = phoneDigits(identifier);
    if (!digits) {
      throw new BridgeError(`not a phone number: ${identifier.slice(0, 40)}`, {
        reason: 'm_bad_format', userMessage: 'Give a phone number with its country code, like +15551234567',
      });
    }
    const results = (await this.socket().onWhatsApp(`${digits}@${PN_SERVER}`)) ?? [];
    const hit = results.find((r) => r.exists);
    if (!hit) return null;
    const user = (await userIdFromJid(hit.jid, this.lids)) ?? remoteUserId(digits);
    const info = await this.getUserInfo(user);
    return {
      user, info,
      ...(createChat ? { chat: { portal: portalKey(jidFromUserId(user), this.login.id), info: dmChatInfo(user, this.login.id, info.name) } } : {}),
    };
  }

  async getContactList(): Promise<ResolveIdentifierResponse[]> {
    const out: ResolveIdentifierResponse[] = [];
    for (const [jid, name] of this.events.book.entries()) {
      if (!isPnUser(jid) && !isLidUser(jid)) continue;
      const user = await userIdFromJid(jid, this.lids);
      if (!user || out.some((r) => r.user === user)) continue;
      out.push({ user, info: { name, identifiers: user.startsWith('lid-') ? [] : [`+${user}`] } });
    }
    return out;
  }

  async createGroup(params: CreateGroupParams): Promise<CreateChatResponse> {
    const sock = this.socket();
    const meta = await sock.groupCreate((params.name ?? 'New group').slice(0, 100), params.members.map((m) => jidFromUserId(m)));
    if (params.topic) await sock.groupUpdateDescription(meta.id, params.topic);
    const info = await groupChatInfo(params.topic ? { ...meta, desc: params.topic } : meta, this.login.id, this.lids);
    return { portal: portalKey(meta.id, ''), info };
  }

  // ---- Matrix -> WhatsApp (handle-matrix.ts) ----

  noteOwnSend(waId: string): void {
    this.events.noteOwnSend(waId);
  }

  disappearingTimer(portal: PortalKey): number | undefined {
    return this.events.timers.get(portal.id);
  }

  chatActive(portal: PortalKey): void {
    this.events.presence.active(portal);
  }

  handleMatrixMessage(msg: MatrixMessage): Promise<MatrixMessageResponse> {
    return sendMatrixMessage(this, msg);
  }

  handleMatrixEdit(msg: MatrixEdit): Promise<void> {
    return sendMatrixEdit(this, msg);
  }

  preHandleMatrixReaction(msg: MatrixReaction): { emojiId: EmojiId; emoji: string; onePerUser: boolean } {
    return { emojiId: emojiId(msg.emoji), emoji: msg.emoji, onePerUser: true };
  }

  handleMatrixReaction(msg: MatrixReaction, id: EmojiId): Promise<void> {
    return sendMatrixReaction(this, msg, id);
  }

  handleMatrixReactionRemove(msg: MatrixReactionRemove): Promise<void> {
    return removeMatrixReaction(this, msg);
  }

  handleMatrixMessageRemove(msg: MatrixMessageRemove): Promise<void> {
    return removeMatrixMessage(this, msg);
  }

  handleMatrixReadReceipt(msg: MatrixReadReceipt): Promise<void> {
    return sendMatrixReadReceipt(this, msg);
  }

  handleMatrixTyping(msg: MatrixTyping): Promise<void> {
    return sendMatrixTyping(this, msg);
  }

  // ---- group administration and presence (handle-matrix.ts) ----

  handleMatrixRoomName(msg: MatrixRoomMeta): Promise<void> {
    return renameGroup(this, msg);
  }

  handleMatrixRoomTopic(msg: MatrixRoomMeta): Promise<void> {
    return setGroupTopic(this, msg);
  }

  handleMatrixRoomAvatar(msg: MatrixRoomMeta): Promise<void> {
    return setGroupAvatar(this, msg);
  }

  handleMatrixMembership(msg: MatrixMembershipChange): Promise<void> {
    return changeGroupMembership(this, msg);
  }

  handleMatrixPowerLevels(msg: MatrixPowerLevelChange): Promise<void> {
    return changeGroupPowerLevels(this, msg);
  }

  handleMatrixPresence(presence: 'online' | 'offline' | 'unavailable'): Promise<void> {
    return setMatrixPresence(this, presence);
  }
}
