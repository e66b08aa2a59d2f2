/**
 * History sync progress as one notice in the management room, edited in place
 * (`sendProgressNotice`): "History sync: 12 chats, 830 messages so far (40%)" while batches arrive,
 * "History sync finished: 50 chats, 4,120 messages" at the end.
 *
 * Chats and messages are counted when their portal has handled the backfill (its `handled`
 * settled), so the numbers say what reached Matrix, not what is still queued. The percentage is
 * WhatsApp's own (`progress` of messaging-history.set); the total number of chats is not known in
 * advance. A burst of batches makes at most one edit per interval (2 s), plus the final one.
 *
 * The end: a set with `progress` 100 (what Baileys itself takes as explicit completion; not for
 * INITIAL_BOOTSTRAP, which is followed by RECENT), or `messaging-history.status` 'paused' (Baileys
 * gave up waiting for more chunks). Baileys' 'complete' status is not used: it is emitted when the
 * last chunk's notification arrives, before that chunk's set. `isLatest` only says the set is from
 * the first history sync of this session's credentials, not that the sync is over. On-demand
 * history (fetchMessageHistory answers) is not part of the login's sync and is not reported.
 */
import { portalKeyString, type QueuedEvent, type RemoteEvent, type UserLoginHandle } from '@tributary/core/network/index';
import { proto, type BaileysEventMap } from 'baileys';

const SYNC = proto.HistorySync.HistorySyncType;
export const HISTORY_NOTICE_INTERVAL_MS = 2_000;

export interface HistoryProgressOptions {
  /** Least time between two edits of the notice. */
  intervalMs?: number;
  now?: () => number;
}

/** One history sync: its own notice (key) and counts. */
interface Session {
  key: string;
  chats: Set<string>;
  messages: number;
  percent: number | undefined;
  /** The `handled` of every backfill queued, counted as each settles. */
  pending: Array<Promise<void>>;
  lastSent: number;
  timer: NodeJS.Timeout | undefined;
  finished: boolean;
}

const count = (n: number, one: string, many: string) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

export function progressText(s: Pick<Session, 'chats' | 'messages' | 'percent'>, finished: boolean): string {
  const counts = `${count(s.chats.size, 'chat', 'chats')}, ${count(s.messages, 'message', 'messages')}`;
  if (finished) return `History sync finished: ${counts}`;
  return `History sync: ${counts} so far${s.percent !== undefined ? ` (${s.percent}%)` : ''}`;
}

export class HistoryProgress {
  private current: Session | undefined;
  private sessions = 0;
  /** Notices go out in order, so the final text is never overtaken by an earlier one. */
  private sends: Promise<void> = Promise.resolve();
  private finishing: Promise<void> = Promise.resolve();
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(private readonly login: Pick<UserLoginHandle, 'sendProgressNotice' | 'log'>, opts: HistoryProgressOptions = {}) {
    this.intervalMs = opts.intervalMs ?? HISTORY_NOTICE_INTERVAL_MS;
    this.now = opts.now ?? Date.now;
  }

  /**
   * A history set's events have been queued (the `[event, QueuedEvent]` pairs): counts its
   * backfills as they are handled, and ends the sync when the set says it is the last.
   */
  queued(set: BaileysEventMap['messaging-history.set'], queued: Array<[RemoteEvent, QueuedEvent]>): void {
    if (set.syncType === SYNC.ON_DEMAND) return;
    const s = (this.current ??= this.start());
    // INITIAL_BOOTSTRAP's progress is its own, not the sync's (RECENT follows it).
    const last = set.syncType !== SYNC.INITIAL_BOOTSTRAP && set.progress === 100;
    if (set.syncType !== SYNC.INITIAL_BOOTSTRAP && typeof set.progress === 'number' && set.progress >= 0 && set.progress <= 100) {
      s.percent = Math.round(set.progress);
    }
    let backfills = 0;
    for (const [evt, q] of queued) {
      if (evt.type !== 'backfill') continue;
      backfills++;
      s.pending.push(q.handled.then(() => {
        s.chats.add(portalKeyString(evt.portal));
        s.messages += evt.messages.length;
        this.changed(s);
      }, () => undefined));
    }
    // With backfills, the first of them to be handled shows the counts (no "0 chats" notice first).
    if (!backfills) this.changed(s);
    if (last) void this.finish();
  }

  /** Baileys' sync milestones: 'paused' (no chunk for a while) ends the sync. */
  status(st: BaileysEventMap['messaging-history.status']): void {
    if (st.status === 'paused') void this.finish();
  }

  /** Ends the current sync: the final notice, once every backfill queued for it has settled. */
  finish(): Promise<void> {
    const s = this.current;
    if (!s) return this.finishing;
    this.current = undefined;
    s.finished = true;
    clearTimeout(s.timer);
    const done = this.finishing.then(() => Promise.allSettled(s.pending)).then(() => this.send(s.key, progressText(s, true)));
    this.finishing = done;
    return done;
  }

  /** Resolves once every notice asked for so far (the final ones included) has been handed to the core. */
  async idle(): Promise<void> {
    await this.finishing;
    await this.sends;
  }

  private start(): Session {
    return { key: `whatsapp-history-sync-${++this.sessions}`, chats: new Set(), messages: 0, percent: undefined, pending: [], lastSent: -Infinity, timer: undefined, finished: false };
  }

  /** Shows the new counts now, or at the end of the interval if a notice went out within it. */
  private changed(s: Session): void {
    if (s.finished || s.timer) return;
    const wait = s.lastSent + this.intervalMs - this.now();
    if (wait <= 0) {
      s.lastSent = this.now();
      void this.send(s.key, progressText(s, false));
      return;
    }
    s.timer = setTimeout(() => {
      s.timer = undefined;
      if (s.finished) return;
      s.lastSent = this.now();
      void this.send(s.key, progressText(s, false));
    }, wait);
    s.timer.unref?.();
  }

  private send(key: string, text: string): Promise<void> {
    this.sends = this.sends.then(() => this.login.sendProgressNotice(key, text))
      .catch((err: unknown) => this.login.log.warn({ err: (err as Error).message }, 'history sync notice failed'));
    return this.sends;
  }
}
