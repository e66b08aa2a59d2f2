/**
 * Group commit for SQLite. Every commit in WAL mode with `synchronous = FULL` waits for an fsync,
 * and the bridge runs on one connection, so many small transactions (one per bridged message, one
 * per portal) queue up behind each other's fsyncs. Here the transactions that arrive while a
 * commit is in progress wait together and then run one after another inside ONE database
 * transaction, each in its own savepoint, and share a single COMMIT.
 *
 * What each caller sees is unchanged: its function's writes are atomic (a throw rolls back its
 * savepoint only, and only it gets the error), and its promise settles only after the shared
 * COMMIT, so a resolved write is as durable as before. If the COMMIT itself fails, every caller in
 * the batch gets that error. Jobs must use only the transaction handle they are given (as with any
 * transaction on a single-connection database).
 *
 * A "plain" job (one statement, or statements whose partial application is harmless) runs without
 * a savepoint, and alone it runs without a transaction at all (autocommit): on the path of a single
 * portal, where nothing else commits, the savepoints and BEGIN/COMMIT round trips cost more than
 * the shared fsync saves.
 */
import type { Knex } from 'knex';

interface Job<Tx> {
  fn: (tx: Tx) => Promise<unknown>;
  /** Needs no savepoint: one statement, or several whose partial application is harmless. */
  plain: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

export interface GroupCommitStats {
  /** Database transactions committed. */
  commits: number;
  /** Jobs run in them. */
  jobs: number;
}

export class GroupCommit<Tx> {
  private queue: Array<Job<Tx>> = [];
  private running = false;
  readonly stats: GroupCommitStats = { commits: 0, jobs: 0 };
  /**
   * Called as each batch is formed, before it is taken from the queue: a writer that is in no
   * hurry (done marks) can `run` its pending writes now and ride along in this commit.
   */
  private readonly batchHooks: Array<() => void> = [];

  /**
   * @param begin opens a database transaction and runs the callback in it (knex.transaction).
   * @param wrap gives the job-facing handle for a transaction.
   * @param nest runs a job in a savepoint of that handle (a nested transaction).
   * @param direct the handle a plain job gets when it runs alone, outside a transaction.
   * @param maxBatch caps the jobs sharing one commit, so an early job is not held for long.
   */
  constructor(
    private readonly begin: (cb: (trx: Knex.Transaction) => Promise<void>) => Promise<void>,
    private readonly wrap: (trx: Knex.Transaction) => Tx,
    private readonly nest: (tx: Tx, fn: (tx: Tx) => Promise<unknown>) => Promise<unknown>,
    private readonly direct: Tx,
    private readonly maxBatch = 200,
  ) {}

  /**
   * Runs `fn` in a (shared) transaction; settles once that transaction has committed. `plain`:
   * see the class comment.
   */
  run<T>(fn: (tx: Tx) => Promise<T>, plain = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, plain, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) void this.drain();
    });
  }

  onBatch(hook: () => void): void {
    this.batchHooks.push(hook);
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        for (const hook of this.batchHooks) hook();
        await this.commitBatch(this.queue.splice(0, this.maxBatch));
      }
    } finally {
      this.running = false;
    }
  }

  private async commitBatch(batch: Array<Job<Tx>>): Promise<void> {
    const outcomes: Outcome[] = [];
    if (batch.length === 1 && batch[0]!.plain) {
      const job = batch[0]!;
      try {
        const value = await job.fn(this.direct);
        this.stats.commits++;
        this.stats.jobs++;
        job.resolve(value);
      } catch (err) {
        job.reject(err);
      }
      return;
    }
    try {
      await this.begin(async (trx) => {
        const tx = this.wrap(trx);
        if (batch.length === 1) {
          // Alone: no savepoint needed, a throw rolls the whole transaction back.
          outcomes.push({ ok: true, value: await batch[0]!.fn(tx) });
          return;
        }
        for (const job of batch) {
          try {
            outcomes.push({ ok: true, value: await (job.plain ? job.fn(tx) : this.nest(tx, job.fn)) });
          } catch (err) {
            outcomes.push({ ok: false, err });
          }
        }
      });
    } catch (err) {
      // The job that ran alone threw, or BEGIN / COMMIT failed: nothing of the batch is stored.
      for (const job of batch) job.reject(err);
      return;
    }
    this.stats.commits++;
    this.stats.jobs += batch.length;
    batch.forEach((job, i) => {
      const o = outcomes[i]!;
      if (o.ok) job.resolve(o.value);
      else job.reject(o.err);
    });
  }
}
