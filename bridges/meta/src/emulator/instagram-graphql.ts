/**
 * The emulator's `/api/graphql` (Instagram flavour): the documents Tributary's client calls (see
 * instagram/graphql.ts for the facts). The inbox query answers the first page of threads, each with
 * its last message (instagram-threadlist.ts, which also answers later pages), and the sandbox's newest event seq as `iris_inactive_subscription_uq_seq_id` (the seq_id to
 * stream from); the thread query one thread with its last 20 messages; the text send sends on the
 * sandbox with the otid as client_txn_id (a resend is deduplicated) and answers the message id; the
 * reaction sets (or, with status `deleted` or no emoji, removes) the account's one reaction; edit
 * and unsend act on the account's own messages, edits within Meta's limits (tasks.ts). Mark read,
 * the message list, media sends, rename and group creation: instagram-graphql-threads.ts.
 * Refusals are GraphQL `errors` (ours: the message texts); a bad fb_dtsg is refused like a
 * missing session.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SandboxClient } from '@tributary/sandbox/client/index';
import { IG_GRAPHQL_DOCS, IG_GRAPHQL_FIELD, type IGGraphQLDoc } from '../instagram/graphql.js';
import { EmulatorTaskError, OTID_TXN_PREFIX, messageIdOf, sandboxMessageId } from './ids.js';
import { slideThread } from './instagram-slides.js';
import { INBOX_PAGE, igThreadListPage, threadPage } from './instagram-threadlist.js';
import { EDIT_WINDOW_MS, MAX_EDITS } from './tasks.js';
import {
  igAcceptRequest, igCreateGroup, igHideThread, igMarkRead, igMarkReadValidation, igMediaSend, igMessageList, igRename, type IGThreadOpsContext,
} from './instagram-graphql-threads.js';
import type { MediaRegistry } from './media.js';
import type { RequestFolders } from './requests.js';
import type { RowContext } from './rows.js';
import { connectOnce, type AccountSession } from './sessions.js';

const DOC_BY_ID = new Map<string, IGGraphQLDoc>(Object.entries(IG_GRAPHQL_DOCS).map(([name, id]) => [id, name as IGGraphQLDoc]));
const MAX_FORM_BYTES = 1024 * 1024;
const THREAD_MESSAGES = 20;

export interface IGGraphQLDeps {
  sandboxUrl: string;
  rows(session: AccountSession): RowContext;
  media: MediaRegistry;
  requests?: RequestFolders;
  now: () => number;
}

type Handler = (session: AccountSession, ctx: RowContext, vars: Record<string, unknown>, deps: IGGraphQLDeps) => Promise<unknown>;

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The sandbox's newest event seq for this account (a short second connection learns it). */
async function headSeq(session: AccountSession, sandboxUrl: string): Promise<number> {
  const probe = new SandboxClient({ url: sandboxUrl, token: session.token, reconnect: { minMs: 3_600_000, maxMs: 3_600_000 } });
  const got: { head?: number } = {};
  probe.on('connected', (info) => (got.head = info.head_seq));
  try {
    await connectOnce(probe);
  } finally {
    await probe.close().catch(() => undefined);
  }
  return got.head ?? 0;
}

async function inbox(session: AccountSession, ctx: RowContext, sandboxUrl: string, requests?: RequestFolders): Promise<unknown> {
  // The seq first: whatever happens after it is streamed, so nothing falls between the two.
  const head = await headSeq(session, sandboxUrl);
  return { id: `mailbox.${ctx.dir.selfUserId}`, iris_inactive_subscription_uq_seq_id: String(head), threads_by_folder: await threadPage(session, ctx, undefined, INBOX_PAGE, requests) };
}

async function threadDetail(session: AccountSession, ctx: RowContext, vars: Record<string, unknown>): Promise<unknown> {
  const threadId = typeof vars.thread_fbid === 'string' ? vars.thread_fbid : '';
  const chatId = await ctx.dir.chatId(threadId);
  const chat = await session.client.getChat(chatId);
  const { messages } = await session.client.getMessages(chatId, { limit: THREAD_MESSAGES });
  const thread = await slideThread(chat, ctx, messages, messages.at(-1)?.ts);
  return { id: thread.id, as_ig_direct_thread: thread };
}

async function sendText(session: AccountSession, ctx: RowContext, vars: Record<string, unknown>): Promise<unknown> {
  const threadId = typeof vars.ig_thread_igid === 'string' ? vars.ig_thread_igid : '';
  const otid = typeof vars.offline_threading_id === 'string' && /^\d{1,19}$/.test(vars.offline_threading_id) ? vars.offline_threading_id : undefined;
  const text = (vars.text as { sensitive_string_value?: unknown } | undefined)?.sensitive_string_value;
  if (!otid || typeof text !== 'string' || !text) throw new EmulatorTaskError('bad_request', 'a text send needs offline_threading_id and text');
  const chatId = await ctx.dir.chatId(threadId);
  if (ctx.isEncrypted(chatId)) throw new EmulatorTaskError('unsupported', 'the thread is end-to-end encrypted');
  const entities = [];
  for (const m of Array.isArray(vars.mentions) ? (vars.mentions as Array<Record<string, unknown>>) : []) {
    const account = await ctx.dir.accountOfUserId(String(m.fbid));
    entities.push({ type: 'mention' as const, offset: Number(m.offset), length: Number(m.length), userId: account.id });
  }
  const replyTo = typeof vars.reply_to_message_id === 'string' ? sandboxMessageId(vars.reply_to_message_id) : undefined;
  const sent = await session.client.send(chatId, { kind: 'text', text, entities }, { clientTxnId: `${OTID_TXN_PREFIX}${otid}`, ...(replyTo ? { replyTo } : {}) });
  return { message_id: messageIdOf(sent.id), timestamp_ms: String(sent.ts), id: messageIdOf(sent.id) };
}

async function react(session: AccountSession, ctx: RowContext, vars: Record<string, unknown>): Promise<unknown> {
  const input = (vars.input ?? {}) as Record<string, unknown>;
  const id = typeof input.message_id === 'string' ? sandboxMessageId(input.message_id) : undefined;
  if (!id) throw new EmulatorTaskError('not_found', 'no such message');
  const emoji = typeof input.emoji === 'string' ? input.emoji : '';
  if (ctx.isEncrypted(id.slice(0, id.lastIndexOf('/')))) throw new EmulatorTaskError('unsupported', 'the thread is end-to-end encrypted');
  const msg = input.reaction_status === 'deleted' || emoji === '' ? await session.client.unreact(id) : await session.client.react(id, emoji);
  const reactions = [];
  for (const r of msg.reactions) reactions.push({ reaction: r.emoji, sender_fbid: await ctx.dir.userId(r.user_id), reaction_timestamp_ms: String(r.ts) });
  return { id: messageIdOf(id), reactions };
}

/** An own message a mutation names, in a chat that is not end-to-end encrypted. */
async function ownMessage(ctx: RowContext, messageId: unknown) {
  const id = typeof messageId === 'string' ? sandboxMessageId(messageId) : undefined;
  const msg = id ? await ctx.dir.message(id) : undefined;
  if (!msg) throw new EmulatorTaskError('not_found', 'no such message');
  if (ctx.isEncrypted(msg.chat_id)) throw new EmulatorTaskError('unsupported', 'the thread is end-to-end encrypted');
  if (msg.sender !== ctx.dir.self.id) throw new EmulatorTaskError('forbidden', 'only the sender can change a message');
  return msg;
}

/** The edit limits are Meta's, as on the LightSpeed path (tasks.ts). */
async function edit(session: AccountSession, ctx: RowContext, vars: Record<string, unknown>, now: number): Promise<unknown> {
  const msg = await ownMessage(ctx, vars.target_message_id);
  const text = (vars.body as { sensitive_string_value?: unknown } | undefined)?.sensitive_string_value;
  if (typeof text !== 'string' || !text) throw new EmulatorTaskError('bad_request', 'an edit needs body.sensitive_string_value');
  if (now - msg.ts > EDIT_WINDOW_MS) throw new EmulatorTaskError('edit-window-passed', 'messages can only be edited within 15 minutes of sending');
  if (msg.edit_count >= MAX_EDITS) throw new EmulatorTaskError('edit-limit-reached', `a message can be edited at most ${MAX_EDITS} times`);
  const edited = await session.client.edit(msg.id, { kind: 'text', text, entities: [] });
  return { message_id: messageIdOf(edited.id), timestamp_ms: String(edited.ts), id: messageIdOf(edited.id) };
}

async function unsend(session: AccountSession, ctx: RowContext, vars: Record<string, unknown>): Promise<unknown> {
  const msg = await ownMessage(ctx, vars.message_id);
  await session.client.delete(msg.id);
  return true;
}

const threadOp = (op: (vars: Record<string, unknown>, c: IGThreadOpsContext) => Promise<unknown>): Handler =>
  (session, rows, vars, deps) => op(vars, { session, rows, media: deps.media, ...(deps.requests ? { requests: deps.requests } : {}) });

const HANDLERS: Record<IGGraphQLDoc, Handler> = {
  PolarisDirectInboxQuery: (session, ctx, _vars, deps) => inbox(session, ctx, deps.sandboxUrl, deps.requests),
  IGDThreadDetailQuery: threadDetail,
  IGDirectTextSendMutation: sendText,
  IGDirectReactionSendMutation: react,
  IGDirectEditMessageMutation: (session, ctx, vars, deps) => edit(session, ctx, vars, deps.now()),
  IGDMessageUnsendDialogOffMsysMutation: unsend,
  useIGDMarkThreadAsReadMutation: threadOp(igMarkRead),
  useIGDMarkThreadAsReadValidationMutation: threadOp(igMarkReadValidation),
  IGDMessageListOffMsysQuery: threadOp(igMessageList),
  IGDirectMediaSendMutation: threadOp(igMediaSend),
  IGDEditThreadNameDialogOffMsysMutation: threadOp(igRename),
  useCreateOpenGroupThreadOffMsysMutation: threadOp(igCreateGroup),
  IGDThreadListOffMsysPaginationQuery: (session, ctx, vars, deps) => igThreadListPage(session, ctx, vars, deps.requests),
  useIGDirectAcceptMessageRequestMutation: threadOp(igAcceptRequest),
  IGDInboxInfoDeleteThreadDialogOffMsysMutation: threadOp(igHideThread),
};

/** Answers one POST /api/graphql (the session already checked by the caller). */
export async function handleInstagramGraphQL(req: IncomingMessage, res: ServerResponse, session: AccountSession, deps: IGGraphQLDeps): Promise<void> {
  const form = await readForm(req);
  if (!form) return answer(res, 413, { errors: [{ message: 'request too large' }] });
  if (form.get('fb_dtsg') !== session.fbDtsg) return answer(res, 401, { errors: [{ message: 'invalid fb_dtsg' }] });
  const doc = DOC_BY_ID.get(form.get('doc_id') ?? '');
  if (!doc) return answer(res, 200, { errors: [{ message: `unknown doc_id ${form.get('doc_id') ?? ''}` }] });
  let vars: Record<string, unknown>;
  try {
    vars = JSON.parse(form.get('variables') ?? '{}') as Record<string, unknown>;
  } catch {
    return answer(res, 200, { errors: [{ message: 'variables are not JSON' }] });
  }
  const ctx = deps.rows(session);
  try {
    const value = await HANDLERS[doc](session, ctx, vars, deps);
    const field = IG_GRAPHQL_FIELD[doc];
    answer(res, 200, { data: field === null ? value : { [field]: value } });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    answer(res, 200, { errors: [{ message: (err as Error).message, ...(typeof code === 'string' ? { code } : {}) }] });
  }
}
