/**
 * MetaEvents -> the core's RemoteEvents. The directory is updated by the caller as each event
 * arrives (synchronously, in order), so chat info read later from the portal queue sees every
 * change made before it; conversion itself stays lazy and runs in the portal queue.
 */
import { Readable } from 'node:stream';
import {
  type ChatInfoChange, type ConvertContext, type PortalKey, type RemoteEvent, type RemoteMessage, type RemoteSender,
  type UserLoginHandle,
} from '@tributary/core/network/index';
import type { MetaEvent } from '../client/events.js';
import { makeMetaMessageId, makeMetaUserId, type MetaPlatform } from '../msgconv/meta-ids.js';
import { orderAttachments, type MetaMessage } from '../msgconv/meta-message.js';
import { convertMetaMessage } from '../msgconv/to-matrix.js';
import type { MetaConvertDeps } from '../msgconv/to-matrix-common.js';
import { editEvent, metaSender, reactionEvent, reactionRemoveEvent, unsendEvent, type MetaSelf } from '../msgconv/to-remote-events.js';
import { memberOf, pictureAvatar, type MediaDownloader } from './chat-info.js';
import type { MetaDirectory } from './directory.js';
import { e2eeMessageNoticeText, e2eeNoticeId, e2eeNoticeMessage, e2eeNoticeText } from './e2ee.js';
import { makeMetaPortalKey } from './ids.js';
import { requestNoticeId, requestNoticeText } from './requests.js';

/** How long a remote typing notification lasts unless renewed (Meta sends no timeout). */
export const TYPING_TIMEOUT_MS = 15_000;
/** The key under which each bridged part's metadata names the message's author and thread. */
export const AUTHOR_KEY = 'meta_sender';
export const THREAD_KEY = 'meta_thread';

export interface MetaEventDeps {
  login: UserLoginHandle;
  dir: MetaDirectory;
  platform: MetaPlatform;
  download: MediaDownloader;
  /** bridge.command_prefix, named in a request's notice. */
  commandPrefix?: string;
  /** The Matrix transaction id of a send from Matrix, by its otid (an echo is recorded, not bridged twice). */
  txnOfOtid(otid: string): string | undefined;
  now?: () => number;
}

export class MetaEventHandler {
  readonly #deps: MetaEventDeps;
  readonly #self: MetaSelf;
  /** Threads upserted in the current burst of events: their participant rows are a snapshot, not joins. */
  readonly #fresh = new Set<string>();
  /** Encrypted threads whose notice was queued in this session (the core's duplicate check covers restarts). */
  readonly #noticed = new Set<string>();

  constructor(deps: MetaEventDeps) {
    this.#deps = deps;
    this.#self = { userId: deps.dir.selfId, login: deps.login.id };
  }

  get convertDeps(): MetaConvertDeps {
    const download = this.#deps.download;
    return { platform: this.#deps.platform, download: async (url) => Readable.from([Buffer.from(await download(url))]) };
  }

  portalOf(threadKey: string, fallbackIsGroup = false): PortalKey {
    return makeMetaPortalKey(threadKey, this.#deps.dir.isGroup(threadKey) ?? fallbackIsGroup, this.#deps.login.id);
  }

  sender(userId: string): RemoteSender {
    return metaSender(userId, this.#self);
  }

  /**
   * Updates the directory for one event (call synchronously as events arrive) and returns what the
   * core should get for it, to be built in order afterwards.
   */
  absorb(e: MetaEvent): () => Promise<RemoteEvent[]> {
    const dir = this.#deps.dir;
    switch (e.type) {
      case 'contact': {
        const changed = dir.upsertContact(e.contact);
        return async () => {
          if (changed) await this.#deps.login.updateGhost(makeMetaUserId(e.contact.contactId), { ...(e.contact.name ? { name: e.contact.name } : {}), ...this.#avatarOf(e.contact.profilePictureUrl) });
          return [];
        };
      }
      case 'thread':
        return this.#absorbThread(e);
      case 'message':
        dir.indexMessage(e.message);
        if (dir.isEncrypted(e.message.threadKey)) return async () => [this.#encryptedRowNotice(e.message)];
        return async () => [this.messageEvent({ row: e.message, attachments: orderAttachments(e.attachments) })];
      default:
        return async () => this.#later(e);
    }
  }

  #avatarOf(url: string | undefined): { avatar?: ReturnType<typeof pictureAvatar> } {
    const avatar = pictureAvatar(url, this.#deps.download);
    return avatar ? { avatar } : {};
  }

  #absorbThread(e: Extract<MetaEvent, { type: 'thread' }>): () => Promise<RemoteEvent[]> {
    const dir = this.#deps.dir;
    const now = this.#now();
    const selfSender = this.sender(dir.selfId);
    const change = (threadKey: string, c: ChatInfoChange): RemoteEvent[] =>
      [{ type: 'chat_info_change', portal: this.portalOf(threadKey, true), sender: selfSender, timestamp: now, change: c }];
    switch (e.change) {
      case 'upsert': {
        const key = e.thread.threadKey;
        dir.upsertThread(e.thread);
        dir.participants.delete(key);
        this.#fresh.add(key);
        queueMicrotask(() => this.#fresh.delete(key));
        // No info: the core reads it through getChatInfo when the queue gets there, with every
        // participant row of this burst in the directory by then.
        const notice = [...this.#e2eeNotice(key, now), ...this.#requestNotice(key, now)];
        return async () => [{ type: 'chat_resync', portal: this.portalOf(key), timestamp: now, createPortal: true }, ...notice];
      }
      case 'encrypted': {
        dir.markEncrypted(e.threadKey);
        const notice = this.#e2eeNotice(e.threadKey, now);
        // A resync: the chat info (its topic) now says the chat is encrypted.
        return async () => [{ type: 'chat_resync', portal: this.portalOf(e.threadKey), timestamp: now, createPortal: true }, ...notice];
      }
      case 'name':
        dir.setThreadName(e.threadKey, e.name);
        return async () => change(e.threadKey, { name: e.name });
      case 'image': {
        dir.setThreadPicture(e.threadKey, e.imageUrl);
        const avatar = pictureAvatar(e.imageUrl, this.#deps.download);
        return async () => change(e.threadKey, { avatar: avatar ?? { id: '', remove: true } });
      }
      case 'participant-added': {
        const p = e.participant;
        const how = dir.addParticipant(p);
        if (this.#fresh.has(p.threadKey) || how === 'same') return async () => [];
        const member = memberOf(dir.participants.get(p.threadKey)!.get(p.contactId)!, dir.selfId);
        return async () => change(p.threadKey, { members: how === 'new' ? { added: [member] } : { changed: [member] } });
      }
      case 'participant-removed': {
        const known = dir.removeParticipant(e.threadKey, e.participantId);
        if (!known && this.#fresh.has(e.threadKey)) return async () => [];
        return async () => change(e.threadKey, { members: { removed: [{ user: makeMetaUserId(e.participantId) }] } });
      }
    }
  }

  /** The one notice of an encrypted thread, the first time this session sees it encrypted. */
  #e2eeNotice(threadKey: string, now: number): RemoteEvent[] {
    if (!this.#deps.dir.isEncrypted(threadKey) || this.#noticed.has(threadKey)) return [];
    this.#noticed.add(threadKey);
    return [e2eeNoticeMessage({
      id: e2eeNoticeId(threadKey), portal: this.portalOf(threadKey), selfId: this.#deps.dir.selfId, timestamp: now, text: e2eeNoticeText(this.#deps.platform),
    })];
  }

  /** The one notice of a message request (what it is, how to accept it), the first time this session sees it. */
  #requestNotice(threadKey: string, now: number): RemoteEvent[] {
    if (!this.#deps.dir.isMessageRequest(threadKey) || this.#noticed.has(`request.${threadKey}`)) return [];
    this.#noticed.add(`request.${threadKey}`);
    return [e2eeNoticeMessage({
      id: requestNoticeId(threadKey), portal: this.portalOf(threadKey), selfId: this.#deps.dir.selfId, timestamp: now, text: requestNoticeText(this.#deps.platform, this.#deps.commandPrefix), kind: 'request_notice',
    })];
  }

  /**
   * A message row of an encrypted thread (Meta sends its messages over the other transport; a row
   * that does come is not bridged as content, nor dropped): the notice, under the row's own id.
   */
  #encryptedRowNotice(row: MetaMessage['row']): RemoteEvent {
    return e2eeNoticeMessage({
      id: makeMetaMessageId(row.messageId), portal: this.portalOf(row.threadKey), selfId: this.#deps.dir.selfId,
      timestamp: row.timestampMs, text: e2eeMessageNoticeText(this.#deps.platform),
    });
  }

  /** A message row (live, from a sync, or from history) as a RemoteMessage. */
  messageEvent(msg: MetaMessage): RemoteMessage {
    const { row } = msg;
    const otid = row.offlineThreadingId;
    const echoOf = otid && row.senderId === this.#deps.dir.selfId ? this.#deps.txnOfOtid(otid) : undefined;
    return {
      type: 'message', id: makeMetaMessageId(row.messageId), portal: this.portalOf(row.threadKey, row.threadKey !== row.senderId && row.senderId !== this.#deps.dir.selfId),
      sender: this.sender(row.senderId), timestamp: row.timestampMs, ...(echoOf ? { echoOf } : {}),
      convert: (ctx: ConvertContext) => this.convert(msg, ctx),
    };
  }

  /** Converts, and names the author and thread in each part's metadata (edits and unsends need them). */
  async convert(msg: MetaMessage, ctx: ConvertContext): ReturnType<typeof convertMetaMessage> {
    const out = await convertMetaMessage(msg, ctx, this.convertDeps);
    const tag = { [AUTHOR_KEY]: msg.row.senderId, [THREAD_KEY]: msg.row.threadKey };
    return { ...out, parts: out.parts.map((p) => ({ ...p, metadata: { ...p.metadata, ...tag } })) };
  }

  async #later(e: Exclude<MetaEvent, { type: 'contact' | 'thread' | 'message' }>): Promise<RemoteEvent[]> {
    const now = this.#now();
    switch (e.type) {
      case 'reaction':
        return [reactionEvent(e.reaction, this.portalOf(e.reaction.threadKey), this.#self, now)];
      case 'reaction-removed':
        return [reactionRemoveEvent({ threadKey: e.threadKey, messageId: e.messageId, actorId: e.actorId }, this.portalOf(e.threadKey), this.#self, now)];
      case 'unsend': {
        const author = await this.#authorOf(e.messageId, e.threadKey);
        return [unsendEvent(e.messageId, this.portalOf(e.threadKey), this.sender(author?.senderId ?? e.threadKey), now)];
      }
      case 'edit': {
        const found = await this.#authorOf(e.edit.messageId);
        if (!found) {
          this.#deps.login.log.debug({ messageId: e.edit.messageId }, 'an edit of a message the bridge does not know; skipped');
          return [];
        }
        return [editEvent(e.edit, this.portalOf(found.threadKey), this.sender(found.senderId), now)];
      }
      case 'read': {
        const r = e.receipt;
        const target = this.#deps.dir.latestAtOrBefore(r.threadKey, r.readWatermarkTimestampMs);
        if (!target) return [];
        return [{ type: 'read_receipt', portal: this.portalOf(r.threadKey), sender: this.sender(r.contactId), timestamp: r.readActionTimestampMs ?? now, target: makeMetaMessageId(target.id) }];
      }
      case 'typing':
        if (e.senderId === this.#deps.dir.selfId) return [];
        return [{ type: 'typing', portal: this.portalOf(e.threadKey), sender: this.sender(e.senderId), timestamp: now, timeoutMs: e.isTyping ? TYPING_TIMEOUT_MS : 0 }];
    }
  }

  /**
   * The thread and author of a message: from the index of recent messages, else from the metadata
   * the core keeps of bridged parts (asked of the thread's portal, or of every known thread).
   */
  async #authorOf(messageId: string, threadKey?: string): Promise<{ threadKey: string; senderId: string } | undefined> {
    const hit = this.#deps.dir.message(messageId);
    if (hit) return hit;
    const keys = threadKey ? [threadKey] : [...this.#deps.dir.threads.keys()];
    for (const key of keys) {
      const meta = await this.#deps.login.getMessageMetadata(this.portalOf(key), makeMetaMessageId(messageId));
      const sender = meta?.[AUTHOR_KEY];
      if (typeof sender === 'string') return { threadKey: key, senderId: sender };
    }
    return undefined;
  }

  #now(): number {
    return (this.#deps.now ?? Date.now)();
  }
}
