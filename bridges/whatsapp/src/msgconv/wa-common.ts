/**
 * What every WhatsApp -> Matrix converter shares: its dependencies, the message's context info
 * (mentions, replies, forwarding, disappearing timer) and text with mentions as remote user ids.
 */
import type { Readable } from 'node:stream';
import type { ConvertContext, FormattedText, MatrixContent, RemoteUserId } from '@tributary/core/network/index';
import type { proto, WAMessage } from 'baileys';
import { userIdFromJid, type LidResolver } from '../connector/ids.js';
import { parseWhatsAppText } from './wa-text.js';

export interface WAConvertDeps {
  lids: LidResolver;
  /** The decrypted bytes of a media message (see `makeWAMediaDownloader`). */
  downloadMedia(msg: WAMessage): Promise<Readable>;
  /** A display name for a mentioned user, so a mention reads "@Name" rather than "@digits". */
  displayName?(user: RemoteUserId): string | undefined;
}

/** Marks a forwarded message's text. */
export const FORWARDED_PREFIX = '↷ Forwarded';
/** Our content key for a GIF (a looping, silent video). */
export const GIF_KEY = 'net.tributary.gif';
export const FORWARDED_KEY = 'net.tributary.forwarded';

/** The context info of a message's content (each kind carries its own). */
export function contextInfoOf(content: proto.IMessage | null | undefined): proto.IContextInfo | undefined {
  if (!content) return undefined;
  for (const value of Object.values(content)) {
    if (value && typeof value === 'object' && 'contextInfo' in value) {
      const info = (value as { contextInfo?: proto.IContextInfo | null }).contextInfo;
      if (info) return info;
    }
  }
  return undefined;
}

/** Text with WhatsApp markup -> FormattedText whose mention entities hold RemoteUserIds. */
export async function waFormattedText(text: string, info: proto.IContextInfo | undefined, deps: WAConvertDeps): Promise<FormattedText> {
  const mentions = (info?.mentionedJid ?? []).filter((j): j is string => typeof j === 'string');
  const resolved = new Map<string, RemoteUserId>();
  for (const jid of mentions) {
    const user = await userIdFromJid(jid, deps.lids);
    if (user) resolved.set(jid, user);
  }
  return parseWhatsAppText(text, {
    mentions,
    jidToUserId: (jid) => resolved.get(jid),
    ...(deps.displayName ? { displayName: (u: string) => deps.displayName?.(u as RemoteUserId) } : {}),
    everyone: Boolean(info?.nonJidMentions),
  });
}

/** Puts "↷ Forwarded" (italic) on its own line before the text. */
export function withForwardedPrefix(text: FormattedText): FormattedText {
  const head = `${FORWARDED_PREFIX}\n`;
  return {
    text: head + text.text,
    entities: [
      { type: 'italic', offset: 0, length: FORWARDED_PREFIX.length },
      ...text.entities.map((e) => ({ ...e, offset: e.offset + head.length })),
    ],
  };
}

/** Text content for a message, forwarded prefix included. */
export async function waTextContent(
  text: string, info: proto.IContextInfo | undefined, ctx: ConvertContext, deps: WAConvertDeps, msgtype?: string,
): Promise<MatrixContent> {
  let formatted = await waFormattedText(text, info, deps);
  if (info?.isForwarded) formatted = withForwardedPrefix(formatted);
  return msgtype ? ctx.textContent(formatted, msgtype) : ctx.textContent(formatted);
}

/** A caption's body, formatted body and mentions laid over media content (body falls back to the file name). */
export async function withCaption(
  content: MatrixContent, caption: string | null | undefined, info: proto.IContextInfo | undefined,
  ctx: ConvertContext, deps: WAConvertDeps,
): Promise<MatrixContent> {
  if (!caption && !info?.isForwarded) return content;
  const text = await waTextContent(caption ?? '', info, ctx, deps);
  const out: MatrixContent = { ...content, body: text.body };
  for (const key of ['format', 'formatted_body', 'm.mentions']) if (text[key] !== undefined) out[key] = text[key];
  return out;
}

export function numberOf(v: number | { toNumber(): number } | null | undefined): number | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === 'number' ? v : v.toNumber();
}
