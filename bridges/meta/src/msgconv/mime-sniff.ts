/**
 * The type of a media file from its first bytes, for attachments Meta sends without a mimetype
 * (Instagram's slide attachments carry none for images, video and voice). Only the formats Meta
 * serves are recognised; anything else stays unknown. The signatures are the formats' own.
 */
import { PassThrough, type Readable } from 'node:stream';

/** How many leading bytes `mimeFromBytes` looks at. */
export const SNIFF_BYTES = 16;

const ascii = (b: Uint8Array, at: number, s: string) => s.split('').every((c, i) => b[at + i] === c.charCodeAt(0));

export function mimeFromBytes(b: Uint8Array): string | undefined {
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b[0] === 0x89 && ascii(b, 1, 'PNG')) return 'image/png';
  if (ascii(b, 0, 'GIF8')) return 'image/gif';
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return 'image/webp';
  if (ascii(b, 4, 'ftyp')) {
    if (ascii(b, 8, 'qt  ')) return 'video/quicktime';
    if (ascii(b, 8, 'M4A ')) return 'audio/mp4';
    return 'video/mp4';
  }
  if (ascii(b, 0, 'OggS')) return 'audio/ogg';
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'video/webm';
  if (ascii(b, 0, 'ID3') || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0 && b.length > 2)) return 'audio/mpeg';
  if (ascii(b, 0, '%PDF-')) return 'application/pdf';
  return undefined;
}

/**
 * Reads the head of a stream to name its type, and gives back a stream with every byte (the head
 * included). A stream that ends or fails early is handed on as it is.
 */
export async function sniffStream(stream: Readable): Promise<{ mimetype: string | undefined; stream: Readable }> {
  const head: Buffer[] = [];
  let size = 0;
  for (;;) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      head.push(chunk);
      size += chunk.length;
      if (size >= SNIFF_BYTES) break;
      continue;
    }
    if (stream.readableEnded || stream.destroyed) break;
    const more = await new Promise<boolean>((resolve) => {
      const done = (v: boolean) => { stream.off('readable', onReadable); stream.off('end', onEnd); stream.off('error', onEnd); resolve(v); };
      const onReadable = () => done(true);
      const onEnd = () => done(false);
      stream.once('readable', onReadable);
      stream.once('end', onEnd);
      stream.once('error', onEnd);
    });
    if (!more) break;
  }
  const first = Buffer.concat(head);
  const out = new PassThrough();
  if (first.length) out.write(first);
  stream.on('error', (err) => out.destroy(err));
  stream.pipe(out);
  return { mimetype: mimeFromBytes(first), stream: out };
}
