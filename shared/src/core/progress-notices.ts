/**
 * Progress notices edited in place (one set per login): the first notice for a key is sent to the
 * owner's management room, later ones for the same key edit it (m.replace with m.new_content), so a
 * long task reports progress without flooding the room.
 *
 * The event of each key is remembered in memory only. Losing it on a restart costs nothing but a
 * fresh notice, and a table for it would outlive the tasks it is about.
 */
import type { Database } from '../db/database.js';
import type { MatrixApi } from '../matrix/matrix-api.js';

export interface ProgressNoticeDeps {
  api: Pick<MatrixApi, 'sendEvent'>;
  db: Pick<Database, 'users'>;
  botMxid: string;
}

interface SentNotice {
  roomId: string;
  eventId: string;
}

/** Keys are short labels chosen by connectors; more than this per login means a leak, not progress. */
const MAX_KEYS = 256;

function txnId(kind: string): string {
  return `${kind}.${Date.now()}.${Math.random().toString(36).slice(2)}`;
}

export class ProgressNotices {
  private readonly sent = new Map<string, SentNotice>();
  /** Notices of one login go out one at a time, so a second call never races the first send. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ProgressNoticeDeps, private readonly userMxid: string) {}

  /** Sends or edits the notice for `key`; resolves once the homeserver has it (rejects on failure). */
  post(key: string, text: string): Promise<void> {
    const run = this.chain.then(() => this.send(key, text));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async send(key: string, text: string): Promise<void> {
    const user = await this.deps.db.users.get(this.userMxid);
    const roomId = user?.managementRoom;
    if (!roomId) return;
    const notice = { msgtype: 'm.notice', body: text };
    const previous = this.sent.get(key);
    const asUser = this.deps.botMxid;
    if (previous && previous.roomId === roomId) {
      // An edit: clients that do not understand m.replace show the "* " fallback body.
      await this.deps.api.sendEvent(roomId, 'm.room.message', {
        ...notice, body: `* ${text}`,
        'm.new_content': notice,
        'm.relates_to': { rel_type: 'm.replace', event_id: previous.eventId },
      }, { asUser, txnId: txnId('pe') });
      return;
    }
    // First notice for this key, or the management room moved since: a new notice.
    const eventId = await this.deps.api.sendEvent(roomId, 'm.room.message', notice, { asUser, txnId: txnId('pn') });
    this.sent.delete(key);
    this.sent.set(key, { roomId, eventId });
    if (this.sent.size > MAX_KEYS) this.sent.delete(this.sent.keys().next().value as string);
  }
}
