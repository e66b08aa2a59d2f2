/**
 * History sync progress as one notice in the management room, edited in place
 * (`sendProgressNotice`): "History sync: 12 of 50 chats, 830 messages so far (40%)" while batches
 * arrive, "History sync finished: 50 of 50 chats, 4,120 messages" at the end.
 *
 * Chats and messages are counted when their portal has handled the backfill (its `handled`
 * settled), so the numbers say what reached Matrix, not what is still queued. The number of
 * chats to come ("of M") is history-sync.ts's: the chats within the limit among those seen so
 * far. The percentage is WhatsApp's own (`progress` of messaging-history.set; not the
 * INITIAL_BOOTSTRAP set's, which is its own and is followed by RECENT). A burst of batches makes at
 * most one edit per interval (2 s), plus the final one. When the sync ends is history-sync.ts's
 * decision too (`finish`). On-demand history is not part of the login's sync and is not reported.
 */
import { portalKeyString, type QueuedEvent, type RemoteEvent, type UserLoginHandle } from '@tributary/core/network/index';
import { proto, type BaileysEventMap } from 'baileys';

type HistorySet = BaileysEventMap['messaging-history.set'];

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
  /** How many chats the sync will backfill, once known. */
  expected: number | undefined;
  messages: number;
  percent: number | undefined;
  /** The `handled` of every backfill queued, counted as each settles. */
  pending: Array<Promise<void>>;
  lastSent: number;
  timer: NodeJS.Timeout | undefined;
  finished: boolean;
}

const count = (n: number, one: string, many: string) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

export function progressText(s: Pick<Session, 'chats' | 'expected' | 'messages' | 'percent'>, finished: boolean): string {
  const chats = s.expected !== undefined ? `${s.chats.size.toLocaleString('en-US')} of ${count(s.expected, 'chat', 'chats')}` : count(s.chats.size, 'chat', 'chats');
  const counts = `${chats}, ${count(s.messages, 'message', 'messages')}`;
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
   * A step of the sync: a set arrived (its percentage) and/or backfills of the sync were queued
   * (the `[event, QueuedEvent]` pairs, counted as each is handled); `expectedChats` is how many
   * chats the sync backfills as far as is known now. Starts a sync (a notice) if none is under way.
   */
  report(set: Pick<HistorySet, 'syncType' | 'progress'> | undefined, backfills: Array<[RemoteEvent, QueuedEvent]>, expectedChats?: number): void {
    const s = (this.current ??= this.start());
    if (set && set.syncType !== SYNC.INITIAL_BOOTSTRAP && typeof set.progress === 'number' && set.progress >= 0 && set.progress <= 100) {
      s.percent = Math.round(set.progress);
    }
    if (expectedChats !== undefined) s.expected = Math.max(expectedChats, s.chats.size);
    let counted = 0;
    for (const [evt, q] of backfills) {
      if (evt.type !== 'backfill') continue;
      counted++;
      s.pending.push(q.handled.then(() => {
        s.chats.add(portalKeyString(evt.portal));
        if (s.expected !== undefined && s.chats.size > s.expected) s.expected = s.chats.size;
        s.messages += evt.messages.length;
        this.changed(s);
      }, () => undefined));
    }
    // With backfills, the first of them to be handled shows the counts (no "0 chats" notice first).
    if (!counted) this.changed(s);
  }

  /** Whether a sync (a notice) is under way. */
  get active(): boolean {
    return this.current !== undefined;
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
    return { key: `whatsapp-history-sync-${++this.sessions}`, chats: new Set(), expected: undefined, messages: 0, percent: undefined, pending: [], lastSent: -Infinity, timer: undefined, finished: false };
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
