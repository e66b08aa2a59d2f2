/**
 * The person's view of Matrix for the benchmark: one long-polling /sync over the rooms under
 * test, timestamping each m.room.message when it arrives. Bridge and baseline events are seen
 * through the same loop, so its delay is part of both measurements and cancels in the ratio.
 */
import { matrixRequest } from './matrix.js';

export interface SeenEvent {
  roomId: string;
  eventId: string;
  sender: string;
  body: string;
  content: Record<string, unknown>;
  /** performance.now() when the sync response carrying it was read. */
  at: number;
}

type Listener = (ev: SeenEvent) => void;

interface SyncRoom {
  timeline?: { limited?: boolean; events?: Array<{ event_id: string; sender: string; type: string; content?: Record<string, unknown> }> };
}

export class SyncWatcher {
  private since: string | undefined;
  private rooms = new Set<string>();
  private readonly listeners = new Set<Listener>();
  private abort: AbortController | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  /** Rooms whose timeline came back `limited` (events were skipped): counts must be checked another way. */
  readonly limitedRooms = new Set<string>();
  errors = 0;

  constructor(private readonly baseUrl: string, private readonly token: string) {}

  private filter(): string {
    return JSON.stringify({
      presence: { not_types: ['*'] },
      account_data: { not_types: ['*'] },
      room: {
        rooms: [...this.rooms],
        timeline: { limit: 1000, types: ['m.room.message'] },
        state: { not_types: ['*'] },
        ephemeral: { not_types: ['*'] },
        account_data: { not_types: ['*'] },
        include_leave: false,
      },
    });
  }

  async start(): Promise<void> {
    const first = await matrixRequest<{ next_batch: string }>(this.baseUrl, 'GET', '/_matrix/client/v3/sync', {
      token: this.token, query: { timeout: 0, filter: this.filter() },
    });
    this.since = first.next_batch;
    this.loop = this.run();
  }

  /** Watches these rooms too (the pending long-poll is restarted with the same token: nothing is skipped). */
  addRooms(rooms: Iterable<string>): void {
    let changed = false;
    for (const r of rooms) if (!this.rooms.has(r)) { this.rooms.add(r); changed = true; }
    if (changed) this.abort?.abort();
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The first future event for which `pick` returns a value. */
  waitFor<T>(what: string, pick: (ev: SeenEvent) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)); }, timeoutMs);
      const off = this.on((ev) => {
        const v = pick(ev);
        if (v === undefined) return;
        clearTimeout(timer);
        off();
        resolve(v);
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    await this.loop?.catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.abort = new AbortController();
      let res: { next_batch: string; rooms?: { join?: Record<string, SyncRoom> } };
      try {
        res = await matrixRequest(this.baseUrl, 'GET', '/_matrix/client/v3/sync', {
          token: this.token, query: { since: this.since, timeout: 30_000, filter: this.filter() }, signal: this.abort.signal,
        });
      } catch (err) {
        if (this.stopped) return;
        if ((err as Error).name !== 'AbortError') {
          this.errors++;
          await new Promise((r) => setTimeout(r, 200));
        }
        continue;
      }
      const at = performance.now();
      this.since = res.next_batch;
      for (const [roomId, room] of Object.entries(res.rooms?.join ?? {})) {
        if (room.timeline?.limited) this.limitedRooms.add(roomId);
        for (const e of room.timeline?.events ?? []) {
          const body = typeof e.content?.body === 'string' ? e.content.body : '';
          const ev: SeenEvent = { roomId, eventId: e.event_id, sender: e.sender, body, content: e.content ?? {}, at };
          for (const l of [...this.listeners]) l(ev);
        }
      }
    }
  }
}
