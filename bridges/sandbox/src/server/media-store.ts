import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { NetworkError } from './errors.js';
import type { MediaMeta } from './model-types.js';

export const DEFAULT_MAX_MEDIA_BYTES = 50 * 1024 * 1024;
const MEDIA_ID_RE = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * Uploaded media. In memory, or with `dir` one file per id on disk (so `--state` survives
 * restarts without base64 in the JSON snapshot). Ids are random and unguessable.
 */
export class MediaStore {
  private readonly meta = new Map<string, MediaMeta>();
  private readonly bytes = new Map<string, Buffer>();

  constructor(readonly maxBytes: number = DEFAULT_MAX_MEDIA_BYTES, private readonly dir?: string) {}

  has(id: string): boolean {
    return this.meta.has(id);
  }

  get(id: string): MediaMeta | undefined {
    return this.meta.get(id);
  }

  list(): MediaMeta[] {
    return [...this.meta.values()];
  }

  /** Re-registers media kept on disk by an earlier run. */
  restore(list: MediaMeta[]): void {
    if (!this.dir) return;
    for (const m of list) if (MEDIA_ID_RE.test(m.id)) this.meta.set(m.id, m);
  }

  /** Reads the whole stream, refusing it with `too_large` past the cap. */
  async putStream(source: AsyncIterable<Buffer | Uint8Array | string>, mimetype: string): Promise<MediaMeta> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of source) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      size += buf.length;
      if (size > this.maxBytes) throw new NetworkError('too_large', `media is larger than ${this.maxBytes} bytes`);
      chunks.push(buf);
    }
    return this.put(Buffer.concat(chunks, size), mimetype);
  }

  async put(data: Buffer, mimetype: string): Promise<MediaMeta> {
    if (data.length > this.maxBytes) throw new NetworkError('too_large', `media is larger than ${this.maxBytes} bytes`);
    const id = randomBytes(18).toString('base64url');
    const meta: MediaMeta = { id, mimetype, size: data.length, created_at: Date.now() };
    if (this.dir) {
      await mkdir(this.dir, { recursive: true });
      const tmp = join(this.dir, `${id}.tmp`);
      await writeFile(tmp, data);
      await rename(tmp, join(this.dir, id));
    } else {
      this.bytes.set(id, data);
    }
    this.meta.set(id, meta);
    return meta;
  }

  open(id: string): { meta: MediaMeta; stream: Readable } {
    const meta = MEDIA_ID_RE.test(id) ? this.meta.get(id) : undefined;
    if (!meta) throw new NetworkError('not_found', `no media "${id}"`);
    const mem = this.bytes.get(id);
    const stream = mem ? Readable.from([mem]) : createReadStream(join(this.dir ?? '.', id));
    return { meta, stream };
  }

  async remove(id: string): Promise<void> {
    this.meta.delete(id);
    this.bytes.delete(id);
    if (this.dir && MEDIA_ID_RE.test(id)) await rm(join(this.dir, id), { force: true });
  }
}
