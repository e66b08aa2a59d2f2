/** Fixture rows and a recording ConvertContext for the Meta message converter tests. */
import { Readable } from 'node:stream';
import type { LSRow } from '../../bridges/meta/src/lightspeed/tables.js';
import type { MetaConvertDeps } from '../../bridges/meta/src/msgconv/to-matrix-common.js';
import { formattedToContent } from '../../shared/src/matrix/content.js';
import { portalKey, type ConvertContext, type MediaSource } from '../../shared/src/network/index.js';

export const THREAD = '1000000000000001';
export const ALICE = '100004000000001';
export const BOB = '100004000000002';

export const ghostOf = (remote: string): string | undefined => (/^\d{1,19}$/.test(remote) ? `@meta_${remote}:example.org` : undefined);

export function messageRow(over: Partial<LSRow<'LSInsertMessage'>> = {}): LSRow<'LSInsertMessage'> {
  return { threadKey: THREAD, timestampMs: 1_700_000_000_000, messageId: 'mid.$m1', senderId: ALICE, ...over };
}

export function attachmentRow(over: Partial<LSRow<'LSInsertAttachment'>> = {}): LSRow<'LSInsertAttachment'> {
  return { threadKey: THREAD, messageId: 'mid.$m1', ...over };
}

export function blobRow(over: Partial<LSRow<'LSInsertBlobAttachment'>> = {}): LSRow<'LSInsertBlobAttachment'> {
  return { threadKey: THREAD, messageId: 'mid.$m1', ...over };
}

export interface Recorded {
  ctx: ConvertContext;
  deps: MetaConvertDeps;
  /** What the core was asked to upload, with the bytes the source gave. */
  uploads: Array<{ source: MediaSource; bytes: string }>;
  downloads: string[];
}

/** A context whose uploads read the source fully; URLs listed in `failing` fail to download. */
export function recordingContext(opts: { failing?: string[]; isDm?: boolean; platform?: 'messenger' | 'instagram' } = {}): Recorded {
  const uploads: Recorded['uploads'] = [];
  const downloads: string[] = [];
  const deps: MetaConvertDeps = {
    platform: opts.platform ?? 'messenger',
    download: async (url) => {
      downloads.push(url);
      if (opts.failing?.includes(url)) throw new Error('HTTP 404');
      return Readable.from([Buffer.from(`bytes of ${url}`)]);
    },
  };
  const ctx: ConvertContext = {
    portal: { key: portalKey(THREAD), roomId: '!room:example.org', isDm: opts.isDm ?? false },
    uploadMedia: async (source) => {
      const chunks: Buffer[] = [];
      for await (const chunk of await source.open()) chunks.push(Buffer.from(chunk as Buffer));
      const bytes = Buffer.concat(chunks).toString();
      uploads.push({ source, bytes });
      return { url: `mxc://example.org/u${uploads.length}`, size: bytes.length, mimetype: source.mimetype };
    },
    matrixUserIdFor: (user) => ghostOf(user) ?? '@unknown:example.org',
    textContent: (text, msgtype) => formattedToContent(text, ghostOf, msgtype),
  };
  return { ctx, deps, uploads, downloads };
}
