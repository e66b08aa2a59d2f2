/**
 * The LightSpeed tasks Instagram now carries over GraphQL besides text, reactions, edits and
 * unsends (ig-send.ts): mark read, message history, single media sends, rename, creating a
 * group, the thread list, and accepting or declining message requests. Each answers rows of the shape its LightSpeed task would, so the connector is unchanged.
 * Facts (documents, variables, answers) are in graphql-threads.ts; the mapping is ours:
 * - mark read names a message where the task has a watermark: the newest message at or before it,
 *   found in the thread's first pages of history, then the validation call instameow makes too;
 * - FetchMessages pages back from its reference message (`older_than_message_id`) or, with no
 *   message id, from the newest message, keeping those before the reference time, as the task does;
 * - a media send carries one attachment and no text (Instagram has no captions): a send with a
 *   caption or several attachments stays a LightSpeed task;
 * - a created group is fetched (IGDThreadDetailQuery) for its thread rows;
 * - FetchThreads is the inbox query's page and then the pagination query's (instameow's order);
 * - accepting a message request answers the thread's rows fetched again (now in the inbox folder);
 *   declining one is DeleteThread, which Instagram's web client does by hiding the thread.
 */
import type { MetaTaskResult } from '../client/types.js';
import type { LSTables } from '../lightspeed/tables.js';
import type { LSTask } from '../lightspeed/tasks.js';
import { MetaTaskError } from '../client/errors.js';
import { deriveOtid } from '../lightspeed/ids.js';
import { IGGraphQLError, igGraphQL, inboxVariables, parseSentMessage, threadVariables, type IGGraphQLDoc } from './graphql.js';
import {
  IG_MAX_THREAD_PAGES, IG_THREAD_PAGE, acceptRequestVariables, createGroupVariables, hideThreadVariables, markReadValidationVariables, markReadVariables, mediaSendVariables, messageListVariables, parseCreatedGroup,
  parseMessagePage, parseReadReceipt, parseThreadPage, renameVariables, threadListVariables, type IGMessagePage,
} from './graphql-threads.js';
import type { IGSendHost } from './ig-send.js';
import { parseSlideThread, tablesFromMessages, tablesFromThreads, type SlideThread } from './slide-tables.js';

/** How many history pages a mark read looks through for the message at its watermark (ours). */
const MARK_READ_PAGES = 3;
const done = (tables: LSTables = {}): MetaTaskResult => ({ tables, taskIds: [] });

/** A GraphQL call for a task: a refusal is a MetaTaskError with its code, as a LightSpeed task's is. */
export async function igTaskCall(host: Pick<IGSendHost, 'http' | 'page'>, task: LSTask, doc: IGGraphQLDoc, variables: unknown): Promise<unknown> {
  try {
    return await igGraphQL(host.http, host.page(), doc, variables);
  } catch (err) {
    if (!(err instanceof IGGraphQLError)) throw err;
    throw new MetaTaskError([{ taskId: 0, task: task.name, code: err.errorCode ?? 'graphql', message: err.message }], {});
  }
}

/** The single-attachment, captionless SendMessage tasks IGDirectMediaSendMutation can carry. */
export function mediaSendOf(task: LSTask): { threadId: string; otid: string; attachmentFbid: string; replyToMessageId?: string } | undefined {
  const p = task.payload;
  const fbids = p.attachment_fbids;
  if (task.name !== 'sendMessage' || !Array.isArray(fbids) || fbids.length !== 1 || p.sticker_id !== undefined) return undefined;
  if (typeof p.text === 'string' && p.text !== '') return undefined;
  const reply = (p.reply_metadata as { reply_source_id?: unknown } | undefined)?.reply_source_id;
  return {
    threadId: String(p.thread_id), otid: String(p.otid), attachmentFbid: String(fbids[0]),
    ...(typeof reply === 'string' ? { replyToMessageId: reply } : {}),
  };
}

export class InstagramThreadTasks {
  constructor(private readonly host: IGSendHost) {}

  /** Carries a task over GraphQL, or returns undefined for another path to carry it. */
  async trySend(task: LSTask): Promise<MetaTaskResult | undefined> {
    const p = task.payload;
    const media = mediaSendOf(task);
    if (media) return this.#sendMedia(task, media);
    switch (task.name) {
      case 'threadMarkRead': return this.#markRead(task, String(p.thread_id), Number(p.last_read_watermark_ts));
      case 'fetchMessages': return this.#fetchMessages(task, String(p.thread_key), String(p.reference_message_id ?? ''), Number(p.reference_timestamp_ms));
      case 'renameThread': {
        const threadKey = String(p.thread_key);
        const name = String(p.thread_name ?? '');
        await igTaskCall(this.host, task, 'IGDEditThreadNameDialogOffMsysMutation', renameVariables({ threadId: threadKey, name }));
        return done({ LSSyncUpdateThreadName: [{ threadKey, threadName: name }] });
      }
      case 'createGroup': {
        const ids = Array.isArray(p.participants) ? p.participants.map(String) : [];
        const otid = String((p.send_payload as { otid?: unknown } | undefined)?.otid ?? task.queueName);
        const threadId = parseCreatedGroup(await igTaskCall(this.host, task, 'useCreateOpenGroupThreadOffMsysMutation', createGroupVariables({ userIds: ids, otid })));
        return done(await this.#threadRows(task, threadId));
      }
      case 'fetchThreads': return done(await this.#threadList(task));
      case 'acceptMessageRequest': {
        const threadId = String(p.thread_key);
        const otid = deriveOtid(`accept.${threadId}.${Date.now()}`, Date.now()).toString();
        await igTaskCall(this.host, task, 'useIGDirectAcceptMessageRequestMutation', acceptRequestVariables({ threadId, otid }));
        return done(await this.#threadRows(task, threadId));
      }
      case 'deleteThread':
        await igTaskCall(this.host, task, 'IGDInboxInfoDeleteThreadDialogOffMsysMutation', hideThreadVariables({ threadId: String(p.thread_key) }));
        return done();
      default: return undefined;
    }
  }

  /**
   * The inbox as instameow lists it: the inbox query's page, then the pagination query from its
   * cursor. Threads come without their messages (a list is not history) and end with the range row
   * the LightSpeed answer carries.
   */
  async #threadList(task: LSTask): Promise<LSTables> {
    const page = this.host.page();
    let list = parseThreadPage(await igTaskCall(this.host, task, 'PolarisDirectInboxQuery', inboxVariables(page.deviceId)));
    const threads: SlideThread[] = [...list.threads];
    for (let i = 0; list.hasNextPage && list.endCursor && i < IG_MAX_THREAD_PAGES; i++) {
      const vars = threadListVariables({ viewerId: page.accountId, cursor: list.endCursor, count: IG_THREAD_PAGE });
      list = parseThreadPage(await igTaskCall(this.host, task, 'IGDThreadListOffMsysPaginationQuery', vars));
      threads.push(...list.threads);
    }
    const tables = tablesFromThreads(threads.map((t) => ({ ...t, messages: [] })), page.accountId);
    return { ...tables, LSUpsertSyncGroupThreadsRange: [{ syncGroup: 1, parentThreadKey: '-1', hasMoreBefore: list.hasNextPage, isLoadingBefore: false }] };
  }

  async #page(task: LSTask, threadId: string, from: { olderThanMessageId?: string; after?: string }): Promise<IGMessagePage> {
    const page = parseMessagePage(await igTaskCall(this.host, task, 'IGDMessageListOffMsysQuery', messageListVariables({ threadId, ...from })));
    for (const m of page.messages) this.host.remember(m.messageId, m.threadId);
    return page;
  }

  async #markRead(task: LSTask, threadId: string, watermarkMs: number): Promise<MetaTaskResult> {
    let page = await this.#page(task, threadId, {});
    let target = page.messages.find((m) => m.timestampMs <= watermarkMs);
    for (let i = 1; !target && page.hasNextPage && page.endCursor && i < MARK_READ_PAGES; i++) {
      page = await this.#page(task, threadId, { after: page.endCursor });
      target = page.messages.find((m) => m.timestampMs <= watermarkMs);
    }
    // Nothing at or before the watermark (an empty thread, or history beyond the pages looked at).
    if (!target) return done();
    const ids = { threadId, messageId: target.messageId };
    const receipt = parseReadReceipt(await igTaskCall(this.host, task, 'useIGDMarkThreadAsReadMutation', markReadVariables(ids)));
    await igTaskCall(this.host, task, 'useIGDMarkThreadAsReadValidationMutation', markReadValidationVariables({ ...ids, timestampMs: target.timestampMs }));
    return done({
      LSUpdateReadReceipt: [{
        threadKey: threadId, contactId: this.host.page().accountId, readWatermarkTimestampMs: receipt?.watermarkMs ?? target.timestampMs, readActionTimestampMs: Date.now(),
      }],
    });
  }

  async #fetchMessages(task: LSTask, threadId: string, referenceId: string, referenceMs: number): Promise<MetaTaskResult> {
    // Backfill names "none" (or no id) for the newest page; a message id pages back from it.
    const byId = referenceId.startsWith('mid.');
    const page = await this.#page(task, threadId, byId ? { olderThanMessageId: referenceId } : {});
    const messages = byId || !Number.isFinite(referenceMs) ? page.messages : page.messages.filter((m) => m.timestampMs < referenceMs);
    return done(tablesFromMessages(messages));
  }

  async #sendMedia(task: LSTask, send: NonNullable<ReturnType<typeof mediaSendOf>>): Promise<MetaTaskResult> {
    const sent = parseSentMessage(await igTaskCall(this.host, task, 'IGDirectMediaSendMutation', mediaSendVariables(send)));
    this.host.remember(sent.messageId, send.threadId);
    // The attachment rows come with the echo (a slide delta); the send answers the message id.
    return done({
      LSInsertMessage: [{
        threadKey: send.threadId, messageId: sent.messageId, timestampMs: sent.timestampMs, senderId: this.host.page().accountId, offlineThreadingId: send.otid,
        ...(send.replyToMessageId ? { replySourceId: send.replyToMessageId, replySourceType: 1 } : {}),
      }],
    });
  }

  /** A thread's rows from IGDThreadDetailQuery, its messages left out (as ig-sync's fetches). */
  async #threadRows(task: LSTask, threadId: string): Promise<LSTables> {
    const value = await igTaskCall(this.host, task, 'IGDThreadDetailQuery', threadVariables(threadId)) as { as_ig_direct_thread?: unknown } | null;
    const thread = parseSlideThread(value?.as_ig_direct_thread);
    return tablesFromThreads([{ ...thread, messages: [] }], this.host.page().accountId);
  }
}
