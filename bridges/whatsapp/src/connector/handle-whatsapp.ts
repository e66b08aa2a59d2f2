/**
 * Baileys events -> RemoteEvents. Every event of a socket goes through one promise chain, so
 * events are queued in the order Baileys emitted them and a slow LID lookup never reorders a chat.
 * This file holds the handler itself: subscriptions, the chain, and how JIDs become senders and
 * portals. What each event becomes is in handle-whatsapp-messages.ts (messages, edits, deletes,
 * reactions, undecryptable placeholders), handle-whatsapp-receipts.ts (receipts, typing, presence),
 * handle-whatsapp-groups.ts, handle-whatsapp-calls.ts, history-sync.ts and contacts.ts.
 */
import {
  BridgeError, remoteUserId,
  type ChatMember, type MessageId, type PortalKey, type QueuedEvent, type RemoteEvent, type RemoteSender,
  type RemoteUserId, type UserLoginHandle,
} from '@tributary/core/network/index';
import {
  getDevice, isJidGroup, isJidStatusBroadcast, isLidUser, isPnUser, jidNormalizedUser,
  type BaileysEventMap, type WAMessage, type WAMessageKey,
} from 'baileys';
import type { WAClientPort } from '../client/port.js';
import { makeWAMediaDownloader, type WAConvertDeps } from '../msgconv/to-matrix.js';
import { makeMessageId, portalKeyFromChatJid, userIdFromJid, type LidResolver } from './ids.js';
import { groupEvents } from './handle-whatsapp-groups.js';
import { msOf } from './handle-whatsapp-history.js';
import { messageEvents } from './handle-whatsapp-messages.js';
import { CallLog, callEvents } from './handle-whatsapp-calls.js';
import { ChatTimers } from './chat-timers.js';
import { receiptEvents } from './handle-whatsapp-receipts.js';
import { PollStore } from './poll-store.js';
import { ContactBook, handleContacts, ProfileUpdates, type ContactPersistence } from './contacts.js';
import { DEFAULT_HISTORY_LIMITS, type HistoryLimits } from './history-buffer.js';
import { HistoryProgress } from './history-progress.js';
import { HistorySync } from './history-sync.js';
import { PresenceSubscriptions } from './presence-subscriptions.js';
import { RecentKeys } from './recent-keys.js';

export { TYPING_TIMEOUT_MS } from './handle-whatsapp-receipts.js';

export interface WAEventHandlerOptions {
  /** Bridge status@broadcast (stories); off by default. */
  statusBroadcast?: boolean;
  /** A contact event named someone (`name`: their display name, by the book's precedence). */
  onContact?(jid: string, name: string): void;
  onLidMapping?(pairs: Array<{ lid: string; pn: string }>): void;
  /** Least time between two edits of the history sync notice (default 2 s). */
  historyNoticeIntervalMs?: number;
  /** `history_sync` limits (default: the config's defaults). */
  historyLimits?: HistoryLimits;
  /**
   * How long history waits for more sets before it is dispatched (history-sync.ts). Default 0:
   * every set at once; WhatsAppAPI uses HISTORY_DISPATCH_WAIT_MS.
   */
  historyDispatchWaitMs?: number;
  /** Where the contact book keeps its names (default: memory only). */
  contactStore?: ContactPersistence;
  /** A sign that the phone is online, at `at` (ms): see phone-watchdog.ts. */
  onPhoneSeen?(at: number): void;
}

export class WAEventHandler {
  private sock: WAClientPort | undefined;
  private offs: Array<() => void> = [];
  private chain: Promise<void> = Promise.resolve();
  /** Keys of things already reported (a second report of an edit, delete or reaction is dropped). */
  readonly recent = new RecentKeys();
  /** Ids of the edits, reactions and deletes the bridge sent (their echoes are not bridged back). */
  readonly ownSends = new RecentKeys(1024);
  /** LID -> PN learned from events, consulted before the resolver (which may persist asynchronously). */
  private readonly learned = new Map<string, string>();
  readonly lids: LidResolver;
  readonly deps: WAConvertDeps;
  /** Poll secrets and votes, to decrypt and count incoming votes. */
  readonly polls = new PollStore();
  /** Names of people, from contact events. */
  readonly book: ContactBook;
  /** Ghost updates for changed names and pictures. */
  readonly profiles: ProfileUpdates;
  /** The history sync notice in the management room. */
  readonly history: HistoryProgress;
  /** History sync sets -> backfill, within the limits. */
  readonly historySync: HistorySync;
  /** Presence subscriptions for the DMs in use. */
  readonly presence: PresenceSubscriptions;
  /** Each chat's disappearing timer, for sends from Matrix. */
  readonly timers = new ChatTimers();
  /** Calls offered and not yet ended (call notices). */
  readonly calls = new CallLog();
  /** Ids of messages bridged as "could not be decrypted": the decrypted copy becomes an edit. */
  readonly undecrypted = new RecentKeys(1024);

  constructor(readonly login: UserLoginHandle, lids: LidResolver, readonly opts: WAEventHandlerOptions = {}) {
    this.lids = { pnForLid: async (lid) => this.learned.get(jidNormalizedUser(lid)) ?? lids.pnForLid(lid) };
    this.deps = {
      lids: this.lids,
      downloadMedia: makeWAMediaDownloader(() => this.socket(), login.log),
    };
    this.book = new ContactBook(opts.contactStore, login.log);
    this.profiles = new ProfileUpdates(login, () => this.socket());
    this.history = new HistoryProgress(login, opts.historyNoticeIntervalMs !== undefined ? { intervalMs: opts.historyNoticeIntervalMs } : {});
    this.presence = new PresenceSubscriptions(login.log);
    this.historySync = new HistorySync(this, {
      onDispatched: (chats) => this.presence.dispatched(chats),
      limits: opts.historyLimits ?? DEFAULT_HISTORY_LIMITS,
      waitMs: opts.historyDispatchWaitMs ?? 0,
      progress: this.history,
      schedule: (name, make) => this.enqueue(name, make),
    });
  }

  socket(): WAClientPort {
    if (!this.sock) throw new BridgeError('not connected to WhatsApp', { reason: 'm_network_error', certain: false });
    return this.sock;
  }

  /** Subscribes to a new socket's events (and drops the previous socket's subscriptions). */
  attach(sock: WAClientPort): void {
    this.detach();
    this.sock = sock;
    this.presence.reset();
    const onConnection = (u: BaileysEventMap['connection.update']) => {
      if (u.connection === 'open') this.presence.opened(sock);
      else if (u.connection === 'close') this.presence.closed();
    };
    sock.ev.on('connection.update', onConnection);
    this.offs.push(() => sock.ev.off('connection.update', onConnection));
    const on = <E extends keyof BaileysEventMap>(name: E, fn: (data: BaileysEventMap[E]) => Promise<RemoteEvent[]>) => {
      const listener = (data: BaileysEventMap[E]) => this.enqueue(name, () => fn(data));
      sock.ev.on(name, listener);
      this.offs.push(() => sock.ev.off(name, listener));
    };
    on('messages.upsert', async ({ messages, type }) => {
      if (type === 'notify') this.phoneSentAny(messages);
      return this.flat(messages.map((m) => () => messageEvents.fromMessage(this, m)));
    });
    on('messages.update', async (updates) => this.flat(updates.map((u) => () => messageEvents.fromUpdate(this, u.key, u.update))));
    on('messages.reaction', async (rs) => this.flat(rs.map((r) => () => messageEvents.fromReaction(this, r.key, r.reaction))));
    on('message-receipt.update', async (rs) => this.flat(rs.map((r) => () => receiptEvents.fromReceipt(this, r.key, r.receipt))));
    on('presence.update', async (p) => receiptEvents.fromPresence(this, p));
    on('contacts.upsert', async (cs) => this.contacts(cs));
    on('contacts.update', async (cs) => this.contacts(cs));
    on('lid-mapping.update', async (m) => (await this.learn([m]), []));
    on('chats.upsert', async (chats) => this.fromChats(chats));
    on('messaging-history.set', async (set) => (this.phoneSeen(), this.historySync.set(set)));
    on('messaging-history.status', async (st) => this.historySync.status(st));
    on('groups.update', async (gs) => groupEvents.fromGroupUpdates(this, gs));
    on('group-participants.update', async (u) => groupEvents.fromParticipants(this, u));
    on('call', async (calls) => callEvents.fromCalls(this, calls));
  }

  detach(): void {
    for (const off of this.offs) off();
    this.offs = [];
    this.sock = undefined;
  }

  /**
   * The Matrix -> WhatsApp side calls this with the id of each edit, reaction or delete it sent:
   * Baileys echoes own sends back as 'append' upserts, and those must not be bridged back to Matrix.
   */
  noteOwnSend(waId: string): void {
    this.ownSends.first(waId);
  }

  /** A sign that the phone is online (default: now). */
  phoneSeen(at = Date.now()): void {
    this.opts.onPhoneSeen?.(at);
  }

  /**
   * Live messages of ours that the phone sent: not the bridge's echoes (those come as 'append'),
   * and with an id of the kind phones make (Baileys' getDevice: WhatsApp Web and desktop ids, the
   * bridge's own included, say nothing about the phone).
   */
  private phoneSentAny(messages: WAMessage[]): void {
    for (const m of messages) {
      const id = m.key?.id;
      if (!m.key?.fromMe || !id || this.ownSends.has(id)) continue;
      const device = getDevice(id);
      if (device === 'android' || device === 'ios') this.phoneSeen(msOf(m.messageTimestamp));
    }
  }

  /** Resolves once every event emitted so far has been queued with the core. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Ends what outlives a socket (the history sync's wait); the handler is not used again. */
  close(): void {
    this.historySync.stop();
    this.detach();
  }

  /**
   * Queues what `make` returns, each event after the held history of its chat (history-sync.ts);
   * the history sync then sees the batch with each event's QueuedEvent (progress notice).
   */
  private enqueue(name: string, make: () => Promise<RemoteEvent[]>): void {
    this.chain = this.chain.then(async () => {
      const queued: Array<[RemoteEvent, QueuedEvent]> = [];
      try {
        for (const evt of await make()) {
          const first = evt.type === 'backfill' ? [] : await this.historySync.before(evt.portal);
          for (const e of [...first, evt]) queued.push([e, await this.login.queueRemoteEvent(e)]);
          if (evt.type === 'message') this.presence.seen(evt.portal, evt.timestamp);
        }
      } catch (err) {
        this.login.log.warn({ err, event: name }, 'failed to handle a WhatsApp event');
      } finally {
        this.historySync.queued(queued);
      }
    });
  }

  private async flat(makers: Array<() => Promise<RemoteEvent[]>>): Promise<RemoteEvent[]> {
    const out: RemoteEvent[] = [];
    for (const make of makers) out.push(...(await make()));
    return out;
  }

  // ---- ids ----

  me(): RemoteSender {
    return { user: remoteUserId(this.login.id), isFromMe: true, login: this.login.id };
  }

  /** The person behind a JID; a LID with a known phone-number alternative resolves to the phone. */
  async userOf(jid: string | null | undefined, alt?: string | null): Promise<RemoteUserId | undefined> {
    if (!jid) return undefined;
    if (alt && isLidUser(jid) && isPnUser(alt)) {
      await this.learn([{ lid: jid, pn: alt }]);
      return userIdFromJid(alt, this.lids);
    }
    if (alt && isPnUser(jid) && isLidUser(alt)) await this.learn([{ lid: alt, pn: jid }]);
    return userIdFromJid(jid, this.lids);
  }

  async senderOf(jid: string | null | undefined, alt?: string | null): Promise<RemoteSender | undefined> {
    const user = await this.userOf(jid, alt);
    if (!user) return undefined;
    return (user as string) === this.login.id ? this.me() : { user, isFromMe: false };
  }

  /** Who sent the message with this key. */
  async keySender(key: WAMessageKey): Promise<RemoteSender | undefined> {
    if (key.fromMe) return this.me();
    return key.participant ? this.senderOf(key.participant, key.participantAlt) : this.senderOf(key.remoteJid, key.remoteJidAlt);
  }

  /** The portal of a chat JID, or undefined for chats we do not bridge (newsletters, broadcast lists). */
  async portalOf(chatJid: string | null | undefined, alt?: string | null): Promise<PortalKey | undefined> {
    if (!chatJid) return undefined;
    if (isJidStatusBroadcast(chatJid)) return this.opts.statusBroadcast ? portalKeyFromChatJid(chatJid, this.login.id, this.lids) : undefined;
    if (isJidGroup(chatJid)) return portalKeyFromChatJid(chatJid, this.login.id, this.lids);
    if (!isPnUser(chatJid) && !isLidUser(chatJid)) return undefined;
    if (alt && isLidUser(chatJid) && isPnUser(alt)) {
      await this.learn([{ lid: chatJid, pn: alt }]);
      chatJid = alt;
    }
    return portalKeyFromChatJid(chatJid, this.login.id, this.lids);
  }

  /** The MessageId of the message a key names (in the key's own chat). */
  async targetOf(portal: PortalKey, key: WAMessageKey | null | undefined): Promise<MessageId | undefined> {
    if (!key?.id) return undefined;
    const sender = await this.keySender(key);
    return sender ? makeMessageId(portal.id, sender.user, key.id) : undefined;
  }

  async learn(pairs: Array<{ lid: string; pn: string }>): Promise<void> {
    const fresh: Array<{ lid: string; pn: string }> = [];
    for (const p of pairs) {
      if (!p?.lid || !p.pn) continue;
      const lid = jidNormalizedUser(p.lid.includes('@') ? p.lid : `${p.lid}@lid`);
      const pn = jidNormalizedUser(p.pn.includes('@') ? p.pn : `${p.pn}@s.whatsapp.net`);
      if (!isLidUser(lid) || !isPnUser(pn) || this.learned.get(lid) === pn) continue;
      this.learned.set(lid, pn);
      fresh.push({ lid, pn });
    }
    if (fresh.length) await Promise.resolve(this.opts.onLidMapping?.(fresh));
  }

  // ---- contacts, chats ----

  async contacts(cs: Array<Partial<BaileysEventMap['contacts.upsert'][number]>>): Promise<RemoteEvent[]> {
    await handleContacts(this, cs);
    return [];
  }

  private async fromChats(chats: BaileysEventMap['chats.upsert']): Promise<RemoteEvent[]> {
    const out: RemoteEvent[] = [];
    for (const chat of chats) {
      const portal = await this.portalOf(chat.id, (chat as { pnJid?: string | null }).pnJid);
      if (portal) out.push({ type: 'chat_resync', portal, timestamp: msOf(chat.conversationTimestamp), createPortal: true });
    }
    return out;
  }

  /** Members of a participants update, for groups.ts. */
  async member(jid: string, alt: string | undefined, powerLevel?: number): Promise<ChatMember | undefined> {
    const sender = await this.senderOf(jid, alt);
    if (!sender) return undefined;
    return { user: sender.user, membership: 'join', ...(sender.isFromMe ? { isFromMe: true } : {}), ...(powerLevel !== undefined ? { powerLevel } : {}) };
  }
}
