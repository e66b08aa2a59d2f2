/**
 * Arrival times of the benchmark's marked messages, on Matrix (through the sync watcher) or on
 * the sandbox network (through its event emitter, in this process). Each marker is a unique
 * message body `bench:<run>:<n>`; the first arrival counts.
 */
import type { SandboxNetwork } from '../../bridges/sandbox/src/server/index.js';
import type { SyncWatcher } from './sync-watcher.js';

export class Arrivals {
  readonly times = new Map<string, number>();
  private waiters: Array<() => void> = [];

  constructor(private readonly prefix: string) {}

  record(body: string, at: number): void {
    if (!body.startsWith(this.prefix) || this.times.has(body)) return;
    this.times.set(body, at);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the latest arrival time once every marker arrived; rejects when none arrive for `stallMs`. */
  async waitAll(markers: readonly string[], stallMs = 60_000): Promise<number> {
    let lastCount = -1;
    let lastProgress = performance.now();
    for (;;) {
      const missing = markers.filter((m) => !this.times.has(m)).length;
      if (missing === 0) return Math.max(...markers.map((m) => this.times.get(m)!));
      if (missing !== lastCount) {
        lastCount = missing;
        lastProgress = performance.now();
      }
      if (performance.now() - lastProgress > stallMs) {
        throw new Error(`${missing} of ${markers.length} messages (${this.prefix}…) did not arrive; none arrived for ${stallMs / 1000} s`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }
}

/** Feeds Matrix arrivals (bodies seen by the person's sync) into `arrivals` until the returned function is called. */
export function watchMatrix(sync: SyncWatcher, arrivals: Arrivals): () => void {
  return sync.on((ev) => arrivals.record(ev.body, ev.at));
}

/** Feeds network arrivals (text messages others sent, delivered to one of `accounts`) into `arrivals` until the returned function is called. */
export function watchNetwork(network: SandboxNetwork, arrivals: Arrivals, accounts?: ReadonlySet<string>): () => void {
  const onEvent = (account: string, frame: { event: { type: string; self: boolean; message?: { content: { kind: string; text?: string } } } }) => {
    if (accounts && !accounts.has(account)) return;
    const ev = frame.event;
    // A contact's own sends come back to it as `self`: those are not deliveries.
    if (ev.type !== 'message' || ev.self || ev.message?.content.kind !== 'text') return;
    arrivals.record(ev.message.content.text ?? '', performance.now());
  };
  network.on('event', onEvent as never);
  return () => network.off('event', onEvent as never);
}

let runCounter = 0;
/** A fresh marker prefix for one measured run. */
export function runPrefix(name: string): string {
  return `bench:${name}.${++runCounter}:`;
}
