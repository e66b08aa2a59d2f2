/**
 * WhatsApp's history sync (`messaging-history.set`) as backfill within the configured limits
 * (`history_sync.max_chats` most recent chats, each with at most its newest
 * `max_messages_per_chat` messages; see history-buffer.ts).
 *
 * History arrives in several sets (INITIAL_BOOTSTRAP, then RECENT chunks up to 100%, FULL on
 * request), and one chat's messages can be spread over them. Bridging each set as it came would
 * rank chats on part of the picture and put a chat's older messages after its newer ones in the
 * room, so sets are held and dispatched together, each chat as one backfill, oldest first:
 * - at once when a set says it is the last (100% of a set other than INITIAL_BOOTSTRAP) or Baileys
 *   reports the sync 'paused' (no chunk for two minutes); both end the progress notice;
 * - `waitMs` after a set that announces nothing more (INITIAL_BOOTSTRAP, sets without progress),
 *   unless RECENT or FULL chunks below 100% have arrived, whose end will be reported. This also
 *   ends the notice: a set after it starts a new one, and the limits keep counting;
 * - `waitMs` 0: every set at once;
 * - when a live event arrives in a chat whose history is held, that chat's history goes first, so
 *   it precedes the event in the room (the chat takes a free place within `max_chats` if it has
 *   none yet: it is, right now, the most recent chat).
 * A chat left out gets its room the ordinary way when a live message arrives. On-demand history
 * (fetchMessageHistory answers) is bridged as it comes, without limits. Nothing is bridged twice:
 * every message keeps its id, by which the core drops one it has already bridged.
 */
import { portalKeyString, type PortalKey, type QueuedEvent, type RemoteEvent } from '@tributary/core/network/index';
import { proto, type BaileysEventMap, type WAMessage } from 'baileys';
import type { WAEventHandler } from './handle-whatsapp.js';
import { backfillEvent, historyEvents, historyItems, isPollVote, msOf, type HistoryItem } from './handle-whatsapp-history.js';
import { HistoryBuffer, type ChatDispatch, type HistoryLimits } from './history-buffer.js';
import type { HistoryProgress } from './history-progress.js';
import { historyPollEvents } from './poll-store.js';

/** How long to wait for more history after a set that does not say whether more follows. */
export const HISTORY_DISPATCH_WAIT_MS = 20_000;

const SYNC = proto.HistorySync.HistorySyncType;
type HistorySet = BaileysEventMap['messaging-history.set'];
type Handler = Pick<WAEventHandler, 'learn' | 'contacts' | 'portalOf' | 'keySender' | 'deps' | 'login' | 'lids' | 'polls' | 'socket' | 'timers'>;
type Dispatch = ChatDispatch<PortalKey, HistoryItem, WAMessage>;

export interface HistorySyncOptions {
  limits: HistoryLimits;
  /** See the file comment; 0 dispatches every set at once. */
  waitMs: number;
  progress: HistoryProgress;
  /** Runs work on the handler's event chain (the dispatch after the wait). */
  schedule(name: string, make: () => Promise<RemoteEvent[]>): void;
  /** The chats whose history was dispatched, with their newest message's time. */
  onDispatched?(chats: Array<{ portal: PortalKey; at: number }>): void;
}

/** What the batch being queued means for the notice: the set that arrived, whether it ends the sync. */
interface Step {
  set?: HistorySet;
  finish: boolean;
}

export class HistorySync {
  private readonly buffer: HistoryBuffer<PortalKey, HistoryItem, WAMessage>;
  private timer: NodeJS.Timeout | undefined;
  /** Backfills of the login's sync, which the notice counts (not on-demand ones). */
  private readonly ours = new WeakSet<RemoteEvent>();
  /** Chats dispatched since the notice began. */
  private readonly noticeChats = new Set<string>();
  private step: Step | undefined;
  /** RECENT or FULL chunks below 100% have arrived and their end has not. */
  private chunking = false;

  constructor(private readonly h: Handler, private readonly opts: HistorySyncOptions) {
    this.buffer = new HistoryBuffer(opts.limits);
  }

  /** A history set: on-demand history at once, the login's sync held (or dispatched, see above). */
  async set(set: HistorySet): Promise<RemoteEvent[]> {
    await this.h.learn(set.lidPnMappings ?? []);
    await this.h.contacts(set.contacts ?? []);
    if (set.syncType === SYNC.ON_DEMAND) return [...(await historyEvents(this.h, set)), ...(await historyPollEvents(this.h, set))];
    if (!this.buffer.enabled) return [];
    await this.hold(set);
    clearTimeout(this.timer);
    this.timer = undefined;
    const last = set.syncType !== SYNC.INITIAL_BOOTSTRAP && set.progress === 100;
    if ((set.syncType === SYNC.RECENT || set.syncType === SYNC.FULL) && typeof set.progress === 'number') this.chunking = true;
    if (last || this.opts.waitMs <= 0) return this.dispatch(set, last);
    if (this.opts.progress.active || this.buffer.planned().length) this.step = { set, finish: false };
    // While RECENT or FULL chunks are coming, their end is reported (100% or 'paused'): no timer.
    if (!this.chunking) this.arm();
    return [];
  }

  /** Baileys' sync milestones: 'paused' (no chunk for a while) dispatches what is held and ends the sync. */
  async status(st: BaileysEventMap['messaging-history.status']): Promise<RemoteEvent[]> {
    if (st.status !== 'paused') return [];
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.dispatch(undefined, true);
  }

  /** Events to queue before a live event of `portal`: the chat's held history, if any. */
  async before(portal: PortalKey): Promise<RemoteEvent[]> {
    const d = this.buffer.holds(portalKeyString(portal)) ? this.buffer.takeChat(portalKeyString(portal)) : undefined;
    return d ? this.events([d]) : [];
  }

  /**
   * The handler queued a batch of events: the notice counts the sync's backfills among them and
   * shows the set that caused them; a batch that ends the sync finishes the notice.
   */
  queued(queued: Array<[RemoteEvent, QueuedEvent]>): void {
    const step = this.step;
    this.step = undefined;
    const backfills = queued.filter(([evt]) => this.ours.has(evt));
    if (step?.set || backfills.length) this.opts.progress.report(step?.set, backfills, this.expected());
    if (step?.finish && this.opts.progress.active) {
      void this.opts.progress.finish();
      this.noticeChats.clear();
    }
  }

  /** Stops the wait (the handler is done with this socket's history; a new one starts over). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async hold(set: HistorySet): Promise<void> {
    for (const chat of set.chats ?? []) {
      const portal = chat.id ? await this.h.portalOf(chat.id, (chat as { pnJid?: string | null }).pnJid) : undefined;
      if (portal && chat.conversationTimestamp) this.buffer.touch(portalKeyString(portal), msOf(chat.conversationTimestamp));
      // The conversation's disappearing timer (0 or absent: off), for sends from Matrix.
      if (portal && chat.ephemeralExpiration !== undefined) this.h.timers.set(portal.id, chat.ephemeralExpiration);
    }
    for (const item of await historyItems(this.h, set.messages ?? [])) {
      this.buffer.add(portalKeyString(item.portal), item.portal, { id: item.msg.id, timestamp: item.msg.timestamp, value: item });
    }
    for (const vote of (set.messages ?? []).filter(isPollVote)) {
      const portal = await this.h.portalOf(vote.key.remoteJid, vote.key.remoteJidAlt);
      if (portal) this.buffer.addExtra(portalKeyString(portal), portal, vote);
    }
    this.buffer.trim();
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.opts.schedule('history dispatch', () => this.dispatch(undefined, true));
    }, this.opts.waitMs);
    this.timer.unref?.();
  }

  private async dispatch(set: HistorySet | undefined, finish: boolean): Promise<RemoteEvent[]> {
    if (finish) this.chunking = false;
    const events = await this.events(this.buffer.takeAll());
    if (events.length || this.opts.progress.active) this.step = { ...(set ? { set } : {}), finish };
    return events;
  }

  /** Backfills of the dispatched chats, then the tally edits of their polls. */
  private async events(ds: Dispatch[]): Promise<RemoteEvent[]> {
    if (ds.length === 0) return [];
    const out: RemoteEvent[] = [];
    const raws: WAMessage[] = [];
    for (const d of ds) {
      const evt = backfillEvent(d.portal, d.items.map((i) => i.value.msg));
      if (d.items.length) {
        this.ours.add(evt);
        out.push(evt);
      }
      this.noticeChats.add(d.key);
      raws.push(...d.items.map((i) => i.value.raw), ...d.extras);
    }
    out.push(...(await historyPollEvents(this.h, { messages: raws })));
    this.opts.onDispatched?.(ds.map((d) => ({ portal: d.portal, at: d.items.at(-1)?.timestamp ?? 0 })));
    return out;
  }

  /** Chats the notice expects: those dispatched since it began and those a dispatch now would add. */
  private expected(): number {
    return new Set([...this.noticeChats, ...this.buffer.planned()]).size;
  }
}
