/**
 * The emulator's Instagram thread list: the inbox query's first page and
 * `IGDThreadListOffMsysPaginationQuery`'s later ones (keys are facts: threads_by_folder with edges
 * of `{node: {id, as_ig_direct_thread}, cursor}` and page_info; the paging is ours): threads newest
 * activity first, at most `INBOX_PAGE` on the inbox's page and `count` (at most 100) on later
 * ones, the cursor being the last listed thread's id.
 */
import { EmulatorTaskError } from './ids.js';
import { slideThread } from './instagram-slides.js';
import type { RequestFolders } from './requests.js';
import type { RowContext } from './rows.js';
import type { AccountSession } from './sessions.js';

/** Threads on the inbox query's page (ours; the web asks for more with the pagination query). */
export const INBOX_PAGE = 20;
const MAX_COUNT = 100;

/**
 * One page of inbox threads, each with its last message, after the thread named by `after`.
 * Message requests and declined requests are not in the inbox (requests.ts).
 */
export async function threadPage(session: AccountSession, ctx: RowContext, after: string | undefined, count: number, requests?: RequestFolders): Promise<unknown> {
  const listed = [];
  const self = session.account.id;
  for (const chat of await session.client.getChats()) {
    if (requests && (requests.isRequest(chat, self) || requests.isHidden(chat.id, self))) continue;
    const { messages } = await session.client.getMessages(chat.id, { limit: 1 });
    listed.push({ chat, messages, activity: messages.at(-1)?.ts ?? chat.created_at, key: await ctx.dir.threadKey(chat) });
  }
  listed.sort((a, b) => b.activity - a.activity || a.key.localeCompare(b.key));
  const start = after === undefined ? 0 : listed.findIndex((t) => t.key === after) + 1;
  if (after !== undefined && start === 0) throw new EmulatorTaskError('not_found', 'the cursor names no listed thread');
  const page = listed.slice(start, start + count);
  const edges = [];
  for (const t of page) {
    const thread = await slideThread(t.chat, ctx, t.messages, t.activity);
    edges.push({ node: { id: t.key, as_ig_direct_thread: thread }, cursor: t.key });
  }
  const more = start + count < listed.length;
  return { edges, page_info: { has_next_page: more, ...(page.length ? { end_cursor: page.at(-1)!.key } : {}) } };
}

/** IGDThreadListOffMsysPaginationQuery: `cursor`, `count`, `folder` INBOX, `id` the viewer. */
export async function igThreadListPage(session: AccountSession, ctx: RowContext, vars: Record<string, unknown>, requests?: RequestFolders): Promise<unknown> {
  if (vars.folder !== undefined && vars.folder !== 'INBOX') throw new EmulatorTaskError('unsupported', 'the emulator lists only the INBOX folder');
  if (String(vars.id) !== ctx.dir.selfUserId) throw new EmulatorTaskError('forbidden', 'id is not the viewer');
  const count = Number(vars.count ?? INBOX_PAGE);
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) throw new EmulatorTaskError('bad_request', `count must be 1 to ${MAX_COUNT}`);
  const cursor = typeof vars.cursor === 'string' && vars.cursor !== '' ? vars.cursor : undefined;
  return { id: `mailbox.${ctx.dir.selfUserId}`, threads_by_folder: await threadPage(session, ctx, cursor, count, requests) };
}
