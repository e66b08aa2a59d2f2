/**
 * LightSpeed tasks on the sandbox network: each task becomes wire ops as the account, and its
 * outcome rows (or a `taskFailed`) go into the response program. Meta's own limits apply on top
 * of the sandbox's: an edit only within 15 minutes of sending and at most 5 times (facts), one
 * reaction per person per message (the sandbox already keeps one).
 */
import { isSandboxClientError, type MessageContent, type TextEntity, type WireMessage } from '@tributary/sandbox/client/index';
import { LSProgramBuilder } from '../lightspeed/builder.js';
import { TASK_LABELS } from '../lightspeed/tasks.js';
import { EmulatorTaskError, OTID_TXN_PREFIX, idField, messageIdOf, parseJSONExact, sandboxMessageId } from './ids.js';
import type { MediaRegistry } from './media.js';
import type { RequestFolders } from './requests.js';
import { addContact, addMessage, addThread, type RowContext } from './rows.js';
import { dmShape } from './sync-requests.js';

export const EDIT_WINDOW_MS = 15 * 60_000;
export const MAX_EDITS = 5;
const FETCH_PAGE = 20;

export interface TaskContext extends RowContext {
  media: MediaRegistry;
  now: () => number;
  /** Message requests (Messenger flavour), see requests.ts. */
  requests?: RequestFolders;
  /** The connection that declined a request forgets having listed it. */
  onDeclined?(chatId: string): void;
  /** Why this flavour refuses a task it no longer takes over LightSpeed (instagram-moved.ts). */
  refuse?(name: string, payload: Payload): string | undefined;
}

export interface IncomingTask {
  label: string;
  payload: string;
  taskId: string;
}

type Payload = Record<string, unknown>;
type Handler = (p: Payload, b: LSProgramBuilder, ctx: TaskContext) => Promise<void>;

const LABEL_NAMES = new Map<string, string>(Object.entries(TASK_LABELS).map(([name, label]) => [label, name]));

const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw new EmulatorTaskError('bad_request', `${what} is not a string`);
  return v;
};

function messageArg(v: unknown): string {
  const id = typeof v === 'string' ? sandboxMessageId(v) : undefined;
  if (!id) throw new EmulatorTaskError('not_found', 'no such message');
  return id;
}

async function ownMessage(id: string, ctx: TaskContext): Promise<WireMessage> {
  const msg = await ctx.dir.message(id);
  if (!msg) throw new EmulatorTaskError('not_found', 'no such message');
  return msg;
}

/** Mentions (`mention_data`, comma lists) as sandbox mention entities. */
async function mentionEntities(p: Payload, ctx: TaskContext): Promise<TextEntity[]> {
  const md = p.mention_data as Record<string, unknown> | undefined;
  if (!md) return [];
  const ids = String(md.mention_ids ?? '').split(',').filter(Boolean);
  const offsets = String(md.mention_offsets ?? '').split(',').map(Number);
  const lengths = String(md.mention_lengths ?? '').split(',').map(Number);
  const out: TextEntity[] = [];
  for (let i = 0; i < ids.length; i++) {
    const account = await ctx.dir.accountOfUserId(ids[i]!);
    out.push({ type: 'mention', offset: offsets[i] ?? 0, length: lengths[i] ?? 1, userId: account.id });
  }
  return out;
}

/** The sandbox chat of a thread that LightSpeed may carry messages for (an encrypted one it may not). */
async function lightspeedChat(threadKey: string, ctx: TaskContext): Promise<string> {
  const chat = await ctx.dir.chatId(threadKey);
  if (ctx.isEncrypted(chat)) throw new EmulatorTaskError('unsupported', 'the thread is end-to-end encrypted; its messages do not travel over LightSpeed');
  return chat;
}

/** Accepts a request of this account and puts its thread row (now in the inbox) in the response. */
async function acceptRequest(chatId: string, b: LSProgramBuilder, ctx: TaskContext): Promise<void> {
  ctx.requests?.accept(chatId, ctx.dir.self.id);
  const chat = (await ctx.dir.client.getChats()).find((c) => c.id === chatId);
  if (!chat) throw new EmulatorTaskError('not_found', 'no such thread');
  await addThread(b, chat, ctx);
}

function isRequest(chatId: string, ctx: TaskContext): boolean {
  const shape = dmShape(chatId);
  return !!shape && !!ctx.requests?.isRequest(shape, ctx.dir.self.id);
}

const handlers: Record<string, Handler> = {
  async sendMessage(p, b, ctx) {
    const threadKey = idField(p.thread_id, 'thread_id');
    const chat = await lightspeedChat(threadKey, ctx);
    // Answering a message request accepts it (Messenger's behaviour).
    if (isRequest(chat, ctx)) await acceptRequest(chat, b, ctx);
    const otid = idField(p.otid, 'otid');
    const replyId = (p.reply_metadata as Payload | undefined)?.reply_source_id;
    const replyTo = typeof replyId === 'string' ? sandboxMessageId(replyId) : undefined;
    const text = typeof p.text === 'string' ? p.text : undefined;
    const entities = text !== undefined ? await mentionEntities(p, ctx) : [];
    const contents: MessageContent[] = [];
    const fbids = Array.isArray(p.attachment_fbids) ? p.attachment_fbids.map((f) => idField(f, 'attachment_fbids')) : [];
    for (const [i, fbid] of fbids.entries()) {
      const m = ctx.media.get(fbid);
      if (!m) throw new EmulatorTaskError('not_found', `no uploaded attachment ${fbid}`);
      contents.push({
        kind: m.kind, media_id: m.mediaId, mimetype: m.mimetype, size: m.size, filename: m.filename,
        ...(i === 0 && text ? { caption: { text, entities } } : {}),
      });
    }
    if (p.sticker_id !== undefined && p.sticker_id !== null) {
      const sticker = idField(p.sticker_id, 'sticker_id');
      contents.push({ kind: 'extension', network: 'messenger', payload: { sticker_id: sticker }, fallback: 'Sticker' });
    }
    if (!contents.length) {
      if (text === undefined) throw new EmulatorTaskError('bad_request', 'nothing to send');
      contents.push({ kind: 'text', text, entities });
    }
    for (const [i, content] of contents.entries()) {
      const txn = `${OTID_TXN_PREFIX}${otid}${i === 0 ? '' : `:${i}`}`;
      const sent = await ctx.dir.client.send(chat, content, { clientTxnId: txn, ...(replyTo && i === 0 ? { replyTo } : {}) });
      await addMessage(b, sent, ctx, threadKey);
    }
  },

  async sendReaction(p, b, ctx) {
    const id = messageArg(p.message_id);
    const reaction = str(p.reaction, 'reaction');
    const threadKey = idField(p.thread_key, 'thread_key');
    const actorId = ctx.dir.selfUserId;
    if (reaction === '') {
      await ctx.dir.client.unreact(id);
      b.call('LSDeleteReaction', { threadKey, messageId: messageIdOf(id), actorId });
    } else {
      await ctx.dir.client.react(id, reaction);
      b.call('LSUpsertReaction', { threadKey, messageId: messageIdOf(id), actorId, reaction, timestampMs: ctx.now() });
    }
  },

  async deleteMessage(p, b, ctx) {
    const id = messageArg(p.message_id);
    const msg = await ctx.dir.client.delete(id);
    b.call('LSDeleteMessage', { threadKey: await ctx.dir.threadKey({ id: msg.chat_id, type: msg.chat_id.startsWith('g:') ? 'group' : 'dm' }), messageId: messageIdOf(id) });
  },

  async editMessage(p, b, ctx) {
    const id = messageArg(p.message_id);
    const text = str(p.text, 'text');
    const msg = await ownMessage(id, ctx);
    if (msg.sender !== ctx.dir.self.id) throw new EmulatorTaskError('forbidden', 'only the sender can edit a message');
    if (ctx.now() - msg.ts > EDIT_WINDOW_MS) throw new EmulatorTaskError('edit-window-passed', 'messages can only be edited within 15 minutes of sending');
    if (msg.edit_count >= MAX_EDITS) throw new EmulatorTaskError('edit-limit-reached', `a message can be edited at most ${MAX_EDITS} times`);
    const edited = await ctx.dir.client.edit(id, { kind: 'text', text, entities: [] });
    b.call('LSEditMessage', { messageId: messageIdOf(id), text, editCount: edited.edit_count });
  },

  async threadMarkRead(p, b, ctx) {
    const threadKey = idField(p.thread_id, 'thread_id');
    const watermark = Number(p.last_read_watermark_ts);
    const chat = await lightspeedChat(threadKey, ctx);
    const { messages } = await ctx.dir.client.getMessages(chat, { limit: 500 });
    const last = [...messages].reverse().find((m) => m.ts <= watermark);
    if (last) await ctx.dir.client.markRead(chat, last.id);
    b.call('LSUpdateReadReceipt', { threadKey, contactId: ctx.dir.selfUserId, readWatermarkTimestampMs: last?.ts ?? 0, readActionTimestampMs: ctx.now() });
  },

  async updatePresence(p, _b, ctx) {
    const chat = await lightspeedChat(idField(p.thread_key, 'thread_key'), ctx);
    await ctx.dir.client.typing(chat, p.is_typing === 1 || p.is_typing === true);
  },

  async fetchThreads(p, b, ctx) {
    const chats = await ctx.dir.client.getChats();
    const members = new Set<string>();
    for (const chat of chats) {
      for (const m of chat.members) members.add(m.user_id);
      await addThread(b, chat, ctx);
    }
    for (const id of members) await addContact(b, await ctx.dir.account(id), ctx);
    b.call('LSUpsertSyncGroupThreadsRange', { syncGroup: Number(p.sync_group ?? 1), parentThreadKey: idField(p.parent_thread_key ?? -1, 'parent_thread_key'), hasMoreBefore: false, isLoadingBefore: false });
  },

  async fetchMessages(p, b, ctx) {
    const threadKey = idField(p.thread_key, 'thread_key');
    const chat = await ctx.dir.chatId(threadKey);
    const ref = typeof p.reference_message_id === 'string' ? sandboxMessageId(p.reference_message_id) : undefined;
    const refTs = Number(p.reference_timestamp_ms);
    const page = ref
      ? await ctx.dir.client.getMessages(chat, { before: ref, limit: FETCH_PAGE })
      : await ctx.dir.client.getMessages(chat, { limit: 500 });
    const messages = ref ? page.messages : page.messages.filter((m) => m.ts < refTs).slice(-FETCH_PAGE);
    for (const msg of messages) await addMessage(b, msg, ctx, threadKey);
  },

  async createThread(p, b, ctx) {
    const account = await ctx.dir.accountOfUserId(idField(p.thread_fbid, 'thread_fbid'));
    const chat = await ctx.dir.client.createDm(account.id);
    await addThread(b, chat, ctx);
  },

  async createGroup(p, b, ctx) {
    const ids = Array.isArray(p.participants) ? p.participants.map((x) => idField(x, 'participants')) : [];
    const accounts = [];
    for (const id of ids) accounts.push(await ctx.dir.accountOfUserId(id));
    // Meta groups may be unnamed; the sandbox needs a name: the members' names stand in.
    const name = accounts.map((a) => a.name).join(', ').slice(0, 100) || 'Group';
    const chat = await ctx.dir.client.createGroup(name, accounts.filter((a) => a.id !== ctx.dir.self.id).map((a) => a.id));
    await addThread(b, chat, ctx);
  },

  async addParticipants(p, b, ctx) {
    const chat = await ctx.dir.chatId(idField(p.thread_key, 'thread_key'));
    const ids = Array.isArray(p.contact_ids) ? p.contact_ids.map((x) => idField(x, 'contact_ids')) : [];
    let updated;
    for (const id of ids) updated = await ctx.dir.client.invite(chat, (await ctx.dir.accountOfUserId(id)).id);
    if (updated) await addThread(b, updated, ctx);
  },

  async removeParticipant(p, b, ctx) {
    const threadKey = idField(p.thread_id, 'thread_id');
    const chat = await ctx.dir.chatId(threadKey);
    const userId = idField(p.contact_id, 'contact_id');
    const account = await ctx.dir.accountOfUserId(userId);
    if (account.id === ctx.dir.self.id) await ctx.dir.client.leave(chat);
    else await ctx.dir.client.kick(chat, account.id);
    b.call('LSRemoveParticipantFromThread', { threadKey, participantId: userId });
  },

  async renameThread(p, b, ctx) {
    const threadKey = idField(p.thread_key, 'thread_key');
    const chat = await ctx.dir.client.setChatName(await ctx.dir.chatId(threadKey), str(p.thread_name, 'thread_name'));
    b.call('LSSyncUpdateThreadName', { threadKey, ...(chat.name !== null ? { threadName: chat.name } : {}) });
  },

  async acceptMessageRequest(p, b, ctx) {
    const chat = await ctx.dir.chatId(idField(p.thread_key, 'thread_key'));
    if (!isRequest(chat, ctx)) throw new EmulatorTaskError('bad_request', 'the thread is not a message request');
    await acceptRequest(chat, b, ctx);
  },

  async deleteThread(p, _b, ctx) {
    const chat = await ctx.dir.chatId(idField(p.thread_key, 'thread_key'));
    // Deleting any other thread is not emulated (the sandbox cannot hide a chat from one member).
    if (!isRequest(chat, ctx)) throw new EmulatorTaskError('unsupported', 'the emulator deletes only message requests');
    ctx.requests!.decline(chat, ctx.dir.self.id);
    ctx.onDeclined?.(chat);
  },

  async setThreadImage(p, b, ctx) {
    const threadKey = idField(p.thread_key, 'thread_key');
    const m = ctx.media.get(idField(p.image_id, 'image_id'));
    if (!m) throw new EmulatorTaskError('not_found', 'no uploaded image with that id');
    await ctx.dir.client.setChatAvatar(await ctx.dir.chatId(threadKey), m.mediaId);
    b.call('LSSetThreadImageURL', { threadKey, imageUrl: ctx.mediaUrl(m.mediaId), isCustomThreadPicture: true });
  },
};

/** Runs tasks in order; each ends with `removeTask` (done) or `taskFailed` (refused). */
export async function runTasks(tasks: readonly IncomingTask[], ctx: TaskContext): Promise<LSProgramBuilder> {
  const b = new LSProgramBuilder();
  for (const task of tasks) {
    try {
      const name = LABEL_NAMES.get(task.label);
      const handler = name ? handlers[name] : undefined;
      if (!handler) throw new EmulatorTaskError('unsupported', `task label ${task.label} is not emulated`);
      let payload: unknown;
      try {
        payload = parseJSONExact(task.payload);
      } catch {
        throw new EmulatorTaskError('bad_request', 'task payload is not JSON');
      }
      if (!payload || typeof payload !== 'object') throw new EmulatorTaskError('bad_request', 'task payload is not an object');
      const refusal = ctx.refuse?.(name!, payload as Payload);
      if (refusal) throw new EmulatorTaskError('not-on-lightspeed', refusal);
      await handler(payload as Payload, b, ctx);
      b.call('LSRemoveTask', { taskId: task.taskId });
    } catch (err) {
      const code = err instanceof EmulatorTaskError ? err.code : isSandboxClientError(err) ? err.code : 'internal';
      b.call('LSTaskFailed', { taskId: task.taskId, code, message: (err as Error).message });
    }
  }
  return b;
}
