import type { z } from 'zod';
import type { FormattedText, MessageContent } from '../wire.js';
import { NetworkError } from './errors.js';
import type { MediaStore } from './media-store.js';
import type { sendMessageBody } from './control-schemas.js';
import { generateTestPng } from './test-png.js';

const plain = (text: string): FormattedText => ({ text, entities: [] });

/** Width and height from a PNG's IHDR chunk, if the bytes are a PNG. */
function pngSize(bytes: Buffer): { width: number; height: number } | undefined {
  if (bytes.length < 24 || bytes.readUInt32BE(0) !== 0x89504e47 || bytes.toString('ascii', 12, 16) !== 'IHDR') return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

function decodeBase64(b64: string): Buffer {
  const bytes = Buffer.from(b64, b64.includes('-') || b64.includes('_') ? 'base64url' : 'base64');
  if (bytes.length === 0) throw new NetworkError('bad_request', 'empty media');
  return bytes;
}

/** Turns a control-API message body into message content, storing any media it carries. */
export async function contentFromControlBody(body: z.infer<typeof sendMessageBody>, media: MediaStore): Promise<MessageContent> {
  if (body.text !== undefined) return { kind: 'text', ...plain(body.text) };
  if (body.formatted !== undefined) return { kind: 'text', text: body.formatted.text, entities: body.formatted.entities };
  if (body.notice !== undefined) return { kind: 'notice', ...plain(body.notice) };
  if (body.location !== undefined) return { kind: 'location', ...body.location };
  if (body.extension !== undefined) return { kind: 'extension', ...body.extension };
  if (body.image !== undefined) {
    const img = body.image;
    const bytes = img.base64 !== undefined
      ? decodeBase64(img.base64)
      : generateTestPng(img.generate?.width ?? 64, img.generate?.height ?? 64, img.generate?.color);
    const mimetype = img.mimetype ?? 'image/png';
    const meta = await media.put(bytes, mimetype);
    const size = pngSize(bytes);
    return {
      kind: 'image', media_id: meta.id, mimetype, size: meta.size, filename: img.filename ?? 'image.png',
      ...(size ?? {}),
      ...(img.caption ? { caption: plain(img.caption) } : {}),
    };
  }
  if (body.media !== undefined) {
    const m = body.media;
    const bytes = decodeBase64(m.base64);
    const meta = await media.put(bytes, m.mimetype);
    return {
      kind: m.kind, media_id: meta.id, mimetype: m.mimetype, size: meta.size,
      ...(m.filename ? { filename: m.filename } : {}),
      ...(m.caption ? { caption: plain(m.caption) } : {}),
      ...(m.duration_ms !== undefined ? { duration_ms: m.duration_ms } : {}),
      ...(m.kind === 'image' ? pngSize(bytes) ?? {} : {}),
    };
  }
  throw new NetworkError('bad_request', 'no content');
}
