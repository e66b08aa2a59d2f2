/**
 * Instagram's own protocol, as MetaClient uses it for the `instagram` platform: the database 223
 * receive path (ig-sync.ts) and the sends that leave LightSpeed (ig-send.ts). MetaClient calls
 * `prepare()` before each dial (for the main stream), `connected()` once connected, `trySend()`
 * for each single task, and `close()` when it stops.
 */
import type { Logger } from '@tributary/core/logging';
import type { MetaHttpSession } from '../client/http-session.js';
import type { MetaTaskResult } from '../client/types.js';
import type { DGWTimings } from '../dgw/timers.js';
import type { LSTables } from '../lightspeed/tables.js';
import type { LSTask } from '../lightspeed/tasks.js';
import type { MetaPageConfig } from '../page-config.js';
import { InstagramSender } from './ig-send.js';
import { InstagramSync } from './ig-sync.js';
import { IG_SYNC_DATABASE } from './sync-request.js';

export { IG_SYNC_DATABASE };

export interface InstagramPathHost {
  http: MetaHttpSession;
  log: Logger;
  timings: Partial<DGWTimings> | undefined;
  /** The stored seq_id (cursor of database 223), if any. */
  cursor: string | null;
  page(): MetaPageConfig;
  emitTables(tables: LSTables): void;
  setCursor(seqId: string | null): void;
  /** Closes the main socket so that the client reconnects. */
  restart(reason: string): void;
}

export class InstagramPath {
  readonly #sync: InstagramSync;
  readonly #send: InstagramSender;

  constructor(host: InstagramPathHost) {
    const sync = new InstagramSync(host, host.cursor);
    this.#sync = sync;
    this.#send = new InstagramSender({ ...host, threadOf: (id) => sync.threadOf(id), remember: (id, thread) => sync.remember(id, thread) });
  }

  get seqId(): string | null {
    return this.#sync.seqId;
  }

  prepare(page: MetaPageConfig): ReturnType<InstagramSync['prepare']> {
    return this.#sync.prepare(page);
  }

  connected(): void {
    this.#sync.ready();
    this.#send.startTyping();
  }

  trySend(task: LSTask): Promise<MetaTaskResult | undefined> {
    return this.#send.trySend(task);
  }

  close(): void {
    this.#sync.end();
    this.#send.close();
  }
}
