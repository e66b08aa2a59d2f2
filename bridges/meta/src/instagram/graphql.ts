/**
 * Instagram's web GraphQL calls (facts from mautrix-meta: instameow graphql.go, messagix's
 * graphql docs and httpclient): a form POST to `/api/graphql` with `fb_dtsg`, `lsd`, `doc_id`,
 * `variables` (JSON), `fb_api_caller_class=RelayModern`, `fb_api_req_friendly_name`,
 * `server_timestamps=true`, and the headers `x-fb-friendly-name` and `x-fb-lsd`. The answer is
 * `{data: {...}}`, or `{errors: [...]}`.
 */
import type { MetaHttpSession } from '../client/http-session.js';
import type { MetaPageConfig } from '../page-config.js';
import { InstagramError } from './errors.js';

/** The documents Tributary calls, by friendly name (doc ids are facts). */
export const IG_GRAPHQL_DOCS = {
  PolarisDirectInboxQuery: '27262915580045003',
  IGDThreadDetailQuery: '37117700834487428',
  IGDirectTextSendMutation: '26911679871773184',
  IGDirectReactionSendMutation: '24374451552236906',
  IGDirectEditMessageMutation: '32480262318254796',
  IGDMessageUnsendDialogOffMsysMutation: '26948700068153789',
  useIGDMarkThreadAsReadMutation: '27356881703909995',
  useIGDMarkThreadAsReadValidationMutation: '35211594988486314',
  IGDMessageListOffMsysQuery: '27502152406082940',
  IGDirectMediaSendMutation: '25766288509716264',
  IGDEditThreadNameDialogOffMsysMutation: '26508340268868683',
  useCreateOpenGroupThreadOffMsysMutation: '27529949946640544',
  IGDThreadListOffMsysPaginationQuery: '27712934271665380',
  useIGDirectAcceptMessageRequestMutation: '36571001125823973',
  IGDInboxInfoDeleteThreadDialogOffMsysMutation: '35352443081068612',
} as const;
export type IGGraphQLDoc = keyof typeof IG_GRAPHQL_DOCS;

/**
 * The response field each document fills (facts: slidetypes/responses.go). The rename's is not
 * known (instameow reads no answer): null, and the call returns the whole `data` object.
 */
export const IG_GRAPHQL_FIELD: Record<IGGraphQLDoc, string | null> = {
  PolarisDirectInboxQuery: 'get_slide_mailbox_for_iris_subscription',
  IGDThreadDetailQuery: 'get_slide_thread_nullable',
  IGDirectTextSendMutation: 'xig_direct_text_send_with_slide_messaging_response',
  IGDirectReactionSendMutation: 'xig_direct_reaction_send_with_slide_messaging_response',
  IGDirectEditMessageMutation: 'direct_edit_message_with_slide_messaging_response',
  IGDMessageUnsendDialogOffMsysMutation: 'direct_unsend_message',
  useIGDMarkThreadAsReadMutation: 'xig_direct_item_seen_mutation_with_slide_messaging_response',
  useIGDMarkThreadAsReadValidationMutation: 'xig_direct_mark_read_id_validation',
  IGDMessageListOffMsysQuery: 'fetch__SlideThread',
  IGDirectMediaSendMutation: 'xig_direct_media_send_with_slide_messaging_response',
  IGDEditThreadNameDialogOffMsysMutation: null,
  useCreateOpenGroupThreadOffMsysMutation: 'xig_ig_direct_create_thread',
  IGDThreadListOffMsysPaginationQuery: 'fetch__SlideMailbox',
  useIGDirectAcceptMessageRequestMutation: 'ig_direct_accept_message_request',
  IGDInboxInfoDeleteThreadDialogOffMsysMutation: 'ig_direct_hide_thread',
};

/** A GraphQL `errors` answer; `errorCode` is the first error's `code` when it has one. */
export class IGGraphQLError extends InstagramError {
  constructor(message: string, readonly errorCode: string | undefined) {
    super('graphql', message);
  }
}

export const IG_GRAPHQL_PATH = '/api/graphql';
const MAX_RESPONSE_CHARS = 32 * 1024 * 1024;

/** The form body of one call (the emulator reads the same fields back). */
export function graphqlForm(page: MetaPageConfig, doc: IGGraphQLDoc, variables: unknown): URLSearchParams {
  return new URLSearchParams({
    fb_dtsg: page.fbDtsg,
    ...(page.lsd ? { lsd: page.lsd } : {}),
    fb_api_caller_class: 'RelayModern',
    fb_api_req_friendly_name: doc,
    variables: JSON.stringify(variables),
    server_timestamps: 'true',
    doc_id: IG_GRAPHQL_DOCS[doc],
  });
}

/** Calls one document and returns its response field (what `IG_GRAPHQL_FIELD` names). */
export async function igGraphQL(http: MetaHttpSession, page: MetaPageConfig, doc: IGGraphQLDoc, variables: unknown): Promise<unknown> {
  const url = new URL(IG_GRAPHQL_PATH, http.endpoints.web);
  const res = await http.request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-fb-friendly-name': doc,
      ...(page.lsd ? { 'x-fb-lsd': page.lsd } : {}),
      'x-ig-app-id': page.appId,
      origin: http.endpoints.web,
      referer: new URL(http.endpoints.inboxPath, http.endpoints.web).href,
      'sec-fetch-dest': 'empty',
      'sec-fetch-mode': 'cors',
      'sec-fetch-site': 'same-origin',
    },
    body: graphqlForm(page, doc, variables).toString(),
  });
  const text = await res.text();
  if (text.length > MAX_RESPONSE_CHARS) throw new InstagramError('graphql', `${doc}: the response is too large`);
  if (!res.ok) throw new InstagramError('graphql', `${doc}: HTTP ${res.status}`);
  let body: unknown;
  try {
    body = JSON.parse(text.replace(/^for \(;;\);/, ''));
  } catch {
    throw new InstagramError('graphql', `${doc}: the response is not JSON`);
  }
  const b = body as { data?: Record<string, unknown> | null; errors?: Array<{ message?: unknown }> };
  if (Array.isArray(b.errors) && b.errors.length) {
    const first = b.errors[0] as { message?: unknown; code?: unknown } | undefined;
    const message = typeof first?.message === 'string' ? first.message : 'unknown error';
    throw new IGGraphQLError(`${doc}: ${message}`, typeof first?.code === 'string' ? first.code : undefined);
  }
  const field = IG_GRAPHQL_FIELD[doc];
  if (field === null) return b.data ?? null;
  const value = b.data?.[field];
  if (value === undefined) throw new InstagramError('graphql', `${doc}: the response has no ${field}`);
  return value;
}

/** Variables of the inbox query (keys are facts; the relay provider values ours). */
export function inboxVariables(deviceId: string): Record<string, unknown> {
  return {
    device_id_for_iris_subscription: deviceId,
    enable_pending_threads_list: false,
    __relay_internal__pv__IGDPinnedThreadsRenderEnabledGKrelayprovider: false,
    __relay_internal__pv__IGDMaxUnreadMessagesCountrelayprovider: 99,
    __relay_internal__pv__IGDThreadListActionsEnabledGKrelayprovider: false,
  };
}

/** Variables of the thread detail query (keys are facts). */
export function threadVariables(threadId: string): Record<string, unknown> {
  return {
    min_uq_seq_id: null,
    thread_fbid: threadId,
    __relay_internal__pv__IGDEnableOffMsysChatThemesQErelayprovider: false,
    __relay_internal__pv__IGDInitialMessagePageCountrelayprovider: 20,
    __relay_internal__pv__PolarisAIGMAccountLabelEnabledrelayprovider: false,
  };
}

export interface IGTextSend {
  threadId: string;
  otid: string;
  text: string;
  replyToMessageId?: string;
  mentions?: Array<{ offset: number; length: number; userId: string }>;
}

/** Variables of IGDirectTextSendMutation (keys are facts: SendTextRequest). */
export function textSendVariables(s: IGTextSend): Record<string, unknown> {
  const mentions = s.mentions ?? [];
  return {
    ig_thread_igid: s.threadId,
    offline_threading_id: s.otid,
    recipient_igids: [],
    replied_to_client_context: null,
    replied_to_item_id: null,
    reply_to_message_id: s.replyToMessageId ?? null,
    sampled: null,
    text: { sensitive_string_value: s.text },
    mentions: mentions.map((m) => ({ offset: m.offset, length: m.length, fbid: m.userId })),
    mentioned_user_ids: mentions.map((m) => m.userId),
    commands: [],
    forwarded_from_thread_id: null,
    is_forwarded_from_own_message: null,
    send_attribution: null,
  };
}

/** Variables of IGDirectReactionSendMutation (keys and statuses are facts: ReactionInput); '' removes. */
export function reactionVariables(r: { threadId: string; messageId: string; emoji: string }): Record<string, unknown> {
  return { input: { emoji: r.emoji, item_id: '', message_id: r.messageId, reaction_status: r.emoji ? 'created' : 'deleted', thread_id: r.threadId } };
}

/** Variables of IGDirectEditMessageMutation (keys are facts: EditMessageRequest). */
export function editVariables(e: { threadId: string; messageId: string; text: string; otid: string }): Record<string, unknown> {
  return { thread_id: e.threadId, target_item_id: '', body: { sensitive_string_value: e.text }, offline_threading_id: e.otid, target_message_id: e.messageId };
}

/** Variables of IGDMessageUnsendDialogOffMsysMutation (keys are facts: UnsendMessageRequest). */
export function unsendVariables(u: { threadId: string; messageId: string }): Record<string, unknown> {
  return { message_id: u.messageId, send_data: { thread_id: u.threadId } };
}

/** What a send answers (facts: SentMessage): the message id and its time. */
export function parseSentMessage(value: unknown): { messageId: string; timestampMs: number } {
  const v = value as { message_id?: unknown; timestamp_ms?: unknown } | null;
  const ts = Number(v?.timestamp_ms);
  if (typeof v?.message_id !== 'string' || !Number.isFinite(ts)) throw new InstagramError('graphql', 'the send response lacks message_id or timestamp_ms');
  return { messageId: v.message_id, timestampMs: ts };
}
