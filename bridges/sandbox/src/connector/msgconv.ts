/**
 * Message conversion between the sandbox's content kinds and Matrix, both directions. Media is
 * streamed: downloads from the network go straight into the homeserver upload and back.
 */
import {
  BridgeError, partId, type ConvertContext, type ConvertedMessage, type MatrixMessage, type MessageId,
} from '@tributary/core/network/index';
import { cleanText } from '@tributary/core/matrix/format/index';
import { LIMITS, type FormattedText, type MessageContent, type WireMessage } from '../wire.js';
import type { SandboxPort } from './port.js';
import { makeMessageId } from './ids.js';

const MSGTYPE: Record<string, string> = { image: 'm.image', video: 'm.video', audio: 'm.audio', file: 'm.file' };

export async function wireToMatrix(port: SandboxPort, msg: WireMessage, ctx: ConvertContext): Promise<ConvertedMessage> {
  const content = await contentToMatrix(port, msg.content, ctx);
  return {
    parts: [{ id: partId(''), type: 'm.room.message', content }],
    ...(msg.reply_to ? { replyTo: { messageId: makeMessageId(msg.reply_to) } } : {}),
  };
}

export async function contentToMatrix(port: SandboxPort, c: MessageContent, ctx: ConvertContext): Promise<Record<string, unknown>> {
  switch (c.kind) {
    case 'text':
      return ctx.textContent({ text: c.text, entities: c.entities });
    case 'notice':
      return ctx.textContent({ text: c.text, entities: c.entities }, 'm.notice');
    case 'location': {
      // Names and file names are network text like any other: no control characters into Matrix.
      const name = c.name ? cleanText(c.name) : '';
      return {
        msgtype: 'm.location', body: name ? `${name} (${c.lat}, ${c.lon})` : `Location: ${c.lat}, ${c.lon}`,
        geo_uri: `geo:${c.lat},${c.lon}`,
      };
    }
    case 'extension':
      // Content only the named network understands (a WhatsApp poll, ...): Matrix gets what the
      // network itself shows clients that cannot render it.
      return ctx.textContent({ text: c.fallback, entities: [] }, 'm.notice');
    default: {
      const filename = cleanText(c.filename ?? '') || c.kind;
      const up = await ctx.uploadMedia({
        open: async () => (await port.downloadMedia(c.media_id)).stream, mimetype: c.mimetype, size: c.size, filename,
      });
      const info: Record<string, unknown> = { mimetype: c.mimetype, size: up.size };
      if (c.width) info.w = c.width;
      if (c.height) info.h = c.height;
      if (c.duration_ms !== undefined) info.duration = c.duration_ms;
      const captioned = c.caption?.text ? ctx.textContent(c.caption) : undefined;
      return {
        msgtype: MSGTYPE[c.kind], url: up.url, info, filename,
        body: captioned ? captioned.body : filename,
        ...(captioned?.formatted_body ? { format: captioned.format, formatted_body: captioned.formatted_body } : {}),
      };
    }
  }
}

/** Matrix message -> sandbox content; uploads media to the network first. */
export async function matrixToWire(port: SandboxPort, msg: MatrixMessage): Promise<MessageContent> {
  if (msg.location) {
    return { kind: 'location', lat: msg.location.latitude, lon: msg.location.longitude, ...(msg.location.description ? { name: msg.location.description.slice(0, 100) } : {}) };
  }
  if (msg.media) {
    const m = msg.media;
    const stream = await m.open();
    const up = await port.uploadMedia(stream, m.mimetype);
    const kind = m.kind === 'sticker' ? 'image' : m.kind;
    return {
      kind, media_id: up.media_id, mimetype: up.mimetype, size: up.size, filename: m.filename.slice(0, 255),
      ...(msg.text?.text ? { caption: toWireText(msg.text) } : {}),
      ...(m.width ? { width: m.width } : {}), ...(m.height ? { height: m.height } : {}),
      ...(m.durationMs !== undefined ? { duration_ms: Math.round(m.durationMs) } : {}),
    };
  }
  if (msg.text) {
    if (msg.msgtype === 'm.emote') {
      return { kind: 'text', ...toWireText({ text: `* ${msg.text.text}`, entities: msg.text.entities.map((e) => ({ ...e, offset: e.offset + 2 })) }) };
    }
    return { kind: msg.msgtype === 'm.notice' ? 'notice' : 'text', ...toWireText(msg.text) };
  }
  throw new BridgeError(`unsupported message type ${msg.msgtype}`, { reason: 'm_unsupported' });
}

/**
 * Formatted text within the wire limits: text longer than the sandbox takes is refused (a clear
 * failure rather than a cut message); formatting it cannot carry (past 1,000 entities, URLs and
 * ids past their length caps) is dropped and the text kept.
 */
export function toWireText(ft: FormattedText): FormattedText {
  if (ft.text.length > LIMITS.textLength) {
    throw new BridgeError(`text of ${ft.text.length} characters`, { reason: 'm_too_large', userMessage: `The message is longer than ${LIMITS.textLength} characters` });
  }
  const entities = ft.entities
    .filter((e) => (e.url === undefined || e.url.length <= 4096) && (e.userId === undefined || e.userId.length <= LIMITS.idLength) && (e.language === undefined || e.language.length <= 64))
    .slice(0, LIMITS.entities);
  return { text: ft.text, entities };
}

export function replyIdOf(msg: MatrixMessage): string | undefined {
  return msg.replyTo?.messageId as MessageId | undefined;
}
