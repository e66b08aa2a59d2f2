/**
 * LightSpeed task builders: typed, validated inputs to `{label, queueName, payload}`. The labels,
 * queue names and payload fields are the protocol's (facts); the input shapes are ours. Ids are
 * accepted as decimal strings, bigints or safe integers and written as JSON int64.
 *
 * Typing is not a queued task: it is label 3 ("UpdatePresence") sent as a stateless type-4
 * request; `typingTask` builds its payload and requests.ts wraps it.
 */
import { z } from 'zod';
import { LSRequestError } from './ids.js';

export const TASK_LABELS = {
  updatePresence: '3',
  threadMarkRead: '21',
  addParticipants: '23',
  sendReaction: '29',
  renameThread: '32',
  deleteMessage: '33',
  setThreadImage: '37',
  sendMessage: '46',
  acceptMessageRequest: '66',
  createGroup: '130',
  removeParticipant: '140',
  fetchThreads: '145',
  deleteThread: '146',
  createThread: '209',
  fetchMessages: '228',
  editMessage: '742',
} as const;

export type TaskName = keyof typeof TASK_LABELS;

export interface LSTask {
  name: TaskName;
  label: (typeof TASK_LABELS)[TaskName];
  /** Tasks sharing a queue run in order on Meta's side; empty for stateless tasks. */
  queueName: string;
  payload: Record<string, unknown>;
}

/** ThreadSourceType "MESSENGER_INBOX_IN_THREAD" (fact), the source a browser sends from a thread. */
export const SOURCE_INBOX_IN_THREAD = 65537;
/** InitiatingSource "FACEBOOK_INBOX" (fact). */
const INITIATING_SOURCE_INBOX = 1;
export const SEND_TYPE = { text: 1, sticker: 2, media: 3, forward: 5, externalMedia: 7 } as const;

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

const i64 = z
  .union([z.string().regex(/^-?\d{1,19}$/, 'must be a decimal integer'), z.bigint(), z.number().int().refine(Number.isSafeInteger, 'must be a safe integer')])
  .transform((v, ctx) => {
    const big = BigInt(v);
    if (big < I64_MIN || big > I64_MAX) {
      ctx.addIssue({ code: 'custom', message: 'must fit in 64 bits' });
      return z.NEVER;
    }
    return big;
  });
const messageId = z.string().min(1).max(256);
const text = z.string().max(100_000);
const syncGroup = z.number().int().nonnegative().default(1);
const timestamp = z.number().int().nonnegative();

function parse<S extends z.ZodType>(schema: S, input: unknown, task: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const where = first?.path.length ? first.path.join('.') : 'input';
  // Issue messages describe the rule, never the value.
  throw new LSRequestError('invalid-input', `${task}: ${where} ${first?.message ?? 'is invalid'}`);
}

const task = (name: TaskName, queueName: string, payload: Record<string, unknown>): LSTask => ({ name, label: TASK_LABELS[name], queueName, payload });

const mentionSchema = z.object({
  userId: i64,
  offset: z.number().int().nonnegative(),
  length: z.number().int().positive(),
  /** p person, s silent, t thread ... (fact); a person by default. */
  type: z.string().regex(/^[a-z]{1,3}$/).default('p'),
});

export const sendMessageInput = z.object({
  threadId: i64,
  otid: i64,
  text: text.optional(),
  attachmentFbids: z.array(i64).max(30).optional(),
  stickerId: i64.optional(),
  replyToMessageId: messageId.optional(),
  mentions: z.array(mentionSchema).max(100).optional(),
  skipUrlPreview: z.boolean().default(false),
  textHasLinks: z.boolean().default(false),
  source: z.number().int().default(SOURCE_INBOX_IN_THREAD),
  syncGroup,
});
export type SendMessageInput = z.input<typeof sendMessageInput>;

export function sendMessageTask(input: SendMessageInput): LSTask {
  const v = parse(sendMessageInput, input, 'SendMessage');
  const hasMedia = (v.attachmentFbids?.length ?? 0) > 0;
  if (v.text === undefined && !hasMedia && v.stickerId === undefined) {
    throw new LSRequestError('invalid-input', 'SendMessage: text, attachmentFbids or stickerId is required');
  }
  const payload: Record<string, unknown> = {
    thread_id: v.threadId,
    // The otid is the one int64 written as a JSON string (fact).
    otid: v.otid.toString(),
    source: v.source,
    send_type: v.stickerId !== undefined ? SEND_TYPE.sticker : hasMedia ? SEND_TYPE.media : SEND_TYPE.text,
  };
  if (hasMedia) payload.attachment_fbids = v.attachmentFbids;
  payload.sync_group = v.syncGroup;
  if (v.replyToMessageId) payload.reply_metadata = { reply_source_id: v.replyToMessageId, reply_source_type: 1, reply_type: 0 };
  if (v.mentions?.length) {
    const sorted = [...v.mentions].sort((a, b) => a.offset - b.offset);
    payload.mention_data = {
      mention_ids: sorted.map((m) => m.userId.toString()).join(','),
      mention_offsets: sorted.map((m) => m.offset).join(','),
      mention_lengths: sorted.map((m) => m.length).join(','),
      mention_types: sorted.map((m) => m.type).join(','),
    };
  }
  if (v.text !== undefined) payload.text = v.text;
  if (v.stickerId !== undefined) payload.sticker_id = v.stickerId;
  payload.initiating_source = INITIATING_SOURCE_INBOX;
  payload.skip_url_preview_gen = v.skipUrlPreview ? 1 : 0;
  payload.text_has_links = v.textHasLinks ? 1 : 0;
  payload.multitab_env = 0;
  return task('sendMessage', v.threadId.toString(), payload);
}

export const sendReactionInput = z.object({
  threadId: i64,
  messageId,
  actorId: i64,
  /** The emoji; an empty string removes the reaction. */
  reaction: z.string().max(64),
  timestampMs: timestamp,
});
export function sendReactionTask(input: z.input<typeof sendReactionInput>): LSTask {
  const v = parse(sendReactionInput, input, 'SendReaction');
  return task('sendReaction', JSON.stringify(['reaction', v.messageId]), {
    thread_key: v.threadId,
    timestamp_ms: v.timestampMs,
    message_id: v.messageId,
    actor_id: v.actorId,
    reaction: v.reaction,
    reaction_style: null,
    sync_group: 1,
    send_attribution: SOURCE_INBOX_IN_THREAD,
  });
}

export function unsendMessageTask(input: { messageId: string }): LSTask {
  const v = parse(z.object({ messageId }), input, 'DeleteMessage');
  return task('deleteMessage', 'unsend_message', { message_id: v.messageId });
}

export function editMessageTask(input: { messageId: string; text: string }): LSTask {
  const v = parse(z.object({ messageId, text: text.min(1) }), input, 'EditMessage');
  return task('editMessage', 'edit_message', { message_id: v.messageId, text: v.text });
}

export const markReadInput = z.object({ threadId: i64, watermarkTimestampMs: timestamp, syncGroup });
export function markReadTask(input: z.input<typeof markReadInput>): LSTask {
  const v = parse(markReadInput, input, 'ThreadMarkRead');
  return task('threadMarkRead', v.threadId.toString(), { thread_id: v.threadId, last_read_watermark_ts: v.watermarkTimestampMs, sync_group: v.syncGroup });
}

export const typingInput = z.object({ threadId: i64, isGroup: z.boolean(), isTyping: z.boolean(), threadType: z.number().int().nonnegative() });
/** Stateless: goes out through `buildStatelessTaskRequest`, not in a task list. */
export function typingTask(input: z.input<typeof typingInput>): LSTask {
  const v = parse(typingInput, input, 'Typing');
  return task('updatePresence', '', {
    thread_key: v.threadId,
    is_group_thread: v.isGroup ? 1 : 0,
    is_typing: v.isTyping ? 1 : 0,
    attribution: 0,
    sync_group: 1,
    thread_type: v.threadType,
  });
}

export const fetchThreadsInput = z.object({
  /** -1 is the inbox root (fact). */
  parentThreadKey: i64.default(-1n),
  referenceThreadKey: i64.default(0n),
  /** 9999999999999 asks for the newest threads (fact). */
  referenceActivityTimestampMs: timestamp.default(9_999_999_999_999),
  cursor: z.string().max(4096).nullable().default(null),
  syncGroup,
});
export function fetchThreadsTask(input: z.input<typeof fetchThreadsInput> = {}): LSTask {
  const v = parse(fetchThreadsInput, input, 'FetchThreads');
  return task('fetchThreads', 'trq', {
    is_after: 0,
    parent_thread_key: v.parentThreadKey,
    reference_thread_key: v.referenceThreadKey,
    reference_activity_timestamp: v.referenceActivityTimestampMs,
    additional_pages_to_fetch: 0,
    cursor: v.cursor,
    messaging_tag: null,
    sync_group: v.syncGroup,
  });
}

export const fetchMessagesInput = z.object({
  threadId: i64,
  referenceTimestampMs: timestamp,
  referenceMessageId: messageId,
  cursor: z.string().max(4096).nullable().default(null),
  syncGroup,
});
export function fetchMessagesTask(input: z.input<typeof fetchMessagesInput>): LSTask {
  const v = parse(fetchMessagesInput, input, 'FetchMessages');
  return task('fetchMessages', `mrq.${v.threadId}`, {
    thread_key: v.threadId,
    direction: 0,
    reference_timestamp_ms: v.referenceTimestampMs,
    reference_message_id: v.referenceMessageId,
    sync_group: v.syncGroup,
    cursor: v.cursor,
  });
}

/** Opens (or creates) the one-to-one thread with a user. */
export function createThreadTask(input: { userId: string | bigint | number }): LSTask {
  const v = parse(z.object({ userId: i64 }), input, 'CreateThread');
  return task('createThread', v.userId.toString(), {
    thread_fbid: v.userId,
    force_upsert: 0,
    use_open_messenger_transport: 0,
    sync_group: 1,
    metadata_only: 0,
    preview_only: 0,
  });
}

export const createGroupInput = z.object({
  participantIds: z.array(i64).min(1).max(250),
  /** The client-chosen offline thread key, usually an epoch id. */
  offlineThreadKey: i64,
  otid: i64,
});
export function createGroupTask(input: z.input<typeof createGroupInput>): LSTask {
  const v = parse(createGroupInput, input, 'CreateGroup');
  return task('createGroup', v.offlineThreadKey.toString(), {
    participants: v.participantIds,
    send_payload: { thread_id: v.offlineThreadKey, otid: v.otid.toString(), source: 0, send_type: 8 },
  });
}

export function addParticipantsTask(input: { threadId: string | bigint | number; userIds: Array<string | bigint | number> }): LSTask {
  const v = parse(z.object({ threadId: i64, userIds: z.array(i64).min(1).max(250) }), input, 'AddParticipants');
  return task('addParticipants', v.threadId.toString(), { thread_key: v.threadId, contact_ids: v.userIds, sync_group: 1 });
}

export function removeParticipantTask(input: { threadId: string | bigint | number; userId: string | bigint | number }): LSTask {
  const v = parse(z.object({ threadId: i64, userId: i64 }), input, 'RemoveParticipant');
  return task('removeParticipant', 'remove_participant_v2', { thread_id: v.threadId, contact_id: v.userId });
}

export function renameThreadTask(input: { threadId: string | bigint | number; name: string }): LSTask {
  const v = parse(z.object({ threadId: i64, name: z.string().max(500) }), input, 'RenameThread');
  return task('renameThread', v.threadId.toString(), { thread_key: v.threadId, thread_name: v.name, sync_group: 1 });
}

/** `imageId` is the fbid an upload returned. */
export function setThreadImageTask(input: { threadId: string | bigint | number; imageId: string | bigint | number }): LSTask {
  const v = parse(z.object({ threadId: i64, imageId: i64 }), input, 'SetThreadImage');
  return task('setThreadImage', 'thread_image', { thread_key: v.threadId, image_id: v.imageId, sync_group: 1 });
}

/**
 * Moves a message request into the inbox (AcceptMessageRequestTask: label 66, queue
 * "message_request", `thread_key`, `sync_group`, `ig_folder` null on Messenger: facts).
 */
export function acceptMessageRequestTask(input: { threadId: string | bigint | number }): LSTask {
  const v = parse(z.object({ threadId: i64 }), input, 'AcceptMessageRequest');
  return task('acceptMessageRequest', 'message_request', { thread_key: v.threadId, sync_group: 1, ig_folder: null });
}

/**
 * Deletes a thread for this account, which is how a message request is declined (DeleteThreadTask:
 * label 146, queued on the thread key, `remove_type` 0 deletes: facts).
 */
export function deleteThreadTask(input: { threadId: string | bigint | number }): LSTask {
  const v = parse(z.object({ threadId: i64 }), input, 'DeleteThread');
  return task('deleteThread', v.threadId.toString(), { thread_key: v.threadId, remove_type: 0, sync_group: 1 });
}
