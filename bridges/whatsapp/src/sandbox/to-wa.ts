/**
 * Sandbox messages as the WebMessageInfo protos a WhatsApp socket would deliver. Media is
 * encrypted with Baileys' own `prepareWAMessageMedia` and the encrypted file is stored on the
 * sandbox's media endpoint, so the connector downloads and decrypts it exactly as from WhatsApp's
 * CDN. Network extensions for WhatsApp carry a proto `Message` as JSON and pass through as is.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  prepareWAMessageMedia, proto, type AnyMediaMessageContent, type WAMediaUploadFunction, type WAMessage,
} from 'baileys';
import type { FormattedText } from '@tributary/core/network/index';
import type { MessageContent, SandboxClient, WireMessage } from '@tributary/sandbox/client/index';
import { formatWhatsAppText } from '../msgconv/wa-text-format.js';
import type { SandboxDirectory } from './directory.js';

export interface ToWAContext {
  client: SandboxClient;
  directory: SandboxDirectory;
  /** The sandbox base URL (media links point at it). */
  baseUrl: string;
  logger: Parameters<typeof prepareWAMessageMedia>[1]['logger'];
}

/** Stores Baileys' encrypted temp file on the sandbox; the message links to it without a directPath. */
export function sandboxUpload(ctx: Pick<ToWAContext, 'client' | 'baseUrl'>): WAMediaUploadFunction {
  return async (encFilePath) => {
    const up = await ctx.client.uploadMedia(createReadStream(encFilePath), 'application/octet-stream');
    return { mediaUrl: `${ctx.baseUrl}/media/${encodeURIComponent(up.media_id)}`, directPath: undefined as unknown as string };
  };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** WhatsApp markup and mentioned JIDs for sandbox formatted text (mentions name account ids). */
export async function waTextOf(ft: FormattedText, dir: SandboxDirectory): Promise<{ text: string; mentions: string[] }> {
  const jids = new Map<string, string>();
  for (const e of ft.entities) {
    if (e.type === 'mention' && e.userId && !jids.has(e.userId)) {
      jids.set(e.userId, await dir.jidOfAccount(e.userId).catch(() => ''));
    }
  }
  const out = formatWhatsAppText(ft, { userIdToJid: (id) => jids.get(id) || undefined });
  return { text: out.text, mentions: out.mentions };
}

/** The proto content of a sandbox message, without reply context. */
export async function waContentOf(content: MessageContent, ctx: ToWAContext): Promise<proto.IMessage> {
  switch (content.kind) {
    case 'text':
    case 'notice': {
      const { text, mentions } = await waTextOf(content, ctx.directory);
      return mentions.length ? { extendedTextMessage: { text, contextInfo: { mentionedJid: mentions } } } : { conversation: text };
    }
    case 'location':
      return { locationMessage: { degreesLatitude: content.lat, degreesLongitude: content.lon, ...(content.name ? { name: content.name } : {}) } };
    case 'image':
    case 'video':
    case 'audio':
    case 'file': {
      const { stream } = await ctx.client.downloadMedia(content.media_id);
      const bytes = await readAll(stream);
      const caption = content.caption ? (await waTextOf(content.caption, ctx.directory)).text : undefined;
      const media = mediaContentOf(content.kind, content.mimetype, bytes, caption, content);
      return prepareWAMessageMedia(media, { upload: sandboxUpload(ctx), logger: ctx.logger });
    }
    default: {
      const ext = content as { kind: string; network?: string; payload?: unknown; fallback?: string };
      if (ext.kind === 'extension' && ext.network === 'whatsapp' && ext.payload && typeof ext.payload === 'object') {
        return proto.Message.fromObject(ext.payload as Record<string, unknown>);
      }
      return { conversation: ext.fallback ?? `[${ext.kind}]` };
    }
  }
}

function mediaContentOf(
  kind: 'image' | 'video' | 'audio' | 'file', mimetype: string, bytes: Buffer, caption: string | undefined,
  meta: { filename?: string; duration_ms?: number; width?: number; height?: number },
): AnyMediaMessageContent {
  const withCaption = caption ? { caption } : {};
  const seconds = meta.duration_ms !== undefined ? { seconds: Math.round(meta.duration_ms / 1000) } : {};
  switch (kind) {
    case 'image':
      // WhatsApp stickers are WebP images; the sandbox has no sticker kind of its own.
      if (mimetype === 'image/webp') return { sticker: bytes, mimetype };
      return { image: bytes, mimetype, ...withCaption };
    case 'video':
      return { video: bytes, mimetype, ...withCaption, ...seconds };
    case 'audio':
      // Opus in Ogg is what WhatsApp records voice notes in.
      return { audio: bytes, mimetype, ptt: mimetype.startsWith('audio/ogg'), ...seconds };
    case 'file':
      return { document: bytes, mimetype, fileName: meta.filename ?? 'file', ...withCaption };
  }
}

/** Adds reply context to content (the quoted message's id and author). */
function withReply(message: proto.IMessage, stanzaId: string, participant: string): proto.IMessage {
  const contextInfo = { stanzaId, participant, quotedMessage: { conversation: '' } };
  if (message.conversation !== undefined && message.conversation !== null) {
    return { extendedTextMessage: { text: message.conversation, contextInfo } };
  }
  for (const value of Object.values(message)) {
    if (value && typeof value === 'object') {
      const v = value as { contextInfo?: proto.IContextInfo | null };
      v.contextInfo = { ...v.contextInfo, ...contextInfo };
      break;
    }
  }
  return message;
}

/** The WebMessageInfo for a sandbox message in a chat with the given JID. */
export async function waMessageOf(msg: WireMessage, chatJid: string, ctx: ToWAContext): Promise<WAMessage> {
  const dir = ctx.directory;
  const fromMe = msg.sender === dir.self.id;
  const sender = await dir.account(msg.sender);
  let message = await waContentOf(msg.content, ctx);
  if (msg.reply_to) {
    const target = await dir.seen(msg.reply_to);
    if (target) message = withReply(message, target.waId, await dir.jidOfAccount(target.sender));
  }
  const isGroup = chatJid.endsWith('@g.us');
  return proto.WebMessageInfo.fromObject({
    key: { remoteJid: chatJid, fromMe, id: dir.noteMessage(msg), ...(isGroup && !fromMe ? { participant: await dir.jidOfAccount(msg.sender) } : {}) },
    message,
    messageTimestamp: Math.floor(msg.ts / 1000),
    pushName: sender.name,
  }) as WAMessage;
}
