/**
 * The sandbox network's wire protocol: every frame that crosses the `/wire` WebSocket, as
 * TypeScript types plus the zod schemas both ends validate incoming frames with.
 *
 * Frames (JSON text, one object each):
 *   client → server  AuthFrame      {op:'auth', token, since?}      only when no Bearer header
 *                    RequestFrame   {id, op, ...args}               see OpMap
 *                    AckFrame       {ack: seq}                      "I have processed events ≤ seq"
 *   server → client  ReadyFrame     {ready: {...}}                  once, after authentication
 *                    ResponseFrame  {id, ok:true, result} | {id, ok:false, error:{code,message}}
 *                    EventFrame     {seq, event}                    seq: per-account, increasing
 */
import { z } from 'zod';
import { LIMITS } from './wire-limits.js';
import { messageContentSchema, type MessageContent } from './wire-content.js';

// Limits and message content live in their own modules; importers keep using wire.js.
export * from './wire-limits.js';
export * from './wire-content.js';

/** Account ids: stable, lowercase. */
export const ACCOUNT_ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Phone-like identifiers: `+` and 6 to 15 digits. */
export const PHONE_RE = /^\+[0-9]{6,15}$/;

const idString = z.string().min(1).max(LIMITS.idLength);
export const accountIdSchema = z.string().regex(ACCOUNT_ID_RE, 'account ids are lowercase letters, digits, . _ -');

// ---------------------------------------------------------------------------------------------
// Data objects

export interface WirePresence { online: boolean; last_seen: number | null; }
export interface WireAccount { id: string; name: string; phone: string; avatar: string | null; presence: WirePresence; }
export type MemberRole = 'member' | 'admin' | 'owner';
export interface WireMember { user_id: string; role: MemberRole; }
export interface WireChat {
  id: string;
  type: 'dm' | 'group';
  name: string | null;
  topic: string | null;
  avatar: string | null;
  members: WireMember[];
  created_at: number;
  last_message_id: string | null;
  /** member id → id of the last message that member has read */
  read_receipts: Record<string, string>;
  /** Disappearing-message timer of the chat in ms (after sending), null when off. */
  disappear_ms: number | null;
}
export interface WireReaction { user_id: string; emoji: string; ts: number; }
export interface WireEdit { content: MessageContent; ts: number; }
export interface WireMessage {
  id: string;
  chat_id: string;
  seq: number;
  sender: string;
  ts: number;
  content: MessageContent;
  reply_to: string | null;
  /** previous contents, oldest first; `content` is always the latest */
  edits: WireEdit[];
  edit_count: number;
  deleted: boolean;
  reactions: WireReaction[];
  delivered_to: string[];
  client_txn_id: string | null;
}

export const accountSchema: z.ZodType<WireAccount> = z.object({
  id: z.string(), name: z.string(), phone: z.string(), avatar: z.string().nullable(),
  presence: z.object({ online: z.boolean(), last_seen: z.number().nullable() }),
});
export const chatSchema: z.ZodType<WireChat> = z.object({
  id: z.string(),
  type: z.enum(['dm', 'group']),
  name: z.string().nullable(),
  topic: z.string().nullable(),
  avatar: z.string().nullable(),
  members: z.array(z.object({ user_id: z.string(), role: z.enum(['member', 'admin', 'owner']) })),
  created_at: z.number(),
  last_message_id: z.string().nullable(),
  read_receipts: z.record(z.string(), z.string()),
  disappear_ms: z.number().int().min(0).nullable(),
});
export const messageSchema: z.ZodType<WireMessage> = z.object({
  id: z.string(),
  chat_id: z.string(),
  seq: z.number().int(),
  sender: z.string(),
  ts: z.number(),
  content: messageContentSchema,
  reply_to: z.string().nullable(),
  edits: z.array(z.object({ content: messageContentSchema, ts: z.number() })),
  edit_count: z.number().int(),
  deleted: z.boolean(),
  reactions: z.array(z.object({ user_id: z.string(), emoji: z.string(), ts: z.number() })),
  delivered_to: z.array(z.string()),
  client_txn_id: z.string().nullable(),
});

// ---------------------------------------------------------------------------------------------
// Server events. Every event names its cause; `self` is true when the receiving account caused
// it (an echo of its own action). Events carry everything needed to bridge them.

interface EventBase { ts: number; self: boolean; }
/**
 * join/leave/kick/invite: `users` joined or left. promote/demote: the role of `users` went up or
 * down (member ↔ admin, or to owner when the owner leaves); their new role is in `chat.members`.
 */
export type MemberChange = 'join' | 'leave' | 'kick' | 'invite' | 'promote' | 'demote';
export const MEMBER_CHANGES = ['join', 'leave', 'kick', 'invite', 'promote', 'demote'] as const satisfies readonly MemberChange[];
export type WireEvent = EventBase & (
  | { type: 'message'; chat_id: string; message: WireMessage }
  | { type: 'edit'; chat_id: string; message: WireMessage }
  | { type: 'delete'; chat_id: string; message_id: string; by: string }
  | { type: 'reaction'; chat_id: string; message_id: string; user_id: string; emoji: string; replaced: string | null }
  | { type: 'reaction_removed'; chat_id: string; message_id: string; user_id: string; emoji: string }
  | { type: 'read'; chat_id: string; user_id: string; message_id: string }
  | { type: 'delivered'; chat_id: string; user_id: string; message_id: string }
  | { type: 'typing'; chat_id: string; user_id: string; typing: boolean; timeout_ms: number }
  | { type: 'presence'; user_id: string; presence: WirePresence }
  | { type: 'chat_created'; chat: WireChat; by: string }
  | { type: 'chat_updated'; chat: WireChat; by: string; changed: Array<'name' | 'topic' | 'avatar' | 'disappear'> }
  | { type: 'members_changed'; chat: WireChat; by: string; change: MemberChange; users: string[] }
  | { type: 'logged_out'; reason: string }
);
export type WireEventType = WireEvent['type'];
/** An event before the per-recipient `self` flag is set. */
export type WireEventDraft = WireEvent extends infer E ? E extends WireEvent ? Omit<E, 'self'> : never : never;

const ev = <T extends z.ZodRawShape>(type: string, shape: T) =>
  z.object({ type: z.literal(type), ts: z.number(), self: z.boolean(), ...shape });
export const eventSchema = z.union([
  ev('message', { chat_id: z.string(), message: messageSchema }),
  ev('edit', { chat_id: z.string(), message: messageSchema }),
  ev('delete', { chat_id: z.string(), message_id: z.string(), by: z.string() }),
  ev('reaction', { chat_id: z.string(), message_id: z.string(), user_id: z.string(), emoji: z.string(), replaced: z.string().nullable() }),
  ev('reaction_removed', { chat_id: z.string(), message_id: z.string(), user_id: z.string(), emoji: z.string() }),
  ev('read', { chat_id: z.string(), user_id: z.string(), message_id: z.string() }),
  ev('delivered', { chat_id: z.string(), user_id: z.string(), message_id: z.string() }),
  ev('typing', { chat_id: z.string(), user_id: z.string(), typing: z.boolean(), timeout_ms: z.number() }),
  ev('presence', { user_id: z.string(), presence: z.object({ online: z.boolean(), last_seen: z.number().nullable() }) }),
  ev('chat_created', { chat: chatSchema, by: z.string() }),
  ev('chat_updated', { chat: chatSchema, by: z.string(), changed: z.array(z.enum(['name', 'topic', 'avatar', 'disappear'])) }),
  ev('members_changed', { chat: chatSchema, by: z.string(), change: z.enum(MEMBER_CHANGES), users: z.array(z.string()) }),
  ev('logged_out', { reason: z.string() }),
]) as unknown as z.ZodType<WireEvent>;

// ---------------------------------------------------------------------------------------------
// Errors

export type ErrorCode =
  | 'bad_request' | 'unauthorized' | 'bad_credentials' | 'forbidden' | 'not_found' | 'conflict'
  | 'too_large' | 'login_expired' | 'unsupported' | 'internal'
  // client-side only:
  | 'timeout' | 'not_connected' | 'disconnected';
export interface WireError { code: ErrorCode; message: string; }
export const errorSchema: z.ZodType<WireError> = z.object({
  code: z.enum(['bad_request', 'unauthorized', 'bad_credentials', 'forbidden', 'not_found', 'conflict', 'too_large', 'login_expired', 'unsupported', 'internal', 'timeout', 'not_connected', 'disconnected']),
  message: z.string(),
});

/** WebSocket close codes the server uses. */
export const CLOSE = {
  /** No or bad credentials; do not retry with the same token. */
  unauthorized: 4001,
  /** The account was logged out (remote logout or `logout` op); the token is void. */
  loggedOut: 4002,
  /** Invalid frame (not JSON / not a frame). */
  protocolError: 4003,
  /** Reconnects are refused for a while (control API); retry later. */
  tryAgainLater: 1013,
} as const;

// ---------------------------------------------------------------------------------------------
// Requests: op name → args and result

export interface GetMessagesResult { messages: WireMessage[]; has_more: boolean; }
export type Empty = Record<never, never>;
export interface OpMap {
  get_self: { args: Empty; result: WireAccount };
  get_contacts: { args: Empty; result: WireAccount[] };
  get_user: { args: { user: string }; result: WireAccount };
  resolve_identifier: { args: { identifier: string }; result: WireAccount };
  get_chats: { args: Empty; result: WireChat[] };
  get_chat: { args: { chat: string }; result: WireChat };
  get_messages: { args: { chat: string; after?: string; before?: string; limit?: number }; result: GetMessagesResult };
  send: { args: { chat: string; content: MessageContent; reply_to?: string; client_txn_id: string }; result: WireMessage };
  edit: { args: { message: string; content: MessageContent }; result: WireMessage };
  delete: { args: { message: string }; result: WireMessage };
  react: { args: { message: string; emoji: string }; result: WireMessage };
  unreact: { args: { message: string }; result: WireMessage };
  mark_read: { args: { chat: string; message: string }; result: Empty };
  typing: { args: { chat: string; typing: boolean }; result: Empty };
  set_presence: { args: { online: boolean }; result: WireAccount };
  create_dm: { args: { user: string }; result: WireChat };
  create_group: { args: { name: string; members: string[]; topic?: string }; result: WireChat };
  invite: { args: { chat: string; user: string }; result: WireChat };
  kick: { args: { chat: string; user: string }; result: WireChat };
  set_role: { args: { chat: string; user: string; role: 'member' | 'admin' }; result: WireChat };
  leave: { args: { chat: string }; result: Empty };
  set_chat_name: { args: { chat: string; name: string }; result: WireChat };
  set_chat_topic: { args: { chat: string; topic: string }; result: WireChat };
  set_chat_avatar: { args: { chat: string; media: string | null }; result: WireChat };
  logout: { args: Empty; result: Empty };
}
export type Op = keyof OpMap;
export type OpArgs<K extends Op> = OpMap[K]['args'];
export type OpResult<K extends Op> = OpMap[K]['result'];

const empty = z.object({}) as unknown as z.ZodType<Empty>;
const chat = idString;
const msg = idString;
const name = z.string().trim().min(1).max(LIMITS.nameLength);
type Schemas<F extends 'args' | 'result'> = { [K in Op]: z.ZodType<OpMap[K][F]> };

export const argsSchemas: Schemas<'args'> = {
  get_self: empty, get_contacts: empty, get_chats: empty, logout: empty,
  get_user: z.object({ user: idString }),
  resolve_identifier: z.object({ identifier: idString }),
  get_chat: z.object({ chat }),
  get_messages: z.object({ chat, after: msg.optional(), before: msg.optional(), limit: z.number().int().min(1).max(LIMITS.pageSize).optional() }),
  send: z.object({ chat, content: messageContentSchema, reply_to: msg.optional(), client_txn_id: z.string().min(1).max(LIMITS.idLength) }),
  edit: z.object({ message: msg, content: messageContentSchema }),
  delete: z.object({ message: msg }),
  react: z.object({ message: msg, emoji: z.string().min(1).max(LIMITS.emojiLength) }),
  unreact: z.object({ message: msg }),
  mark_read: z.object({ chat, message: msg }),
  typing: z.object({ chat, typing: z.boolean() }),
  set_presence: z.object({ online: z.boolean() }),
  create_dm: z.object({ user: idString }),
  create_group: z.object({ name, members: z.array(idString).max(LIMITS.groupMembers), topic: z.string().max(LIMITS.topicLength).optional() }),
  invite: z.object({ chat, user: idString }),
  kick: z.object({ chat, user: idString }),
  set_role: z.object({ chat, user: idString, role: z.enum(['member', 'admin']) }),
  leave: z.object({ chat }),
  set_chat_name: z.object({ chat, name }),
  set_chat_topic: z.object({ chat, topic: z.string().max(LIMITS.topicLength) }),
  set_chat_avatar: z.object({ chat, media: idString.nullable() }),
};

export const resultSchemas: Schemas<'result'> = {
  get_self: accountSchema, get_contacts: z.array(accountSchema), get_user: accountSchema, resolve_identifier: accountSchema,
  get_chats: z.array(chatSchema), get_chat: chatSchema,
  get_messages: z.object({ messages: z.array(messageSchema), has_more: z.boolean() }),
  send: messageSchema, edit: messageSchema, delete: messageSchema, react: messageSchema, unreact: messageSchema,
  mark_read: empty, typing: empty, set_presence: accountSchema,
  create_dm: chatSchema, create_group: chatSchema, invite: chatSchema, kick: chatSchema, set_role: chatSchema, leave: empty,
  set_chat_name: chatSchema, set_chat_topic: chatSchema, set_chat_avatar: chatSchema, logout: empty,
};
export const OPS = Object.keys(argsSchemas) as Op[];

// ---------------------------------------------------------------------------------------------
// Frames

export type RequestId = string | number;
export interface AuthFrame { op: 'auth'; token: string; since?: number; id?: RequestId; }
export type RequestFrame = { [K in Op]: { id: RequestId; op: K } & OpArgs<K> }[Op];
export interface AckFrame { ack: number; }
export interface ReadyInfo {
  account: WireAccount;
  /** The account's latest event seq at the time of authentication. */
  head_seq: number;
  /** True when `since` was older than the kept event log: refetch state, then continue from head_seq. */
  resync_required: boolean;
  /** How many events follow as replay (seq > since). */
  replayed: number;
}
export interface ReadyFrame { ready: ReadyInfo; }
export type ResponseFrame = { id: RequestId; ok: true; result: unknown } | { id: RequestId; ok: false; error: WireError };
export interface EventFrame { seq: number; event: WireEvent; }
export type ClientFrame = AuthFrame | RequestFrame | AckFrame;
export type ServerFrame = ReadyFrame | ResponseFrame | EventFrame;

const requestId = z.union([z.string().max(64), z.number().int()]);
export const authFrameSchema: z.ZodType<AuthFrame> = z.object({
  op: z.literal('auth'), token: z.string().min(1).max(256), since: z.number().int().min(0).optional(), id: requestId.optional(),
});
export const ackFrameSchema: z.ZodType<AckFrame> = z.object({ ack: z.number().int().min(0) });
/** Envelope only; the args are checked with `argsSchemas[op]`. */
export const requestEnvelopeSchema = z.looseObject({ id: requestId, op: z.enum(OPS as [Op, ...Op[]]) });

export const readyFrameSchema: z.ZodType<ReadyFrame> = z.object({
  ready: z.object({ account: accountSchema, head_seq: z.number().int(), resync_required: z.boolean(), replayed: z.number().int() }),
});
export const responseFrameSchema: z.ZodType<ResponseFrame> = z.union([
  z.object({ id: requestId, ok: z.literal(true), result: z.unknown() }),
  z.object({ id: requestId, ok: z.literal(false), error: errorSchema }),
]) as z.ZodType<ResponseFrame>;
export const eventFrameSchema: z.ZodType<EventFrame> = z.object({ seq: z.number().int().min(1), event: eventSchema });

// ---------------------------------------------------------------------------------------------
// Login endpoints (plain HTTP, no token needed; see docs/sandbox.md)

export interface LoginResult { account_id: string; token: string; }
export interface QrStartResult { session: string; code: string; expires_at: number; }
export type QrPollResult =
  | { status: 'pending'; code: string; expires_at: number }
  | { status: 'approved'; account_id: string; token: string };
export const loginResultSchema: z.ZodType<LoginResult> = z.object({ account_id: z.string(), token: z.string() });
export const qrStartResultSchema: z.ZodType<QrStartResult> = z.object({ session: z.string(), code: z.string(), expires_at: z.number() });
export const qrPollResultSchema: z.ZodType<QrPollResult> = z.union([
  z.object({ status: z.literal('pending'), code: z.string(), expires_at: z.number() }),
  z.object({ status: z.literal('approved'), account_id: z.string(), token: z.string() }),
]);
export const httpErrorBodySchema = z.object({ error: errorSchema });

/** Media upload response. */
export interface MediaUploadResult { media_id: string; size: number; mimetype: string; }
export const mediaUploadResultSchema: z.ZodType<MediaUploadResult> = z.object({ media_id: z.string(), size: z.number(), mimetype: z.string() });
