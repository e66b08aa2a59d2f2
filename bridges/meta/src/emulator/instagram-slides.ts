/**
 * Sandbox objects and events as Instagram slide JSON (the emulator's Instagram flavour): threads
 * as `as_ig_direct_thread` ThreadInfo objects, messages as slide Messages, events as slide deltas.
 * JSON keys and type names are facts (mautrix-meta's slidetypes); which sandbox event becomes which
 * delta, and the stand-ins where Instagram has no such thing, are ours:
 * - a file becomes `TributaryFileContent` with `filename` and `mimetype` on its attachment
 *   (Instagram DMs carry no plain files, so this type is ours), a video carries
 *   `playable_duration_ms` as audio does (a fact only for audio);
 * - the `meta_attachment` extensions (extension-rows.ts) become a sticker
 *   (`SlideMessageStoreStickerContent`, plus `tributary_sticker_id`, ours), a GIF
 *   (`SlideMessageAnimatedMediaContent` playing from `attachment_mp4_url`) or an XMA card
 *   (`SlideMessageXMAContent`); a location and other extensions become text (their fallback);
 * - a new DM is `SlideUQPPCreate1To1Thread`, a new group `SlideUQPPParticipantsAddedToGroupThread`;
 * - typing is not a delta (it travels over /ws/streamcontroller, see instagram-sockets.ts);
 * - an encrypted chat (see rows.ts) carries `tributary_encrypted` and sends no message deltas;
 *   turning encryption on sends the `TributaryE2EECutover` delta (both ours).
 * Ids follow ids.ts: thread_fbid is the LightSpeed thread key, user ids are the phone digits.
 */
import type { MessageContent, WireAccount, WireChat, WireEvent, WireMessage } from '@tributary/sandbox/client/index';
import { TRIBUTARY_E2EE_CUTOVER } from '../instagram/slide-tables.js';
import { metaAttachmentOf } from './extension-rows.js';
import { messageIdOf, otidOfTxn } from './ids.js';
import { chatOfEvent } from './requests.js';
import type { RowContext } from './rows.js';

type Json = Record<string, unknown>;

export async function slideUser(account: WireAccount, ctx: RowContext): Promise<Json> {
  const id = await ctx.dir.userId(account.id);
  return {
    id, pk: id, interop_messaging_user_fbid: id, username: account.id, full_name: account.name,
    ...(account.avatar ? { profile_pic_url: ctx.mediaUrl(account.avatar) } : {}),
  };
}

async function content(msg: WireMessage, ctx: RowContext): Promise<{ content: Json; text?: string }> {
  const c: MessageContent = msg.content;
  const media = (id: string, extra: Json = {}) => ({ attachment_fbid: id, attachment_cdn_url: ctx.mediaUrl(id), ...extra });
  switch (c.kind) {
    case 'text':
      return { content: { __typename: 'SlideMessageText', text_body: c.text }, text: c.text };
    case 'notice':
      return { content: { __typename: 'SlideMessageAdminText', text_fragments: [{ plaintext: c.text }] } };
    case 'image': {
      const size = { ...(c.width ? { preview_width: c.width } : {}), ...(c.height ? { preview_height: c.height } : {}) };
      return { content: { __typename: 'SlideMessageImageContent', attachments: [media(c.media_id, { attachment_type: 2, preview_cdn_url: ctx.mediaUrl(c.media_id), ...size })] }, ...(c.caption ? { text: c.caption.text } : {}) };
    }
    case 'video': {
      const extra = { attachment_type: 4, ...(c.duration_ms !== undefined ? { playable_duration_ms: c.duration_ms } : {}) };
      return { content: { __typename: 'SlideMessageVideosContent', videos: [media(c.media_id, extra)] }, ...(c.caption ? { text: c.caption.text } : {}) };
    }
    case 'audio':
      return {
        content: { __typename: 'SlideMessageAudiosContent', audio_attachments: [media(c.media_id, c.duration_ms !== undefined ? { playable_duration_ms: c.duration_ms } : {})] },
        ...(c.caption ? { text: c.caption.text } : {}),
      };
    case 'file':
      return {
        content: { __typename: 'TributaryFileContent', attachments: [media(c.media_id, { attachment_type: 6, filename: c.filename ?? 'file', mimetype: c.mimetype })] },
        ...(c.caption ? { text: c.caption.text } : {}),
      };
    case 'location': {
      const text = `📍 ${c.name ? `${c.name} ` : ''}(${c.lat}, ${c.lon})`;
      return { content: { __typename: 'SlideMessageText', text_body: text }, text };
    }
    case 'extension': {
      const spec = metaAttachmentOf(msg);
      const url = spec?.media_id ? ctx.mediaUrl(spec.media_id) : undefined;
      const size = { ...(spec?.width ? { preview_width: spec.width } : {}), ...(spec?.height ? { preview_height: spec.height } : {}) };
      const sticker = c.payload.sticker_id;
      if (spec?.type === 'sticker' && url) {
        return { content: { __typename: 'SlideMessageStoreStickerContent', preview_url: url, ...size, ...(typeof sticker === 'string' ? { tributary_sticker_id: sticker } : {}) } };
      }
      if (spec?.type === 'gif' && url) return { content: { __typename: 'SlideMessageAnimatedMediaContent', animated_media: [{ attachment_mp4_url: url, preview_cdn_url: url, is_sticker: false, ...size }] } };
      if (spec?.type === 'xma') {
        const xma = { __typename: 'XMAWebURL', target_url: spec.url ?? '', title_text: spec.title ?? '', subtitle_text: spec.subtitle ?? '', ...(url ? { preview_image: { url, ...size } } : {}) };
        return { content: { __typename: 'SlideMessageXMAContent', xma } };
      }
      return { content: { __typename: 'SlideMessageText', text_body: c.fallback }, text: c.fallback };
    }
    default: {
      const loose = c as { fallback?: unknown; caption?: { text?: unknown } | null };
      const text = typeof loose.fallback === 'string' ? loose.fallback : typeof loose.caption?.text === 'string' ? loose.caption.text : '';
      return { content: { __typename: 'SlideMessageText', text_body: text }, text };
    }
  }
}

export async function slideMessage(msg: WireMessage, ctx: RowContext): Promise<Json> {
  const threadKey = await ctx.dir.threadKey({ id: msg.chat_id, type: msg.chat_id.startsWith('g:') ? 'group' : 'dm' });
  const { content: body, text } = await content(msg, ctx);
  const entities = msg.content.kind === 'text' ? msg.content.entities : 'caption' in msg.content ? (msg.content.caption?.entities ?? []) : [];
  const mentions: Json[] = [];
  for (const e of entities) {
    if (e.type !== 'mention' || !e.userId) continue;
    mentions.push({ offset: e.offset, length: e.length, profile_range_type: 'PROFILE', user_fbid: await ctx.dir.userId(e.userId).catch(() => '0') });
  }
  const reactions: Json[] = [];
  for (const r of msg.reactions) reactions.push({ reaction: r.emoji, sender_fbid: await ctx.dir.userId(r.user_id), reaction_timestamp_ms: String(r.ts) });
  const otid = otidOfTxn(msg.client_txn_id);
  const messageId = messageIdOf(msg.id);
  return {
    __typename: 'SlideMessage', id: messageId, message_id: messageId, thread_fbid: threadKey,
    sender_fbid: await ctx.dir.userId(msg.sender), timestamp_ms: String(msg.ts), content_type: String(body.__typename),
    content: body, ...(text !== undefined ? { text_body: text } : {}), ...(otid ? { offline_threading_id: otid } : {}),
    mentions, reactions, ...(msg.reply_to ? { replied_to_message_id: messageIdOf(msg.reply_to) } : {}),
    slide_edit_history: msg.edits.map((e) => ({ __typename: 'SlideMessageEditHistoryEntry', timestamp_ms: String(e.ts) })),
  };
}

/** One ThreadInfo, with `messages` (newest last) as its slide_messages. */
export async function slideThread(chat: WireChat, ctx: RowContext, messages: readonly WireMessage[], lastActivityMs?: number): Promise<Json> {
  const threadKey = await ctx.dir.threadKey(chat);
  const self = ctx.dir.self;
  const users: Json[] = [];
  for (const m of chat.members) if (m.user_id !== self.id) users.push(await slideUser(await ctx.dir.account(m.user_id), ctx));
  const admins: string[] = [];
  for (const m of chat.members) if (m.role !== 'member') admins.push(await ctx.dir.userId(m.user_id));
  // The sandbox's owner is the group's creator (ours: Instagram names a creator, not an owner role).
  const owner = chat.type === 'group' ? chat.members.find((m) => m.role === 'owner') : undefined;
  const ownerAccount = owner ? await ctx.dir.account(owner.user_id) : undefined;
  const creator = ownerAccount ? { full_name: ownerAccount.name, interop_messaging_user_fbid: await ctx.dir.userId(ownerAccount.id), id: await ctx.dir.userId(ownerAccount.id) } : undefined;
  const encrypted = ctx.isEncrypted(chat.id);
  const edges: Json[] = [];
  if (!encrypted) for (const m of messages) if (!m.deleted) edges.push({ node: await slideMessage(m, ctx) });
  return {
    id: threadKey, thread_fbid: threadKey, thread_key: threadKey, thread_id: threadKey, is_group: chat.type === 'group',
    thread_subtype: chat.type === 'group' ? 'IGD_GROUP' : 'IG_ONLY_ONE_TO_ONE',
    ...(chat.name !== null ? { thread_title: chat.name } : {}), ...(chat.avatar ? { thread_image_url: ctx.mediaUrl(chat.avatar) } : {}),
    viewer_id: ctx.dir.selfUserId, viewer: await slideUser(self, ctx), users, admin_user_ids: admins, ...(creator ? { group_creator: creator } : {}),
    last_activity_timestamp_ms: String(lastActivityMs ?? chat.created_at), slide_messages: { edges },
    ...(encrypted ? { tributary_encrypted: true } : {}),
    // PENDING is a fact (a request); INBOX for the rest is ours.
    ...(ctx.folderOf ? { system_folder: ctx.folderOf(chat) === 'pending' ? 'PENDING' : 'INBOX' } : {}),
  };
}

/** The slide deltas of one sandbox event (none for presence, delivery and typing), all with `seq`. */
export async function slideDeltas(event: WireEvent, seq: number, ctx: RowContext): Promise<Json[]> {
  const threadOf = (chatId: string) => ctx.dir.threadKey({ id: chatId, type: chatId.startsWith('g:') ? 'group' : 'dm' });
  const chat = chatOfEvent(event);
  if (chat !== undefined && ctx.isEncrypted(chat)) return [];
  const delta = async (typeName: string, chatId: string, fields: Json): Promise<Json> => ({ __typename: typeName, uq_seq_id: String(seq), thread_fbid: await threadOf(chatId), ...fields });
  switch (event.type) {
    case 'message': {
      const admin = event.message.content.kind === 'notice';
      return [await delta(admin ? 'SlideUQPPAdminTextMessage' : 'SlideUQPPNewMessage', event.chat_id, { message: await slideMessage(event.message, ctx) })];
    }
    case 'edit': {
      const text = (await content(event.message, ctx)).text ?? '';
      const ts = event.message.edits.at(-1)?.ts ?? event.ts;
      return [await delta('SlideUQPPEditMessage', event.chat_id, { message_id: messageIdOf(event.message.id), text_body: text, igd_snippet: text, slide_edit_history_entry: { timestamp_ms: String(ts) } })];
    }
    case 'delete':
      return [await delta('SlideUQPPDeleteMessage', event.chat_id, { message_id: messageIdOf(event.message_id) })];
    case 'reaction':
      return [await delta('SlideUQPPCreateReaction', event.chat_id, {
        message_id: messageIdOf(event.message_id), reaction: { reaction: event.emoji, sender_fbid: await ctx.dir.userId(event.user_id), reaction_timestamp_ms: String(event.ts) },
      })];
    case 'reaction_removed':
      return [await delta('SlideUQPPDeleteReaction', event.chat_id, { message_id: messageIdOf(event.message_id), reaction: { reaction: event.emoji, sender_fbid: await ctx.dir.userId(event.user_id) } })];
    case 'read': {
      const read = await ctx.dir.message(event.message_id);
      const watermark = String(read?.ts ?? event.ts);
      if (event.user_id === ctx.dir.self.id) return [await delta('SlideUQPPMarkRead', event.chat_id, { read_timestamp_ms: watermark })];
      return [await delta('SlideUQPPReadReceipt', event.chat_id, { read_receipt: { participant_fbid: await ctx.dir.userId(event.user_id), watermark_timestamp_ms: watermark } })];
    }
    case 'chat_created': {
      if (event.chat.type === 'dm') return [await delta('SlideUQPPCreate1To1Thread', event.chat.id, {})];
      const users: Json[] = [];
      for (const m of event.chat.members) users.push(await slideUser(await ctx.dir.account(m.user_id), ctx));
      return [await delta('SlideUQPPParticipantsAddedToGroupThread', event.chat.id, {
        message: null, thread: { id: await threadOf(event.chat.id), as_ig_direct_thread: { id: await threadOf(event.chat.id), thread_title: event.chat.name ?? '', users } },
      })];
    }
    case 'chat_updated': {
      const out: Json[] = [];
      if (event.changed.includes('name')) out.push(await delta('SlideUQPPThreadName', event.chat.id, { thread_name: event.chat.name ?? '', message: null }));
      if (event.changed.includes('avatar')) out.push(await delta('SlideUQPPThreadImage', event.chat.id, { thread_image: { uri: event.chat.avatar ? ctx.mediaUrl(event.chat.avatar) : '' }, message: null }));
      return out;
    }
    case 'members_changed': {
      const c = event.chat;
      if (event.change === 'leave' || event.change === 'kick') {
        const out: Json[] = [];
        const actor = await ctx.dir.userId(event.by);
        for (const u of event.users) {
          out.push(await delta('SlideUQPPParticipantLeftGroupThread', c.id, { left_participant_fbid: await ctx.dir.userId(u), actor_fbid: actor, viewer_fbid: ctx.dir.selfUserId, message: null }));
        }
        return out;
      }
      if (event.change === 'promote' || event.change === 'demote') {
        const admins: string[] = [];
        for (const m of c.members) if (m.role !== 'member') admins.push(await ctx.dir.userId(m.user_id));
        return [await delta('SlideUQPPGenericMapAdminsKeyMutation', c.id, { admin_igids: admins })];
      }
      const users: Json[] = [];
      for (const u of event.users) users.push(await slideUser(await ctx.dir.account(u), ctx));
      return [await delta('SlideUQPPParticipantsAddedToGroupThread', c.id, { message: null, thread: { id: await threadOf(c.id), as_ig_direct_thread: { id: await threadOf(c.id), thread_title: c.name ?? '', users } } })];
    }
    default:
      return [];
  }
}

/** Ours: the delta that moves a chat to end-to-end encryption while connected. */
export async function cutoverDelta(chatId: string, seq: number, ctx: RowContext): Promise<Json> {
  return { __typename: TRIBUTARY_E2EE_CUTOVER, uq_seq_id: String(seq), thread_fbid: await ctx.dir.threadKey({ id: chatId, type: chatId.startsWith('g:') ? 'group' : 'dm' }) };
}

/** A thread's folder move (fact: `SlideUQPPUpdateThreadFolder` with `folder`, PENDING for a request). */
export async function folderDelta(chatId: string, folder: string, seq: number, ctx: RowContext): Promise<Json> {
  const threadKey = await ctx.dir.threadKey({ id: chatId, type: chatId.startsWith('g:') ? 'group' : 'dm' });
  return { __typename: 'SlideUQPPUpdateThreadFolder', uq_seq_id: String(seq), thread_fbid: threadKey, folder };
}

/** The JSON text an OnMailboxDelta carries (fact: a list of `{data:{slide_delta_processor}}`). */
export function deltaBatch(deltas: readonly Json[]): string {
  return JSON.stringify([{ data: { slide_delta_processor: deltas } }]);
}
