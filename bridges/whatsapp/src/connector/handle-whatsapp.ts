/**
 * Baileys events -> RemoteEvents. Every event of a socket goes through one promise chain, so
 * events are queued in the order Baileys emitted them and a slow LID lookup never reorders a chat.
 *
 * The real socket reports some things twice: a received edit, delete or reaction is upserted as a
 * protocol/reaction message AND emitted as messages.update / messages.reaction. Both paths are
 * handled (the event buffer may fold one of them away) and a small memory of recent keys drops the
 * second copy.
 */
import {
  BridgeError, emojiId, remoteUserId,
  type ChatMember, type MessageId, type PortalKey, type QueuedEvent, type RemoteEvent, type RemoteSender,
  type RemoteUserId, type UserLoginHandle,
} from '@tributary/core/network/index';
import {
  isJidGroup, isJidStatusBroadcast, isLidUser, isPnUser, jidNormalizedUser, normalizeMessageContent, proto,
  type BaileysEventMap, type WAMessage, type WAMessageKey,
} from 'baileys';
import type { WAClientPort } from '../client/port.js';
import { convertWAEdit, convertWAMessage, makeWAMediaDownloader, type WAConvertDeps } from '../msgconv/to-matrix.js';
import { makeMessageId, portalKeyFromChatJid, userIdFromJid, type LidResolver } from './ids.js';
import { groupEvents } from './handle-whatsapp-groups.js';
import { hasVisibleContent, historyEvents, msOf } from './handle-whatsapp-history.js';
import { historyPollEvents, PollStore, pollVoteEvents, rememberPoll } from './poll-store.js';
import { ContactBook, handleContacts, ProfileUpdates } from './contacts.js';
import { HistoryProgress } from './history-progress.js';

export interface WAEventHandlerOptions {
  /** Bridge status@broadcast (stories); off by default. */
  statusBroadcast?: boolean;
  /** A contact event named someone (`name`: their display name, by the book's precedence). */
  onContact?(jid: string, name: string): void;
  onLidMapping?(pairs: Array<{ lid: string; pn: string }>): void;
  /** Least time between two edits of the history sync notice (default 2 s). */
  historyNoticeIntervalMs?: number;
}

/** How long a "composing" presence shows as typing unless WhatsApp says "paused" first. */
export const TYPING_TIMEOUT_MS = 30_000;

const PROTOCOL = proto.Message.ProtocolMessage.Type;
const STATUS = proto.WebMessageInfo.Status;
const STUB_REVOKE = proto.WebMessageInfo.StubType.REVOKE;
/** Content keys that carry nothing to show. */


/** Remembers the last few thousand keys (a Set keeps insertion order). */
class RecentKeys {
  private readonly keys = new Set<string>();
  constructor(private readonly max = 4096) {}
  /** True the first time a key is seen. */
  first(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }
  has(key: string): boolean {
    return this.keys.has(key);
  }
}

export class WAEventHandler {
  private sock: WAClientPort | undefined;
  private offs: Array<() => void> = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly recent = new RecentKeys();
  private readonly ownSends = new RecentKeys(1024);
  /** LID -> PN learned from events, consulted before the resolver (which may persist asynchronously). */
  private readonly learned = new Map<string, string>();
  readonly lids: LidResolver;
  readonly deps: WAConvertDeps;
  /** Poll secrets and votes, to decrypt and count incoming votes. */
  readonly polls = new PollStore();
  /** Names of people, from contact events. */
  readonly book = new ContactBook();
  /** Ghost updates for changed names and pictures. */
  readonly profiles: ProfileUpdates;
  /** The history sync notice in the management room. */
  readonly history: HistoryProgress;

  constructor(readonly login: UserLoginHandle, lids: LidResolver, readonly opts: WAEventHandlerOptions = {}) {
    this.lids = { pnForLid: async (lid) => this.learned.get(jidNormalizedUser(lid)) ?? lids.pnForLid(lid) };
    this.deps = {
      lids: this.lids,
      downloadMedia: makeWAMediaDownloader(() => this.socket(), login.log),
    };
    this.profiles = new ProfileUpdates(login, () => this.socket());
    this.history = new HistoryProgress(login, opts.historyNoticeIntervalMs !== undefined ? { intervalMs: opts.historyNoticeIntervalMs } : {});
  }

  socket(): WAClientPort {
    if (!this.sock) throw new BridgeError('not connected to WhatsApp', { reason: 'm_network_error', certain: false });
    return this.sock;
  }

  /** Subscribes to a new socket's events (and drops the previous socket's subscriptions). */
  attach(sock: WAClientPort): void {
    this.detach();
    this.sock = sock;
    type After<E extends keyof BaileysEventMap> = (data: BaileysEventMap[E], queued: Array<[RemoteEvent, QueuedEvent]>) => void;
    const on = <E extends keyof BaileysEventMap>(name: E, fn: (data: BaileysEventMap[E]) => Promise<RemoteEvent[]>, after?: After<E>) => {
      const listener = (data: BaileysEventMap[E]) => this.enqueue(name, () => fn(data), after && ((q) => after(data, q)));
      sock.ev.on(name, listener);
      this.offs.push(() => sock.ev.off(name, listener));
    };
    on('messages.upsert', async ({ messages }) => this.flat(messages.map((m) => () => this.fromMessage(m))));
    on('messages.update', async (updates) => this.flat(updates.map((u) => () => this.fromUpdate(u.key, u.update))));
    on('messages.reaction', async (rs) => this.flat(rs.map((r) => () => this.fromReaction(r.key, r.reaction))));
    on('message-receipt.update', async (rs) => this.flat(rs.map((r) => () => this.fromReceipt(r.key, r.receipt))));
    on('presence.update', async (p) => this.fromPresence(p));
    on('contacts.upsert', async (cs) => this.contacts(cs));
    on('contacts.update', async (cs) => this.contacts(cs));
    on('lid-mapping.update', async (m) => (await this.learn([m]), []));
    on('chats.upsert', async (chats) => this.fromChats(chats));
    on('messaging-history.set', async (h) => [...(await historyEvents(this, h)), ...(await historyPollEvents(this, h))], (h, q) => this.history.queued(h, q));
    on('messaging-history.status', async (st) => (this.history.status(st), []));
    on('groups.update', async (gs) => groupEvents.fromGroupUpdates(this, gs));
    on('group-participants.update', async (u) => groupEvents.fromParticipants(this, u));
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

  /** Resolves once every event emitted so far has been queued with the core. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Queues what `make` returns; `after` gets each event with its QueuedEvent (history progress). */
  private enqueue(name: string, make: () => Promise<RemoteEvent[]>, after?: (queued: Array<[RemoteEvent, QueuedEvent]>) => void): void {
    this.chain = this.chain.then(async () => {
      try {
        const queued: Array<[RemoteEvent, QueuedEvent]> = [];
        for (const evt of await make()) queued.push([evt, await this.login.queueRemoteEvent(evt)]);
        after?.(queued);
      } catch (err) {
        this.login.log.warn({ err, event: name }, 'failed to handle a WhatsApp event');
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

  // ---- messages ----

  private async fromMessage(msg: WAMessage): Promise<RemoteEvent[]> {
    const key = msg.key;
    if (!key?.id) return [];
    const portal = await this.portalOf(key.remoteJid, key.remoteJidAlt);
    if (!portal) return [];
    if (groupEvents.isCommunityStub(msg)) return groupEvents.fromCommunityStub(this, msg, (jid) => this.socket().groupMetadata(jid));
    if (!msg.message && msg.messageStubType === STUB_REVOKE) {
      // The event buffer folded a delete into the message it deletes: nothing left to show.
      const by = await this.keySender(key);
      return by ? this.removal(portal, await this.targetOf(portal, key), by, msOf(msg.messageTimestamp)) : [];
    }
    const content = normalizeMessageContent(msg.message);
    if (content?.pollUpdateMessage) return pollVoteEvents(this, msg, content.pollUpdateMessage);
    if (!content || !hasVisibleContent(content)) return [];
    const sender = await this.keySender(key);
    if (!sender) return [];
    await rememberPoll(this, portal, msg, sender);
    const timestamp = msOf(msg.messageTimestamp);

    const pm = content.protocolMessage;
    if ((pm || content.reactionMessage) && key.fromMe && this.ownSends.has(key.id)) return [];
    if (pm) {
      if (pm.type === PROTOCOL.REVOKE && pm.key?.id) {
        const who = pm.key.participant ? await this.userOf(pm.key.participant) : sender.user;
        return this.removal(portal, who ? makeMessageId(portal.id, who, pm.key.id) : undefined, sender, timestamp);
      }
      if (pm.type === PROTOCOL.MESSAGE_EDIT && pm.key?.id && pm.editedMessage) {
        const at = pm.timestampMs ? Math.floor(Number(pm.timestampMs) / 1000) * 1000 : timestamp;
        return this.edit(portal, makeMessageId(portal.id, sender.user, pm.key.id), sender, at, pm.editedMessage);
      }
      if (pm.type === PROTOCOL.EPHEMERAL_SETTING) {
        const s = pm.ephemeralExpiration ?? 0;
        return [{ type: 'chat_info_change', portal, sender, timestamp, change: { disappear: s > 0 ? { type: 'after_send', timerMs: s * 1000 } : null } }];
      }
      return [];
    }
    if (content.reactionMessage) {
      const r = content.reactionMessage;
      return this.reaction(portal, r.key, sender, r.text ?? '', r.senderTimestampMs ? Number(r.senderTimestampMs) : timestamp);
    }

    const id = makeMessageId(portal.id, sender.user, key.id);
    const out: RemoteEvent[] = [{
      type: 'message', portal, id, sender, timestamp,
      convert: (ctx) => convertWAMessage(msg, ctx, this.deps),
    }];
    // The event buffer folds reactions to a message it still holds into the message itself.
    for (const r of msg.reactions ?? []) {
      const reactor = r.key ? await this.keySender(r.key) : undefined;
      if (reactor) out.push(...this.reactionEvents(portal, id, reactor, r.text ?? '', r.senderTimestampMs ? Number(r.senderTimestampMs) : timestamp));
    }
    return out;
  }

  private removal(portal: PortalKey, target: MessageId | undefined, sender: RemoteSender, timestamp: number): RemoteEvent[] {
    if (!target || !this.recent.first(`revoke|${target}`)) return [];
    return [{ type: 'message_remove', portal, target, sender, timestamp }];
  }

  private edit(portal: PortalKey, target: MessageId, sender: RemoteSender, timestamp: number, edited: proto.IMessage): RemoteEvent[] {
    if (!this.recent.first(`edit|${target}|${timestamp}`)) return [];
    return [{ type: 'edit', portal, target, sender, timestamp, convert: (ctx, parts) => convertWAEdit(edited, parts, ctx, this.deps) }];
  }

  private async reaction(portal: PortalKey, targetKey: WAMessageKey | null | undefined, sender: RemoteSender, text: string, timestamp: number): Promise<RemoteEvent[]> {
    if (!targetKey?.id) return [];
    // The target key is from our point of view (Baileys normalises it): fromMe = our message.
    const targetSender = targetKey.fromMe ? this.me() : await this.senderOf(targetKey.participant || (portal.receiver ? portal.id : targetKey.remoteJid));
    if (!targetSender) return [];
    return this.reactionEvents(portal, makeMessageId(portal.id, targetSender.user, targetKey.id), sender, text, timestamp);
  }

  private reactionEvents(portal: PortalKey, target: MessageId, sender: RemoteSender, text: string, timestamp: number): RemoteEvent[] {
    if (!this.recent.first(`react|${target}|${sender.user}|${text}|${timestamp}`)) return [];
    if (!text) return [{ type: 'reaction_remove', portal, target, sender, timestamp }];
    return [{ type: 'reaction', portal, target, sender, timestamp, emojiId: emojiId(text), emoji: text, replacesOthers: true }];
  }

  private async fromUpdate(key: WAMessageKey, update: Partial<WAMessage>): Promise<RemoteEvent[]> {
    const portal = await this.portalOf(key.remoteJid, key.remoteJidAlt);
    if (!portal || !key.id) return [];
    const timestamp = msOf(update.messageTimestamp);
    const edited = update.message?.editedMessage?.message;
    if (edited) {
      const editor = await this.keySender(key);
      return editor ? this.edit(portal, makeMessageId(portal.id, editor.user, key.id), editor, timestamp, edited) : [];
    }
    if (update.message === null && update.messageStubType === STUB_REVOKE) {
      // The key is the deleted message's id with the deleter's address (Baileys keeps no more).
      const by = await this.keySender(key);
      return by ? this.removal(portal, await this.targetOf(portal, key), by, timestamp) : [];
    }
    const status = update.status;
    if (status === STATUS.READ || status === STATUS.PLAYED || status === STATUS.DELIVERY_ACK) {
      const target = await this.targetOf(portal, key);
      if (!target) return [];
      if (!key.fromMe) {
        // We read it on another device.
        return status === STATUS.DELIVERY_ACK ? [] : [{ type: 'read_receipt', portal, sender: this.me(), target, timestamp }];
      }
      if (!portal.receiver || isJidStatusBroadcast(portal.id)) return []; // groups report per user (message-receipt.update)
      const other = await this.senderOf(portal.id);
      if (!other || other.isFromMe) return [];
      return status === STATUS.DELIVERY_ACK
        ? [{ type: 'delivery_receipt', portal, sender: other, targets: [target], timestamp }]
        : [{ type: 'read_receipt', portal, sender: other, target, timestamp }];
    }
    return [];
  }

  private async fromReaction(key: WAMessageKey, reaction: proto.IReaction): Promise<RemoteEvent[]> {
    const portal = await this.portalOf(key.remoteJid, key.remoteJidAlt);
    const reactor = reaction.key ? await this.keySender(reaction.key) : undefined;
    if (!portal || !reactor) return [];
    return this.reaction(portal, key, reactor, reaction.text ?? '', reaction.senderTimestampMs ? Number(reaction.senderTimestampMs) : Date.now());
  }

  private async fromReceipt(key: WAMessageKey, receipt: proto.IUserReceipt): Promise<RemoteEvent[]> {
    const portal = await this.portalOf(key.remoteJid, key.remoteJidAlt);
    const reader = await this.senderOf(receipt.userJid);
    if (!portal || !reader || reader.isFromMe) return [];
    const target = await this.targetOf(portal, key);
    if (!target) return [];
    const read = receipt.readTimestamp ?? receipt.playedTimestamp;
    if (read) return [{ type: 'read_receipt', portal, sender: reader, target, timestamp: msOf(read) }];
    if (receipt.receiptTimestamp) return [{ type: 'delivery_receipt', portal, sender: reader, targets: [target], timestamp: msOf(receipt.receiptTimestamp) }];
    return [];
  }

  // ---- presence, contacts, chats, history ----

  private async fromPresence(p: BaileysEventMap['presence.update']): Promise<RemoteEvent[]> {
    const out: RemoteEvent[] = [];
    const portal = await this.portalOf(p.id);
    for (const [jid, data] of Object.entries(p.presences ?? {})) {
      const sender = await this.senderOf(jid);
      if (!sender || sender.isFromMe) continue;
      const state = data?.lastKnownPresence;
      if (state === 'available' || state === 'unavailable') {
        const lastSeen = typeof data.lastSeen === 'number' && data.lastSeen > 0 ? Math.max(0, Date.now() - data.lastSeen * 1000) : undefined;
        this.login.updatePresence({ user: sender.user, presence: state === 'available' ? 'online' : 'offline', ...(lastSeen !== undefined ? { lastActiveAgoMs: lastSeen } : {}) });
      } else if (portal && (state === 'composing' || state === 'recording' || state === 'paused')) {
        out.push({ type: 'typing', portal, sender, timestamp: Date.now(), timeoutMs: state === 'paused' ? 0 : TYPING_TIMEOUT_MS });
      }
    }
    return out;
  }

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
