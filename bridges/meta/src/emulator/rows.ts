/**
 * Sandbox objects and events as LightSpeed rows (the emulator's pushes and responses). Column
 * meanings are the codec's (lightspeed/tables.ts); the values chosen for the sandbox are ours:
 * thread type 1 for DMs and 2 for groups, the inbox root -1 as parent, attachment types
 * 2 image, 4 video, 5 audio, 6 file (as the web client numbers them, to our knowledge).
 *
 * A chat marked end-to-end encrypted (`isEncrypted`, set through the emulator's `setEncrypted`) is
 * listed with Meta's encrypted-over-WhatsApp thread types (15 one-to-one, 16 group: facts), and
 * none of its messages, edits, unsends, reactions, receipts or typing become rows: like Meta, whose
 * E2EE chats travel over the WhatsApp protocol, not LightSpeed.
 */
import type { MessageContent, WireAccount, WireChat, WireEvent, WireMessage } from '@tributary/sandbox/client/index';
import type { LSProgramBuilder } from '../lightspeed/builder.js';
import { META_THREAD_TYPE } from '../lightspeed/thread-types.js';
import type { EmulatorDirectory } from './directory.js';
import { addExtensionAttachment, metaAttachmentOf } from './extension-rows.js';
import { messageIdOf, otidOfTxn } from './ids.js';
import { chatOfEvent } from './requests.js';

export interface RowContext {
  dir: EmulatorDirectory;
  /** The URL a client downloads a sandbox media id from. */
  mediaUrl(mediaId: string): string;
  /** Whether a sandbox chat is end-to-end encrypted on this emulated Meta. */
  isEncrypted(chatId: string): boolean;
  /** The folder of a chat for this account (message requests: see requests.ts); the inbox by default. */
  folderOf?(chat: WireChat): string;
}

const ATTACHMENT_TYPE = { image: 2, video: 4, audio: 5, file: 6 } as const;

export async function addContact(b: LSProgramBuilder, account: WireAccount, ctx: RowContext): Promise<void> {
  b.call('LSVerifyContactRowExists', {
    contactId: await ctx.dir.userId(account.id),
    name: account.name,
    firstName: account.name.split(' ')[0] ?? account.name,
    ...(account.avatar ? { profilePictureUrl: ctx.mediaUrl(account.avatar) } : {}),
    contactType: 1,
    isSelf: account.id === ctx.dir.self.id,
    canViewerMessage: true,
  });
}

function threadTypeOf(chat: Pick<WireChat, 'id' | 'type'>, ctx: RowContext): number {
  if (ctx.isEncrypted(chat.id)) return chat.type === 'dm' ? META_THREAD_TYPE.encryptedOverWaOneToOne : META_THREAD_TYPE.encryptedOverWaGroup;
  return chat.type === 'dm' ? META_THREAD_TYPE.oneToOne : META_THREAD_TYPE.group;
}

export async function addThread(b: LSProgramBuilder, chat: WireChat, ctx: RowContext, lastActivityMs?: number): Promise<string> {
  const threadKey = await ctx.dir.threadKey(chat);
  b.call('LSDeleteThenInsertThread', {
    threadKey,
    lastActivityTimestampMs: lastActivityMs ?? chat.created_at,
    ...(chat.name !== null ? { threadName: chat.name } : {}),
    ...(chat.avatar ? { threadPictureUrl: ctx.mediaUrl(chat.avatar) } : {}),
    ...(chat.topic ? { threadDescription: chat.topic } : {}),
    threadType: threadTypeOf(chat, ctx),
    parentThreadKey: '-1',
    folderName: ctx.folderOf?.(chat) ?? 'inbox',
    memberCount: chat.members.length,
    syncGroup: 1,
  });
  for (const member of chat.members) {
    b.call('LSAddParticipantIdToGroupThread', {
      threadKey,
      contactId: await ctx.dir.userId(member.user_id),
      isAdmin: member.role !== 'member',
      isSuperAdmin: member.role === 'owner',
    });
  }
  return threadKey;
}

function textOf(content: MessageContent): string | undefined {
  switch (content.kind) {
    case 'text':
    case 'notice':
      return content.text;
    case 'location':
      return `📍 ${content.name ? `${content.name} ` : ''}(${content.lat}, ${content.lon})`;
    case 'extension':
      return content.payload.sticker_id !== undefined || metaAttachmentOf({ content }) ? undefined : content.fallback;
    default:
      return content.caption?.text;
  }
}

async function mentionColumns(content: MessageContent, ctx: RowContext): Promise<Record<string, string>> {
  const entities = content.kind === 'text' || content.kind === 'notice' ? content.entities : 'caption' in content ? (content.caption?.entities ?? []) : [];
  const mentions = entities.filter((e) => e.type === 'mention' && e.userId);
  if (!mentions.length) return {};
  const ids: string[] = [];
  for (const m of mentions) ids.push(await ctx.dir.userId(m.userId!).catch(() => '0'));
  return {
    mentionIds: ids.join(','),
    mentionOffsets: mentions.map((m) => m.offset).join(','),
    mentionLengths: mentions.map((m) => m.length).join(','),
    mentionTypes: mentions.map(() => 'p').join(','),
  };
}

export async function addMessage(b: LSProgramBuilder, msg: WireMessage, ctx: RowContext, threadKey?: string): Promise<void> {
  if (ctx.isEncrypted(msg.chat_id)) return;
  const key = threadKey ?? (await ctx.dir.threadKey({ id: msg.chat_id, type: msg.chat_id.startsWith('g:') ? 'group' : 'dm' }));
  const messageId = messageIdOf(msg.id);
  const text = msg.deleted ? undefined : textOf(msg.content);
  const otid = otidOfTxn(msg.client_txn_id);
  const sticker = msg.content.kind === 'extension' ? msg.content.payload.sticker_id : undefined;
  b.call('LSInsertMessage', {
    threadKey: key,
    timestampMs: msg.ts,
    messageId,
    senderId: await ctx.dir.userId(msg.sender),
    ...(text !== undefined ? { text } : {}),
    ...(otid ? { offlineThreadingId: otid } : {}),
    ...(typeof sticker === 'string' && /^\d{1,19}$/.test(sticker) ? { stickerId: sticker } : {}),
    ...(msg.reply_to ? { replySourceId: messageIdOf(msg.reply_to), replySourceType: 1 } : {}),
    ...(msg.deleted ? { isUnsent: true } : {}),
    ...(msg.content.kind === 'notice' ? { isAdminMessage: true } : {}),
    editCount: msg.edit_count,
    ...(await mentionColumns(msg.content, ctx)),
  });
  addExtensionAttachment(b, msg, key, messageId, ctx);
  const c = msg.content;
  if (!msg.deleted && (c.kind === 'image' || c.kind === 'video' || c.kind === 'audio' || c.kind === 'file')) {
    const url = ctx.mediaUrl(c.media_id);
    b.call('LSInsertBlobAttachment', {
      threadKey: key,
      messageId,
      timestampMs: msg.ts,
      attachmentIndex: 0,
      // A GIF is Meta's "animated image" (3, fact), not a still image.
      attachmentType: c.kind === 'image' && c.mimetype === 'image/gif' ? 3 : ATTACHMENT_TYPE[c.kind],
      attachmentMimeType: c.mimetype,
      attachmentFbid: c.media_id,
      filename: c.filename ?? `${c.kind}`,
      filesize: c.size,
      hasMedia: true,
      playableUrl: url,
      playableUrlMimeType: c.mimetype,
      ...(c.kind === 'image' ? { previewUrl: url, previewUrlMimeType: c.mimetype } : {}),
      ...(c.width ? { previewWidth: c.width } : {}),
      ...(c.height ? { previewHeight: c.height } : {}),
      ...(c.duration_ms !== undefined ? { playableDurationMs: c.duration_ms } : {}),
    });
  }
}

/** The rows of one sandbox event (nothing for events Meta has no row for: presence, delivered). */
export async function addEvent(b: LSProgramBuilder, event: WireEvent, ctx: RowContext): Promise<void> {
  const threadOf = (chatId: string) => ctx.dir.threadKey({ id: chatId, type: chatId.startsWith('g:') ? 'group' : 'dm' });
  // An encrypted chat sends nothing over LightSpeed.
  if (ctx.isEncrypted(chatOfEvent(event) ?? '')) return;
  switch (event.type) {
    case 'message':
      return addMessage(b, event.message, ctx);
    case 'edit': {
      const text = textOf(event.message.content);
      b.call('LSEditMessage', { messageId: messageIdOf(event.message.id), ...(text !== undefined ? { text } : {}), editCount: event.message.edit_count });
      return;
    }
    case 'delete':
      b.call('LSDeleteMessage', { threadKey: await threadOf(event.chat_id), messageId: messageIdOf(event.message_id) });
      return;
    case 'reaction':
      b.call('LSUpsertReaction', {
        threadKey: await threadOf(event.chat_id), timestampMs: event.ts, messageId: messageIdOf(event.message_id),
        actorId: await ctx.dir.userId(event.user_id), reaction: event.emoji,
      });
      return;
    case 'reaction_removed':
      b.call('LSDeleteReaction', { threadKey: await threadOf(event.chat_id), messageId: messageIdOf(event.message_id), actorId: await ctx.dir.userId(event.user_id) });
      return;
    case 'read': {
      const read = await ctx.dir.message(event.message_id);
      b.call('LSUpdateReadReceipt', {
        readWatermarkTimestampMs: read?.ts ?? event.ts, threadKey: await threadOf(event.chat_id),
        contactId: await ctx.dir.userId(event.user_id), readActionTimestampMs: event.ts,
      });
      return;
    }
    case 'typing':
      b.call('LSUpdateTypingIndicator', { threadKey: await threadOf(event.chat_id), senderId: await ctx.dir.userId(event.user_id), isTyping: event.typing });
      return;
    case 'chat_created':
      await addThread(b, event.chat, ctx);
      return;
    case 'chat_updated': {
      const threadKey = await threadOf(event.chat.id);
      if (event.changed.includes('name')) b.call('LSSyncUpdateThreadName', { threadKey, ...(event.chat.name !== null ? { threadName: event.chat.name } : {}) });
      if (event.changed.includes('avatar')) {
        b.call('LSSetThreadImageURL', { threadKey, ...(event.chat.avatar ? { imageUrl: ctx.mediaUrl(event.chat.avatar) } : {}), isCustomThreadPicture: event.chat.avatar !== null });
      }
      return;
    }
    case 'members_changed': {
      const threadKey = await threadOf(event.chat.id);
      for (const user of event.users) {
        const contactId = await ctx.dir.userId(user);
        if (event.change === 'leave' || event.change === 'kick') {
          b.call('LSRemoveParticipantFromThread', { threadKey, participantId: contactId });
        } else {
          const role = event.chat.members.find((m) => m.user_id === user)?.role ?? 'member';
          b.call('LSAddParticipantIdToGroupThread', { threadKey, contactId, isAdmin: role !== 'member', isSuperAdmin: role === 'owner' });
        }
      }
      return;
    }
    default:
      return;
  }
}
