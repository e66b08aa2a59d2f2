/**
 * Instagram's receive path for MetaClient: the database 223 stream with seq_id bookkeeping.
 *
 * - Without a stored seq_id, the inbox GraphQL query gives the threads (with their last message)
 *   and the seq_id to stream from (`iris_inactive_subscription_uq_seq_id`, fact), as instameow does;
 *   threads beyond its page come from the pagination query.
 * - The stream is the main stream of the `/ws/lightspeed` socket (sync-request.ts). Its frames wait
 *   until the client says it is connected, then run in order: `delta` batches become LightSpeed
 *   rows (slide-tables.ts) and events; the seq_id moves to the highest uq_seq_id of the batch and is
 *   announced as the cursor of database 223 (before the events, as the mailbox cursor is).
 * - `resnapshot` clears the seq_id and reconnects, which starts again from the inbox query;
 *   `failure` reconnects with the seq_id kept (facts: instameow's handling of both).
 * - A delta for a thread this session has not seen fetches that thread first (IGDThreadDetailQuery),
 *   so a new chat arrives with its members (ours: instameow's bridge does the same lazily); so
 *   does an admins delta, whose list says who is admin but not who stopped being one, and (first)
 *   a folder move (`SlideUQPPUpdateThreadFolder`), whose thread then says its folder.
 */
import type { Logger } from '@tributary/core/logging';
import type { MetaHttpSession } from '../client/http-session.js';
import type { LSTables } from '../lightspeed/tables.js';
import type { MetaPageConfig } from '../page-config.js';
import { InstagramError } from './errors.js';
import { igGraphQL, inboxVariables, threadVariables } from './graphql.js';
import type { LSOperation } from './ls-response.js';
import { parseSlideDeltaBatch } from './slide.js';
import { IG_MAX_THREAD_PAGES, IG_THREAD_PAGE, parseThreadPage, threadListVariables } from './graphql-threads.js';
import { parseSlideThread, tablesFromDeltas, tablesFromThreads, type SlideThread } from './slide-tables.js';
import { buildSyncInit, decodeSyncFrame, IG_SYNC_DATABASE } from './sync-request.js';

export { IG_SYNC_DATABASE };

export interface IGSyncHost {
  http: MetaHttpSession;
  log: Logger;
  /** Announces rows as events (MetaClient's eventsFromTables). */
  emitTables(tables: LSTables): void;
  /** Stores and announces the seq_id (the cursor of database 223); null after a resnapshot. */
  setCursor(seqId: string | null): void;
  /** Drops the socket and reconnects (after a resnapshot or a sync failure). */
  restart(reason: string): void;
}

/** One socket's worth of the stream: frames wait for `ready()` and stop at `end()`. */
interface StreamRun {
  ready: Promise<void>;
  release: () => void;
  ended: boolean;
}

/** How many message ids `threadOf` remembers (ours): edits and unsends name only the message. */
const MESSAGE_INDEX_SIZE = 10_000;

export class InstagramSync {
  readonly #host: IGSyncHost;
  /** Recently seen messages: their thread, and how often they have been edited. */
  readonly #messages = new Map<string, { thread: string; edits: number }>();
  #seqId: string | null;
  #seqAtMs = 0;
  /** The inbox snapshot's seq_id, applied (and announced) only once the snapshot has been handed on. */
  #snapshotSeq: string | undefined;
  #retries = -1;
  readonly #known = new Set<string>();
  #run: StreamRun | undefined;
  #page: MetaPageConfig | undefined;

  constructor(host: IGSyncHost, storedSeqId: string | null) {
    this.#host = host;
    this.#seqId = storedSeqId !== null && /^\d{1,19}$/.test(storedSeqId) && storedSeqId !== '0' ? storedSeqId : null;
  }

  get seqId(): string | null {
    return this.#seqId;
  }

  /** The thread of a message this session has seen (snapshot, deltas, fetched threads, sends). */
  threadOf(messageId: string): string | undefined {
    return this.#messages.get(messageId)?.thread;
  }

  remember(messageId: string, threadId: string, edits?: number): void {
    const known = this.#messages.get(messageId);
    this.#messages.delete(messageId);
    this.#messages.set(messageId, { thread: threadId, edits: edits ?? known?.edits ?? 0 });
    if (this.#messages.size > MESSAGE_INDEX_SIZE) this.#messages.delete(this.#messages.keys().next().value!);
  }

  /** Announces rows, remembering the thread of each message in them. */
  #emit(tables: LSTables): void {
    for (const m of tables.LSInsertMessage ?? []) this.remember(m.messageId, m.threadKey, m.editCount);
    // A slide edit carries no count (only the new entry), but LightSpeed's edit row does, and the
    // core uses it to recognise the echo of an edit it sent: count the edits of messages we know.
    if (tables.LSEditMessage?.length) {
      tables = {
        ...tables,
        LSEditMessage: tables.LSEditMessage.map((e) => {
          const known = this.#messages.get(e.messageId);
          return known ? { ...e, editCount: ++known.edits } : e;
        }),
      };
    }
    this.#host.emitTables(tables);
  }

  /**
   * Before dialing: the inbox snapshot when there is no seq_id. Returns the rows to announce once
   * connected, and the stream's init for this attempt.
   */
  async prepare(page: MetaPageConfig): Promise<{ snapshot: LSTables | undefined; mainStream: { parameters: string; initPayload: Uint8Array; onData(payload: Uint8Array): Promise<void> } }> {
    this.#page = page;
    this.#retries++;
    let snapshot: LSTables | undefined;
    if (this.#seqId === null) {
      const mailbox = await igGraphQL(this.#host.http, page, 'PolarisDirectInboxQuery', inboxVariables(page.deviceId)) as Record<string, unknown> | null;
      const seq = String(mailbox?.iris_inactive_subscription_uq_seq_id ?? '');
      if (!/^\d{1,19}$/.test(seq)) throw new InstagramError('bad-slide', 'the inbox has no iris_inactive_subscription_uq_seq_id');
      let list = parseThreadPage(mailbox);
      const threads: SlideThread[] = [...list.threads];
      // Threads beyond the inbox's page: the pagination query, as instameow's chat sync (bounded: ours).
      for (let i = 0; list.hasNextPage && list.endCursor && i < IG_MAX_THREAD_PAGES; i++) {
        const vars = threadListVariables({ viewerId: page.accountId, cursor: list.endCursor, count: IG_THREAD_PAGE });
        list = parseThreadPage(await igGraphQL(this.#host.http, page, 'IGDThreadListOffMsysPaginationQuery', vars));
        threads.push(...list.threads);
      }
      for (const t of threads) this.#known.add(t.threadId);
      snapshot = tablesFromThreads(threads, page.accountId);
      for (const m of snapshot.LSInsertMessage ?? []) this.remember(m.messageId, m.threadKey);
      this.#snapshotSeq = seq;
    }
    this.#run?.release();
    if (this.#run) this.#run.ended = true;
    let release: () => void = () => undefined;
    const run: StreamRun = { ready: new Promise<void>((r) => (release = r)), release: () => release(), ended: false };
    this.#run = run;
    const seqId = this.#snapshotSeq ?? this.#seqId ?? '0';
    const snapshotAtMs = this.#snapshotSeq !== undefined ? Date.now() : this.#seqAtMs;
    const initPayload = buildSyncInit({ appId: page.dgwAppId, deviceId: page.deviceId, seqId, snapshotAtMs, retries: this.#retries });
    return { snapshot, mainStream: { parameters: '', initPayload, onData: (payload) => this.#onFrame(run, payload) } };
  }

  /**
   * The client is connected and has handed the snapshot on: its seq_id becomes the cursor (never
   * before, so a saved cursor cannot skip a snapshot that was lost), and frames held so far run.
   */
  ready(): void {
    if (this.#snapshotSeq !== undefined) this.#setSeq(this.#snapshotSeq);
    this.#snapshotSeq = undefined;
    this.#run?.release();
  }

  /** The socket is gone: frames still queued are dropped. */
  end(): void {
    if (!this.#run) return;
    this.#run.ended = true;
    this.#run.release();
  }

  #setSeq(seqId: string | null): void {
    if (this.#seqId === seqId) return;
    this.#seqId = seqId;
    this.#seqAtMs = seqId === null ? 0 : Date.now();
    this.#host.setCursor(seqId);
  }

  async #onFrame(run: StreamRun, payload: Uint8Array): Promise<void> {
    await run.ready;
    if (run.ended) return;
    let operations: LSOperation[];
    try {
      operations = decodeSyncFrame(payload).response.operations;
    } catch (err) {
      this.#host.log.warn({ code: (err as InstagramError).code }, 'an Instagram sync frame could not be read; reconnecting');
      run.ended = true;
      this.#host.restart('unreadable sync frame');
      return;
    }
    for (const op of operations) {
      if (run.ended) return;
      switch (op.op) {
        case 'subscribe':
          this.#host.log.debug({ subscribed: op.subscribedSeqId?.toString(), latest: op.latestSeqId?.toString() }, 'instagram sync subscribed');
          break;
        case 'delta':
          await this.#onDelta(op.delta);
          break;
        case 'resnapshot':
          this.#host.log.info({ errorType: op.errorType }, 'instagram sync asks for a resnapshot; starting again from the inbox');
          run.ended = true;
          this.#known.clear();
          this.#setSeq(null);
          this.#host.restart('resnapshot required');
          return;
        case 'failure':
          this.#host.log.warn({ groupId: op.groupId }, 'instagram sync failed; reconnecting');
          run.ended = true;
          this.#host.restart('sync failure');
          return;
        case 'noop':
          break;
      }
    }
  }

  async #onDelta(json: string): Promise<void> {
    let deltas;
    try {
      deltas = parseSlideDeltaBatch(json);
    } catch (err) {
      // One unreadable batch is skipped (and logged), like an unreadable LightSpeed push.
      this.#host.log.warn({ code: (err as InstagramError).code, err: (err as Error).message }, 'a slide delta batch could not be read; skipped');
      return;
    }
    // A folder move (a request accepted, or a declined one back) refetches the thread first too:
    // its rows carry the folder, which the connector needs before the thread's messages.
    const moved = new Set(deltas.filter((d) => d.kind === 'folder').map((d) => d.threadId));
    for (const threadId of new Set(deltas.map((d) => d.threadId))) {
      if (!threadId || (this.#known.has(threadId) && !moved.has(threadId))) continue;
      this.#known.add(threadId);
      await this.#fetchThread(threadId);
    }
    let seq = this.#seqId;
    for (const d of deltas) if (seq === null || BigInt(d.seqId) > BigInt(seq)) seq = d.seqId;
    // The rows first, then the seq_id that covers them (see ready()).
    this.#emit(tablesFromDeltas(deltas, this.#page?.accountId ?? '', Date.now()));
    if (seq !== null) this.#setSeq(seq);
    // An admins delta lists who is admin now (fact), not who stopped being one: the thread says.
    for (const threadId of new Set(deltas.filter((d) => d.kind === 'admins').map((d) => d.threadId))) await this.#fetchThread(threadId);
  }

  async #fetchThread(threadId: string): Promise<void> {
    const page = this.#page;
    if (!page) return;
    try {
      const value = await igGraphQL(this.#host.http, page, 'IGDThreadDetailQuery', threadVariables(threadId)) as { as_ig_direct_thread?: unknown } | null;
      // Its messages are left out: the delta that named the thread brings what is new.
      const thread = { ...parseSlideThread(value?.as_ig_direct_thread), messages: [] };
      this.#emit(tablesFromThreads([thread], page.accountId));
    } catch (err) {
      this.#host.log.warn({ code: (err as InstagramError).code }, 'an Instagram thread could not be fetched');
    }
  }
}
