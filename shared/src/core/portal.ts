/**
 * A chat: one Matrix room, one ordered queue. Remote events and Matrix events for the chat go
 * through the same queue and are handled one at a time, which is what keeps order in both
 * directions. The handlers live beside this file, split by direction.
 */
import type { Logger } from '../logging.js';
import type { PortalRow } from '../db/queries/portals.js';
import type { PortalKey, RemoteEvent } from '../network/index.js';
import type { MatrixRoomEvent, EphemeralEvent } from '../matrix/transaction.js';
import { MatrixApiError } from '../matrix/matrix-api.js';
import { OrderedQueue } from './ordered-queue.js';
import type { Bridge } from './bridge.js';
import type { UserLogin } from './user-login.js';
import { handleRemoteEvent } from './portal-remote.js';
import { handleMatrixEphemeral } from './portal-matrix.js';
import { handlePortalMatrixEvent } from './portal-encrypted.js';

export type PortalItem =
  | { kind: 'remote'; login: UserLogin; evt: RemoteEvent; done?: () => void }
  | { kind: 'matrix'; event: MatrixRoomEvent; done: () => Promise<void> }
  | { kind: 'ephemeral'; event: EphemeralEvent }
  | { kind: 'task'; run: () => Promise<void> };

export class Portal {
  readonly queue: OrderedQueue<PortalItem>;
  readonly log: Logger;
  /** Last typing state sent per Matrix user, so repeats of m.typing are not forwarded. */
  readonly typingState = new Map<string, boolean>();
  /** Read receipts the bridge set as double-puppeted users, so their echoes are not sent back. */
  readonly puppetReceipts = new Map<string, string>();
  /** Set by Bridge.deletePortal; queued remote events then move to a fresh portal. */
  deleted = false;
  /** Sends started by sendTrailing that have not finished. */
  private readonly trailing = new Set<Promise<void>>();
  /** True while the queue's consumer is inside `handle` (letOthersThrough acts only then). */
  private handling = false;
  /** Remote events taken from the queue during a backfill; handled, in order, right after it. */
  private readonly held: Array<Extract<PortalItem, { kind: 'remote' }>> = [];

  constructor(readonly bridge: Bridge, public row: PortalRow) {
    this.log = bridge.log.child({ portal: row.id, receiver: row.receiver || undefined });
    this.queue = new OrderedQueue<PortalItem>(bridge.config.bridge.portal_queue_size, (item) => this.handle(item), (item, err) => {
      this.log.error({ err, kind: item.kind }, 'portal event handler failed');
    });
  }

  get key(): PortalKey {
    return { id: this.row.id, receiver: this.row.receiver } as PortalKey;
  }

  get roomId(): string | null {
    return this.row.mxid;
  }

  get isDm(): boolean {
    return this.row.roomType === 'dm';
  }

  async update(patch: Partial<PortalRow>): Promise<void> {
    this.row = { ...this.row, ...patch };
    await this.bridge.db.portals.update(this.key, patch);
  }

  /**
   * Starts `send` beside the queue rather than in it, for work the next event need not wait for
   * (a message's success status: another homeserver round trip, which held each Matrix message
   * of the portal behind the previous one's). Resolves once it has started; waits first, for the
   * oldest to finish, while `portal_queue_size` are already in flight. Failures are only logged.
   */
  async sendTrailing(send: () => Promise<void>): Promise<void> {
    while (this.trailing.size >= this.bridge.config.bridge.portal_queue_size) await Promise.race(this.trailing);
    const p: Promise<void> = send()
      .catch((err: unknown) => this.log.debug({ err }, 'trailing send failed'))
      .finally(() => this.trailing.delete(p));
    this.trailing.add(p);
  }

  /** Resolves when the queue is idle and every trailing send has finished. */
  async settled(): Promise<void> {
    await this.queue.idle();
    while (this.trailing.size) await Promise.all(this.trailing);
  }

  /** Runs a function inside the portal's queue, after everything queued before it. */
  runInQueue<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      void this.queue.push({ kind: 'task', run: () => fn().then(resolve, reject) });
    });
  }

  /**
   * Retries `fn` while the homeserver is unreachable or failing (connection refused, 5xx), holding
   * the queue: a remote event is only done once it reached Matrix, so a homeserver restart loses
   * nothing. The sends are idempotent (dedup by remote id, transaction ids from remote ids).
   */
  private async waitOutHomeserverOutage(fn: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const outage = err instanceof MatrixApiError && (err.status === 0 || err.status >= 500);
        if (!outage || attempt >= 40 || this.bridge.intake.stopped) throw err;
        this.log.warn({ err: err.message, attempt }, 'homeserver unavailable; retrying the remote event');
        await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  /**
   * For a long handler (a backfill): handles, inline, the Matrix events that queued up behind it
   * meanwhile. Without this they filled the queue (the Matrix echo of every backfilled message comes
   * back through the intake), and a full queue stalls whoever pushes: the intake's dispatch loop
   * for every room, and the connector's event chain for every chat of the login.
   * Remote events of this chat are taken but held, in order, until the handler has finished (the
   * backfilled history must come first); once `portal_queue_size` are held, or a task is next,
   * the rest waits as before. Call only from inside this portal's queue.
   */
  async letOthersThrough(): Promise<void> {
    if (!this.handling) return;
    for (let next = this.queue.peek(); next; next = this.queue.peek()) {
      if (next.kind === 'task') return;
      if (next.kind === 'remote') {
        if (this.held.length >= this.bridge.config.bridge.portal_queue_size) return;
        this.held.push(next);
        this.queue.take();
        continue;
      }
      this.queue.take();
      await this.handleItem(next).catch((err: unknown) => this.log.error({ err, kind: next!.kind }, 'portal event handler failed'));
    }
  }

  private async handle(item: PortalItem): Promise<void> {
    this.handling = true;
    try {
      await this.handleItem(item);
    } finally {
      // Remote events held back during a backfill in that item, before anything queued after them.
      for (let held = this.held.shift(); held; held = this.held.shift()) {
        await this.handleItem(held).catch((err: unknown) => this.log.error({ err, kind: 'remote' }, 'portal event handler failed'));
      }
      this.handling = false;
    }
  }

  private async handleItem(item: PortalItem): Promise<void> {
    switch (item.kind) {
      case 'remote':
        if (this.deleted) {
          // Queued before the portal was deleted: it belongs to the portal that replaces this one.
          const queued = await this.bridge.queueRemoteEvent(item.login, item.evt);
          void queued.handled.finally(() => item.done?.());
          return;
        }
        try {
          await this.waitOutHomeserverOutage(() => handleRemoteEvent(this, item.login, item.evt));
          if (item.evt.type !== 'message') this.bridge.metrics?.eventBridged('remote_to_matrix', item.evt.type);
        } catch (err) {
          this.bridge.metrics?.failed('remote_to_matrix', err instanceof MatrixApiError ? `http_${err.status}` : 'error');
          throw err;
        } finally {
          item.done?.();
        }
        return;
      case 'matrix':
        try {
          await handlePortalMatrixEvent(this, item.event);
        } finally {
          await item.done();
        }
        return;
      case 'ephemeral':
        return handleMatrixEphemeral(this, item.event);
      case 'task':
        return item.run();
    }
  }
}
