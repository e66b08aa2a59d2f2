/**
 * Database 95 (message requests) on the emulated gateway: the sync response (request threads, their
 * messages after the cursor, the strangers' contact rows) and which sandbox events belong to a
 * request rather than to the mailbox. The cursor is the time of the newest request message sent
 * (ours: the research names the database, not its cursor); a sync with a cursor replays every
 * request message after it, so a client that reconnects loses nothing.
 */
import type { WireEvent } from '@tributary/sandbox/client/index';
import type { LSProgramBuilder } from '../lightspeed/builder.js';
import { chatOfEvent, type RequestFolders } from './requests.js';
import { addContact, addMessage, addThread, type RowContext } from './rows.js';
import type { AccountSession } from './sessions.js';

const MAX_REPLAY = 500;

export interface RequestSyncInput {
  session: AccountSession;
  rows: RowContext;
  requests: RequestFolders;
  /** The client's cursor; without one only each thread's last message is sent (as the mailbox snapshot). */
  since: number | undefined;
  /** Collects the request chats listed. */
  listed?: Set<string>;
}

/** Adds the rows of a database-95 sync and returns the new cursor. */
export async function syncRequests(b: LSProgramBuilder, input: RequestSyncInput): Promise<number> {
  const { session, rows, requests, since } = input;
  const self = session.account.id;
  let next = since ?? 0;
  for (const chat of await session.client.getChats()) {
    if (!requests.isRequest(chat, self) || requests.isHidden(chat.id, self)) continue;
    const { messages } = await session.client.getMessages(chat.id, { limit: since === undefined ? 1 : MAX_REPLAY });
    const threadKey = await addThread(b, chat, rows, messages.at(-1)?.ts ?? chat.created_at);
    input.listed?.add(chat.id);
    for (const m of chat.members) if (m.user_id !== self) await addContact(b, await session.dir.account(m.user_id), rows);
    for (const m of messages) {
      if (since === undefined || m.ts > since) await addMessage(b, m, rows, threadKey);
      next = Math.max(next, m.ts);
    }
  }
  return next;
}

/** The members of a DM, from its id (`dm:<a>:<b>`, facts of the sandbox); undefined for a group. */
export function dmShape(chatId: string): { id: string; type: 'dm'; members: Array<{ user_id: string }> } | undefined {
  const m = /^dm:([^:]+):([^:]+)$/.exec(chatId);
  return m ? { id: chatId, type: 'dm', members: [{ user_id: m[1]! }, { user_id: m[2]! }] } : undefined;
}

/**
 * Whether an event belongs to a request of `self` ('request'), to a request `self` declined
 * ('hidden'), or to the mailbox (undefined).
 */
export function requestStateOf(event: WireEvent, requests: RequestFolders, self: string): 'request' | 'hidden' | undefined {
  const chatId = chatOfEvent(event);
  if (chatId === undefined) return undefined;
  if (requests.isHidden(chatId, self)) return 'hidden';
  const chat = 'chat' in event ? event.chat : dmShape(chatId);
  return chat && requests.isRequest(chat, self) ? 'request' : undefined;
}
