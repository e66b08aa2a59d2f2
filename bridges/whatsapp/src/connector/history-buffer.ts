/**
 * The history sync limits (`history_sync.max_chats`, `max_messages_per_chat`) as a buffer: history
 * arrives in several sets, so messages are held per chat until the bridge dispatches them, and the
 * limits are applied across every set seen so far.
 *
 * - Chats rank by their newest activity: the newest message held for them, or the chat list's
 *   `conversationTimestamp`, whichever is later (ties: by key, so the choice is stable).
 * - A chat is *committed* when its first backfill is dispatched; at most `maxChats` ever are, for
 *   the buffer's lifetime (one login's connector). A committed chat keeps its place: later sets
 *   add to it up to its message quota, nothing more.
 * - Each chat gets at most its newest `maxMessagesPerChat` messages in all (counted by message id,
 *   over every dispatch), handed out oldest first, equal timestamps in arrival order.
 * - Held messages are trimmed as sets arrive: a chat keeps only its newest quota, and a chat that
 *   ranks below the free places is dropped (only its newest time is kept). Its older messages are
 *   gone for good, which only matters if a later set brings it a newer message than every chat
 *   that outranked it; history sets carry each chat's newest messages first, so this is rare.
 *
 * Zero for either limit disables history backfill.
 */

export interface HistoryLimits {
  maxChats: number;
  maxMessagesPerChat: number;
}

/** The config's defaults (`history_sync` in connector.ts). */
export const DEFAULT_HISTORY_LIMITS: Readonly<HistoryLimits> = Object.freeze({ maxChats: 50, maxMessagesPerChat: 100 });

export interface HeldItem<V> {
  id: string;
  timestamp: number;
  value: V;
}

/** What one chat gets from a dispatch: its messages oldest first, and the extras held with them. */
export interface ChatDispatch<P, V, X> {
  key: string;
  portal: P;
  items: Array<HeldItem<V>>;
  extras: X[];
}

interface Held<P, V, X> {
  portal: P;
  items: Map<string, HeldItem<V> & { seq: number }>;
  extras: X[];
}

export class HistoryBuffer<P, V, X = never> {
  /** Chats with history waiting to be dispatched. */
  private readonly held = new Map<string, Held<P, V, X>>();
  /** Newest activity per chat key (ms), including chats that were dropped. */
  private readonly newest = new Map<string, number>();
  /** Committed chats -> ids of the messages dispatched for them. */
  private readonly committed = new Map<string, Set<string>>();
  private seq = 0;

  constructor(readonly limits: HistoryLimits) {}

  get enabled(): boolean {
    return this.limits.maxChats > 0 && this.limits.maxMessagesPerChat > 0;
  }

  /** Records a chat's newest activity from the chat list. */
  touch(key: string, at: number): void {
    if (at > (this.newest.get(key) ?? 0)) this.newest.set(key, at);
  }

  /** Holds a message of a chat (a message id held or dispatched before is ignored). */
  add(key: string, portal: P, item: HeldItem<V>): void {
    if (!this.enabled || this.committed.get(key)?.has(item.id)) return;
    const chat = this.chat(key, portal);
    if (!chat.items.has(item.id)) chat.items.set(item.id, { ...item, seq: this.seq++ });
    this.touch(key, item.timestamp);
  }

  /** Holds something that goes with a chat's messages (poll votes), dispatched with them. */
  addExtra(key: string, portal: P, extra: X): void {
    if (this.enabled) this.chat(key, portal).extras.push(extra);
  }

  /** Whether the chat has history waiting. */
  holds(key: string): boolean {
    return this.held.has(key);
  }

  /** Drops what can no longer be dispatched: messages past a chat's quota, chats past the free places. */
  trim(): void {
    for (const [key, chat] of this.held) {
      const keep = new Set(this.newestItems(key, chat).map((i) => i.id));
      for (const id of [...chat.items.keys()]) if (!keep.has(id)) chat.items.delete(id);
      if (chat.items.size === 0 && (chat.extras.length === 0 || !this.committed.has(key))) this.held.delete(key);
    }
    const admitted = new Set(this.admitted());
    for (const key of [...this.held.keys()]) if (!this.committed.has(key) && !admitted.has(key)) this.held.delete(key);
  }

  /** The chats a dispatch now would hand out (committed ones with messages, and the best-ranked new ones). */
  planned(): string[] {
    return [...[...this.held.keys()].filter((k) => this.committed.has(k)), ...this.admitted()];
  }

  /** Dispatches everything dispatchable, most recent chat first; the rest is dropped. */
  takeAll(): Array<ChatDispatch<P, V, X>> {
    this.trim();
    const order = [...this.held.keys()].sort((a, b) => this.rank(a, b));
    const out: Array<ChatDispatch<P, V, X>> = [];
    for (const key of order) {
      const d = this.take(key);
      if (d) out.push(d);
    }
    this.held.clear();
    return out;
  }

  /**
   * Dispatches one chat's held history now (a live event arrived in it: its history must go
   * first). A chat not yet committed takes a free place if there is one; with none left its
   * history is dropped. Undefined when nothing is dispatched.
   */
  takeChat(key: string): ChatDispatch<P, V, X> | undefined {
    return this.take(key);
  }

  private take(key: string): ChatDispatch<P, V, X> | undefined {
    const chat = this.held.get(key);
    if (!chat) return undefined;
    this.held.delete(key);
    let sent = this.committed.get(key);
    if (!sent) {
      if (chat.items.size === 0 || this.committed.size >= this.limits.maxChats) return undefined;
      this.committed.set(key, (sent = new Set()));
    }
    const items = this.newestItems(key, chat).sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
    for (const i of items) sent.add(i.id);
    if (items.length === 0 && chat.extras.length === 0) return undefined;
    return { key, portal: chat.portal, items: items.map(({ id, timestamp, value }) => ({ id, timestamp, value })), extras: chat.extras };
  }

  /** The chat's newest held messages within its remaining quota. */
  private newestItems(key: string, chat: Held<P, V, X>): Array<HeldItem<V> & { seq: number }> {
    const quota = Math.max(0, this.limits.maxMessagesPerChat - (this.committed.get(key)?.size ?? 0));
    return [...chat.items.values()].sort((a, b) => b.timestamp - a.timestamp || b.seq - a.seq).slice(0, quota);
  }

  /** Held chats not yet committed that fit in the free places, best first. */
  private admitted(): string[] {
    const free = Math.max(0, this.limits.maxChats - this.committed.size);
    return [...this.held].filter(([k, c]) => !this.committed.has(k) && c.items.size > 0).map(([k]) => k)
      .sort((a, b) => this.rank(a, b)).slice(0, free);
  }

  private rank(a: string, b: string): number {
    return (this.newest.get(b) ?? 0) - (this.newest.get(a) ?? 0) || (a < b ? -1 : a > b ? 1 : 0);
  }

  private chat(key: string, portal: P): Held<P, V, X> {
    let chat = this.held.get(key);
    if (!chat) this.held.set(key, (chat = { portal, items: new Map(), extras: [] }));
    return chat;
  }
}
