/**
 * A bounded FIFO worked by exactly one consumer: the portal's ordering guarantee. `push` waits while
 * the queue is full (backpressure) instead of dropping, so a fast network can only slow down, never
 * lose or reorder.
 */
export class OrderedQueue<T> {
  private readonly items: T[] = [];
  /** Pushes waiting for room, in call order; each is admitted, in order, as the consumer takes an item. */
  private readonly waitingPushers: Array<{ item: T; admit: () => void }> = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly capacity: number,
    private readonly handle: (item: T) => Promise<void>,
    private readonly onError: (item: T, err: unknown) => void,
  ) {}

  get length(): number {
    return this.items.length;
  }

  async push(item: T): Promise<void> {
    // A fresh push never overtakes one that is already waiting, so order is call order.
    if ((this.items.length >= this.capacity || this.waitingPushers.length > 0) && !this.stopped) {
      await new Promise<void>((resolve) => this.waitingPushers.push({ item, admit: resolve }));
      return;
    }
    this.items.push(item);
    if (!this.running) void this.run();
  }

  /** Moves the oldest waiting push into the queue (synchronously, so nothing can slip in between). */
  private admitOne(): void {
    const w = this.waitingPushers.shift();
    if (!w) return;
    this.items.push(w.item);
    w.admit();
    if (!this.running) void this.run();
  }

  /** The oldest queued item, left in place. */
  peek(): T | undefined {
    return this.items[0];
  }

  /**
   * Removes and returns the oldest queued item, for a handler that works through what queued up
   * behind it while it runs (Portal.letOthersThrough); the caller then owns handling it.
   */
  take(): T | undefined {
    const item = this.items.shift();
    if (item !== undefined) this.admitOne();
    return item;
  }

  /** Resolves when every item queued so far has been handled. */
  async idle(): Promise<void> {
    if (!this.running && this.items.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    while (this.waitingPushers.length) this.admitOne();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.items.length > 0) {
        const item = this.items.shift() as T;
        this.admitOne();
        try {
          await this.handle(item);
        } catch (err) {
          this.onError(item, err);
        }
      }
    } finally {
      this.running = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
