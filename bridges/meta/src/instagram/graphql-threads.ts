/**
 * Variables and answers of the GraphQL documents that replace Instagram's remaining LightSpeed
 * tasks (keys are facts from mautrix-meta's instameow slidetypes/requests.go, responses.go,
 * messagix graphql docs; the defaults for keys instameow leaves null or unset are ours):
 * mark read (and its validation), the message list, media sends, rename, creating a group, the
 * thread list's later pages, and accepting or declining (hiding) a message request.
 */
import { InstagramError } from './errors.js';
import { parseSlideMessage, type SlideMessage } from './slide.js';
import { parseSlideThread, type SlideThread } from './slide-tables.js';

/** The page size instameow asks the message list for (fact: 20). */
export const IG_MESSAGE_PAGE = 20;
/** Thread list: later pages of this many threads, at most this many after the inbox's (ours; instameow asks for 5). */
export const IG_THREAD_PAGE = 20;
export const IG_MAX_THREAD_PAGES = 25;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** useIGDMarkThreadAsReadMutation (MarkReadRequest): the thread and the newest message read; item_id empty. */
export function markReadVariables(r: { threadId: string; messageId: string }): Obj {
  return { metadata: { ig_thread_igid: r.threadId }, data: { message_id: r.messageId, item_id: '' } };
}

/** useIGDMarkThreadAsReadValidationMutation: the same message, with its time (milliseconds as a string). */
export function markReadValidationVariables(r: { threadId: string; messageId: string; timestampMs: number }): Obj {
  return { metadata: { ig_thread_igid: r.threadId }, data: { message_id: r.messageId, message_timestamp_ms: String(r.timestampMs) } };
}

/** The read receipt a mark read answers (ReadReceipt: participant_fbid, watermark_timestamp_ms). */
export function parseReadReceipt(value: unknown): { participantId: string; watermarkMs: number } | undefined {
  if (!isObj(value)) return undefined;
  const p = value.participant_fbid;
  const w = Number(value.watermark_timestamp_ms);
  return (typeof p === 'string' || typeof p === 'number') && Number.isFinite(w) ? { participantId: String(p), watermarkMs: w } : undefined;
}

/**
 * IGDMessageListOffMsysQuery (PaginateMessagesRequest): a page of `first` messages of thread `id`,
 * older than `older_than_message_id` or after the cursor `after` of the previous page.
 */
export function messageListVariables(r: { threadId: string; olderThanMessageId?: string; after?: string; first?: number }): Obj {
  return {
    after: r.after ?? null,
    before: null,
    first: r.first ?? IG_MESSAGE_PAGE,
    last: null,
    newer_than_message_id: null,
    older_than_message_id: r.olderThanMessageId ?? null,
    id: r.threadId,
    __relay_internal__pv__IGDInitialMessagePageCountrelayprovider: IG_MESSAGE_PAGE,
  };
}

export interface IGMessagePage {
  /** Newest first, as Instagram lists them (fact). */
  messages: SlideMessage[];
  endCursor?: string;
  hasNextPage: boolean;
}

/** The message list's answer: `{id, as_ig_direct_thread: {id, slide_messages: {edges, page_info}}}`. */
export function parseMessagePage(value: unknown): IGMessagePage {
  const thread = isObj(value) ? value.as_ig_direct_thread : undefined;
  const list = isObj(thread) ? thread.slide_messages : undefined;
  if (!isObj(list) || !Array.isArray(list.edges)) throw new InstagramError('graphql', 'the message list has no slide_messages');
  const info = isObj(list.page_info) ? list.page_info : {};
  const messages = list.edges.filter(isObj).map((e, i) => parseSlideMessage(e.node, `slide_messages[${i}]`));
  return {
    messages,
    ...(typeof info.end_cursor === 'string' && info.end_cursor ? { endCursor: info.end_cursor } : {}),
    hasNextPage: info.has_next_page === true,
  };
}

/** IGDirectMediaSendMutation (SendMediaRequest): one uploaded attachment into one thread. */
export function mediaSendVariables(r: { threadId: string; attachmentFbid: string; otid: string; replyToMessageId?: string }): Obj {
  return {
    attachment_fbid: r.attachmentFbid,
    thread_id: r.threadId,
    offline_threading_id: r.otid,
    reply_to_message_id: r.replyToMessageId ?? null,
    forwarded_from_thread_id: null,
    is_forwarded_from_own_message: null,
  };
}

/** IGDEditThreadNameDialogOffMsysMutation: `thread_fbid`, `new_title`. */
export function renameVariables(r: { threadId: string; name: string }): Obj {
  return { thread_fbid: r.threadId, new_title: r.name };
}

/** useCreateOpenGroupThreadOffMsysMutation (CreateGroupRequest): the members' ids and an otid. */
export function createGroupVariables(r: { userIds: readonly string[]; otid: string }): Obj {
  return { recipient_eimu_fbids: [...r.userIds], offline_threading_id: r.otid, entry_point: null };
}

/** The new group's thread id (`xig_ig_direct_create_thread.id`, which instameow takes as the thread key). */
export function parseCreatedGroup(value: unknown): string {
  const id = isObj(value) ? value.id : undefined;
  if (typeof id !== 'string' || !/^\d{1,20}$/.test(id)) throw new InstagramError('graphql', 'the group creation answered no thread id');
  return id;
}

/** IGDThreadListOffMsysPaginationQuery (PaginateMailboxRequest): the inbox after `cursor`, `count` threads. */
export function threadListVariables(r: { viewerId: string; cursor: string; count: number }): Obj {
  return {
    count: r.count,
    cursor: r.cursor,
    folder: 'INBOX',
    newer_than_timestamp_ms: null,
    id: r.viewerId,
    __relay_internal__pv__IGDPinnedThreadsRenderEnabledGKrelayprovider: true,
    __relay_internal__pv__IGDMaxUnreadMessagesCountrelayprovider: 5,
    __relay_internal__pv__PolarisAIGMAccountLabelEnabledrelayprovider: false,
    __relay_internal__pv__IGDThreadListActionsEnabledGKrelayprovider: true,
  };
}

/** A page of threads (the inbox's, or `fetch__SlideMailbox`): `threads_by_folder` edges and page_info. */
export function parseThreadPage(value: unknown): { threads: SlideThread[]; endCursor?: string; hasNextPage: boolean } {
  const list = isObj(value) ? value.threads_by_folder : undefined;
  if (!isObj(list) || !Array.isArray(list.edges)) throw new InstagramError('graphql', 'the thread list has no threads_by_folder');
  const info = isObj(list.page_info) ? list.page_info : {};
  return {
    threads: list.edges.map((e) => parseSlideThread(isObj(e) && isObj(e.node) ? e.node.as_ig_direct_thread : undefined)),
    ...(typeof info.end_cursor === 'string' && info.end_cursor ? { endCursor: info.end_cursor } : {}),
    hasNextPage: info.has_next_page === true,
  };
}

/** useIGDirectAcceptMessageRequestMutation: `thread_fbid`, `ig_inbox_folder` (null), `offline_threading_id`. */
export function acceptRequestVariables(r: { threadId: string; otid: string }): Obj {
  return { thread_fbid: r.threadId, ig_inbox_folder: null, offline_threading_id: r.otid };
}

/** IGDInboxInfoDeleteThreadDialogOffMsysMutation: `thread_fbid`, `should_move_future_requests_to_spam`. */
export function hideThreadVariables(r: { threadId: string }): Obj {
  return { thread_fbid: r.threadId, should_move_future_requests_to_spam: false };
}
