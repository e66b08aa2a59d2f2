/**
 * The emulator's answers to the GraphQL documents that replaced Instagram's remaining LightSpeed
 * tasks (variables and answer keys: instagram/graphql-threads.ts), on the sandbox:
 * - mark read marks the named message read (it must be in the named thread) and answers the
 *   account's read receipt; the validation answers whether id and time name the same message;
 * - the message list answers up to `first` messages (at most 100), newest first, older than
 *   `older_than_message_id` or the cursor `after`; the cursor is the page's oldest message id (ours);
 * - a media send sends one uploaded attachment (the otid is the client_txn_id, so a resend is
 *   deduplicated) and answers the message id;
 * - rename sets the group's name (the answer's key is ours: the real one is not known);
 * - creating a group makes a sandbox group with the named members (named after them, as the
 *   LightSpeed task does) and answers its thread key as `id`;
 * - accepting a message request moves it to the inbox (answer: `folder` and `system_folder`
 *   INBOX, ours); hiding one declines it until the stranger writes again (requests.ts). Either
 *   refuses a thread that is not a request.
 * Deleted messages are left out of pages; an end-to-end encrypted thread lists no messages and
 * refuses the rest.
 */
import type { WireMessage } from '@tributary/sandbox/client/index';
import { EmulatorTaskError, OTID_TXN_PREFIX, messageIdOf, sandboxMessageId } from './ids.js';
import { slideMessage } from './instagram-slides.js';
import type { MediaRegistry } from './media.js';
import type { RequestFolders } from './requests.js';
import type { RowContext } from './rows.js';
import type { AccountSession } from './sessions.js';

type Vars = Record<string, unknown>;
const MAX_PAGE = 100;

export interface IGThreadOpsContext {
  session: AccountSession;
  rows: RowContext;
  media: MediaRegistry;
  requests?: RequestFolders;
}

const obj = (v: unknown): Vars => (v && typeof v === 'object' && !Array.isArray(v) ? v as Vars : {});
const idOf = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !/^\d{1,20}$/.test(v)) throw new EmulatorTaskError('bad_request', `${what} is not an id`);
  return v;
};

/** The sandbox chat of a thread id, refusing encrypted threads. */
async function plainChat(threadId: unknown, what: string, c: IGThreadOpsContext): Promise<string> {
  const chat = await c.rows.dir.chatId(idOf(threadId, what));
  if (c.rows.isEncrypted(chat)) throw new EmulatorTaskError('unsupported', 'the thread is end-to-end encrypted');
  return chat;
}

/** A message of `chat` that the account can see. */
async function messageIn(chat: string, messageId: unknown, c: IGThreadOpsContext): Promise<WireMessage> {
  const id = typeof messageId === 'string' ? sandboxMessageId(messageId) : undefined;
  const msg = id ? await c.rows.dir.message(id) : undefined;
  if (!msg || msg.chat_id !== chat || msg.deleted) throw new EmulatorTaskError('not_found', 'no such message in the thread');
  return msg;
}

export async function igMarkRead(vars: Vars, c: IGThreadOpsContext): Promise<unknown> {
  const chat = await plainChat(obj(vars.metadata).ig_thread_igid, 'metadata.ig_thread_igid', c);
  const msg = await messageIn(chat, obj(vars.data).message_id, c);
  await c.session.client.markRead(chat, msg.id);
  return { participant_fbid: c.rows.dir.selfUserId, watermark_timestamp_ms: String(msg.ts) };
}

export async function igMarkReadValidation(vars: Vars, c: IGThreadOpsContext): Promise<unknown> {
  const chat = await plainChat(obj(vars.metadata).ig_thread_igid, 'metadata.ig_thread_igid', c);
  const data = obj(vars.data);
  const msg = await messageIn(chat, data.message_id, c);
  return String(msg.ts) === String(data.message_timestamp_ms);
}

export async function igMessageList(vars: Vars, c: IGThreadOpsContext): Promise<unknown> {
  const threadId = idOf(vars.id, 'id');
  const chat = await c.rows.dir.chatId(threadId);
  // An encrypted thread's messages are not Instagram's to list (as its slide thread has none): an empty page.
  if (c.rows.isEncrypted(chat)) return { id: threadId, as_ig_direct_thread: { id: threadId, slide_messages: { edges: [], page_info: { has_next_page: false } } } };
  const first = Number(vars.first ?? 20);
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw new EmulatorTaskError('bad_request', `first must be 1 to ${MAX_PAGE}`);
  const from = typeof vars.older_than_message_id === 'string' ? vars.older_than_message_id : typeof vars.after === 'string' ? vars.after : undefined;
  // A cursor may name a message deleted since: only its thread must match.
  const before = from !== undefined ? sandboxMessageId(from) : undefined;
  if (from !== undefined && (!before || (await c.rows.dir.message(before))?.chat_id !== chat)) throw new EmulatorTaskError('not_found', 'no such message in the thread');
  const page = await c.session.client.getMessages(chat, { limit: first, ...(before ? { before } : {}) });
  const edges = [];
  for (const m of [...page.messages].reverse()) if (!m.deleted) edges.push({ node: await slideMessage(m, c.rows) });
  const oldest = page.messages[0];
  const pageInfo = { has_next_page: page.has_more, ...(oldest ? { end_cursor: messageIdOf(oldest.id) } : {}) };
  return { id: threadId, as_ig_direct_thread: { id: threadId, slide_messages: { edges, page_info: pageInfo } } };
}

export async function igMediaSend(vars: Vars, c: IGThreadOpsContext): Promise<unknown> {
  const chat = await plainChat(vars.thread_id, 'thread_id', c);
  const otid = idOf(vars.offline_threading_id, 'offline_threading_id');
  const m = c.media.get(idOf(vars.attachment_fbid, 'attachment_fbid'));
  if (!m) throw new EmulatorTaskError('not_found', 'no uploaded attachment with that id');
  const replyTo = typeof vars.reply_to_message_id === 'string' ? sandboxMessageId(vars.reply_to_message_id) : undefined;
  const sent = await c.session.client.send(chat, { kind: m.kind, media_id: m.mediaId, mimetype: m.mimetype, size: m.size, filename: m.filename }, {
    clientTxnId: `${OTID_TXN_PREFIX}${otid}`, ...(replyTo ? { replyTo } : {}),
  });
  return { message_id: messageIdOf(sent.id), timestamp_ms: String(sent.ts), id: messageIdOf(sent.id) };
}

export async function igRename(vars: Vars, c: IGThreadOpsContext): Promise<unknown> {
  const chat = await c.rows.dir.chatId(idOf(vars.thread_fbid, 'thread_fbid'));
  if (typeof vars.new_title !== 'string') throw new EmulatorTaskError('bad_request', 'new_title is not a string');
  if (!chat.startsWith('g:')) throw new EmulatorTaskError('bad_request', 'only a group can be renamed');
  const updated = await c.session.client.setChatName(chat, vars.new_title);
  return { tributary_thread_name: updated.name };
}

export async function igCreateGroup(vars: Vars, c: IGThreadOpsContext): Promise<unknown> {
  const ids = Array.isArray(vars.recipient_eimu_fbids) ? vars.recipient_eimu_fbids.map((x) => idOf(x, 'recipient_eimu_fbids')) : [];
  if (!ids.length) throw new EmulatorTaskError('bad_request', 'a group needs recipient_eimu_fbids');
  idOf(vars.offline_threading_id, 'offline_threading_id');
  const accounts = [];
  for (const id of ids) accounts.push(await c.rows.dir.accountOfUserId(id));
  const self = c.rows.dir.self.id;
  const name = accounts.map((a) => a.name).join(', ').slice(0, 100) || 'Group';
  const chat = await c.session.client.createGroup(name, accounts.filter((a) => a.id !== self).map((a) => a.id));
  const threadKey = await c.rows.dir.threadKey(chat);
  return { id: threadKey, as_ig_direct_thread: { id: threadKey, thread_key: threadKey, thread_subtype: 'IGD_GROUP' } };
}

/** The request chat a request mutation names (thread_fbid), refusing any other thread. */
async function requestChat(vars: Vars, c: IGThreadOpsContext): Promise<{ chat: string; requests: RequestFolders }> {
  const threadId = idOf(vars.thread_fbid, 'thread_fbid');
  const chatId = await c.rows.dir.chatId(threadId);
  const chat = (await c.session.client.getChats()).find((x) => x.id === chatId);
  const self = c.rows.dir.self.id;
  if (!chat || !c.requests?.isRequest(chat, self) || c.requests.isHidden(chatId, self)) throw new EmulatorTaskError('bad_request', 'the thread is not a message request');
  return { chat: chatId, requests: c.requests };
}

export async function igAcceptRequest(vars: Vars, c: IGThreadOpsContext): Promise<unknown> {
  idOf(vars.offline_threading_id, 'offline_threading_id');
  const { chat, requests } = await requestChat(vars, c);
  requests.accept(chat, c.rows.dir.self.id);
  return { id: vars.thread_fbid, folder: 'INBOX', system_folder: 'INBOX' };
}

export async function igHideThread(vars: Vars, c: IGThreadOpsContext): Promise<unknown> {
  const { chat, requests } = await requestChat(vars, c);
  requests.decline(chat, c.rows.dir.self.id);
  return { id: vars.thread_fbid };
}
