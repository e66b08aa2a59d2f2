/**
 * The emulator's side of Instagram's database 223 stream (see instagram/sync-request.ts for the
 * facts). seq_id is the sandbox event seq (ours, as the mailbox cursor is on Messenger): the init
 * payload's seq_id starts a sandbox feed from there; when the sandbox can resume it, the stream
 * answers `subscribe` (subscribed and latest seq ids) and then one delta frame per event after it,
 * replayed and live, each delta carrying the event's seq as uq_seq_id. seq_id 0, a seq_id beyond
 * the sandbox's newest event, or one older than the events it keeps gets a `resnapshot` (error type
 * 1, ours) instead, and the client starts again from the inbox query. A lost sandbox feed closes
 * the connection with 4002, as on Messenger.
 */
import type { Logger } from '@tributary/core/logging';
import { SandboxClient, type WireEvent } from '@tributary/sandbox/client/index';
import type { InstagramError } from '../instagram/errors.js';
import type { LSOperation } from '../instagram/ls-response.js';
import { IG_SYNC_DATABASE, encodeSyncFrame, parseSyncInit } from '../instagram/sync-request.js';
import { cutoverDelta, deltaBatch, folderDelta, slideDeltas } from './instagram-slides.js';
import { chatOfEvent, type RequestFolders } from './requests.js';
import type { RowContext } from './rows.js';
import { connectOnce, type AccountSession } from './sessions.js';

/** The slide delta group id (ours: the research gives none). */
export const IG_GROUP_ID = 1;
/** OnResnapshot.errorType the emulator sends (ours). */
export const RESNAPSHOT_SEQ_UNKNOWN = 1;

export interface IGSyncDeps {
  session: AccountSession;
  sandboxUrl: string;
  rows: RowContext;
  log: Logger;
  /** Writes one data frame on the stream. */
  send(payload: Uint8Array): void;
  /** Drops the whole gateway connection (the client reconnects). */
  kill(code: number): void;
  /** Message requests: a declined one's events are not streamed until the stranger writes again. */
  requests?: RequestFolders;
}

export class InstagramSyncStream {
  readonly #deps: IGSyncDeps;
  #feed: SandboxClient | undefined;
  #requestId = 0;
  #seq = 0;
  #live = false;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  #started = false;

  constructor(deps: IGSyncDeps) {
    this.#deps = deps;
  }

  /** The first data frame is the init payload; later ones are ignored (the client sends none). */
  onData(payload: Uint8Array): void {
    if (this.#started) return;
    this.#started = true;
    this.#start(payload).catch((err: unknown) => {
      this.#deps.log.warn({ err: (err as Error).message }, 'emulator: the Instagram sync stream failed; closing the connection');
      this.#deps.kill(4002);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopFeed();
  }

  #stopFeed(): void {
    const feed = this.#feed;
    this.#feed = undefined;
    feed?.removeAllListeners();
    void feed?.close().catch(() => undefined);
  }

  /** Pushes the cutover delta of a chat that became end-to-end encrypted (ours). */
  cutover(chatId: string): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#closed || !this.#live) return;
      this.#frame([{ op: 'delta', groupId: IG_GROUP_ID, delta: deltaBatch([await cutoverDelta(chatId, this.#seq, this.#deps.rows)]) }]);
    });
  }

  #frame(operations: LSOperation[]): void {
    if (!this.#closed) this.#deps.send(encodeSyncFrame(this.#requestId, { operations }));
  }

  async #start(payload: Uint8Array): Promise<void> {
    let init;
    try {
      init = parseSyncInit(payload);
    } catch (err) {
      this.#frame([{ op: 'failure', groupId: IG_GROUP_ID, errorMessage: (err as InstagramError).message }]);
      return;
    }
    this.#requestId = init.requestId;
    if (init.database !== IG_SYNC_DATABASE) {
      this.#frame([{ op: 'failure', groupId: IG_GROUP_ID, errorMessage: `database ${init.database} is not served on this stream` }]);
      return;
    }
    const since = BigInt(init.seqId);
    if (since === 0n || since > BigInt(Number.MAX_SAFE_INTEGER)) return this.#resnapshot('no usable seq_id');
    const feed = new SandboxClient({ url: this.#deps.sandboxUrl, token: this.#deps.session.token, since: Number(since), reconnect: { minMs: 3_600_000, maxMs: 3_600_000 } });
    this.#feed = feed;
    let info: { head_seq: number; resumed: boolean; replayed: number } | undefined;
    const early: Array<[WireEvent, number]> = [];
    feed.on('connected', (i) => (info = i));
    feed.on('event', (event, seq) => {
      if (this.#live) this.#enqueue(event, seq);
      else early.push([event, seq]);
    });
    await connectOnce(feed);
    if (this.#closed) return;
    feed.on('disconnected', () => {
      if (!this.#closed) this.#deps.kill(4002);
    });
    if (!info || !info.resumed || Number(since) > info.head_seq) {
      this.#stopFeed();
      return this.#resnapshot(!info?.resumed ? 'seq_id is older than the kept events' : 'seq_id is unknown');
    }
    this.#seq = Number(since);
    this.#frame([{ op: 'subscribe', groupId: IG_GROUP_ID, subscribedSeqId: since, latestSeqId: BigInt(info.head_seq) }]);
    this.#live = true;
    for (const [event, seq] of early.splice(0)) this.#enqueue(event, seq);
  }

  #resnapshot(why: string): void {
    this.#deps.log.debug({ why }, 'emulator: Instagram resnapshot');
    this.#frame([{ op: 'resnapshot', groupId: IG_GROUP_ID, errorType: RESNAPSHOT_SEQ_UNKNOWN, errorMessage: why }]);
  }

  #enqueue(event: WireEvent, seq: number): void {
    if (seq <= this.#seq) return;
    this.#chain = this.#chain.then(async () => {
      if (this.#closed) return;
      let deltas: Array<Record<string, unknown>> = [];
      const requests = this.#deps.requests;
      const self = this.#deps.session.account.id;
      const chat = chatOfEvent(event);
      // A declined request comes back with the stranger's next message: its folder moves first.
      const back = requests?.noteEvent(event, self) === true;
      try {
        if (chat && requests?.isHidden(chat, self)) deltas = [];
        else deltas = [...(back && chat ? [await folderDelta(chat, 'PENDING', seq, this.#deps.rows)] : []), ...await slideDeltas(event, seq, this.#deps.rows)];
      } catch (err) {
        this.#deps.log.warn({ err: (err as Error).message, type: event.type }, 'emulator: event could not be translated to a slide delta');
      }
      this.#seq = Math.max(this.#seq, seq);
      if (deltas.length) this.#frame([{ op: 'delta', groupId: IG_GROUP_ID, delta: deltaBatch(deltas) }]);
    });
  }
}
