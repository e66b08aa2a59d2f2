/**
 * WhatsApp profile pictures (of people and groups) as ChatAvatars. Baileys' `profilePictureUrl`
 * answers with a CDN URL; the avatar's id is derived from that URL's path (the query holds only
 * expiring signatures), so a new picture gets a new id and the core re-uploads only then. The
 * picture itself is fetched when the core opens the source.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ChatAvatar, MediaSource } from '@tributary/core/network/index';
import type { WAClientPort } from '../client/port.js';

export type FetchFn = typeof globalThis.fetch;

/** WhatsApp's answers for "no picture" (404 item-not-found) and "hidden by privacy" (401 not-authorized). */
const NO_PICTURE_CODES = new Set([401, 404]);
const NO_PICTURE_TEXTS = new Set(['item-not-found', 'not-authorized']);

/** Whether a profilePictureUrl error means the picture is missing or hidden (not a failure). */
export function isNoPictureError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { message?: unknown; data?: unknown; output?: { statusCode?: unknown } };
  // Baileys' IQ errors carry the server's code in `data` (statusCode stays 500).
  if (typeof e.data === 'number' && NO_PICTURE_CODES.has(e.data)) return true;
  if (typeof e.output?.statusCode === 'number' && NO_PICTURE_CODES.has(e.output.statusCode)) return true;
  return typeof e.message === 'string' && NO_PICTURE_TEXTS.has(e.message);
}

/** The identity of the picture at a URL: a hash of its path, without host or query. */
export function avatarIdOf(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split(/[?#]/)[0] ?? url;
  }
  return `wa-${createHash('sha256').update(path).digest('hex').slice(0, 32)}`;
}

/** A MediaSource that downloads the picture at `url` when opened. */
export function pictureSource(url: string, fetch: FetchFn = globalThis.fetch): MediaSource {
  return {
    mimetype: 'image/jpeg',
    async open(): Promise<Readable> {
      const res = await fetch(url);
      if (!res.ok || !res.body) {
        await res.body?.cancel().catch(() => undefined);
        throw new Error(`profile picture download failed: HTTP ${res.status}`);
      }
      return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    },
  };
}

/** The avatar from a picture URL. */
export function avatarFromUrl(url: string, fetch: FetchFn = globalThis.fetch): ChatAvatar {
  return { id: avatarIdOf(url), source: pictureSource(url, fetch) };
}

/**
 * The full-size profile picture of a person or group, or undefined when there is none or it is
 * hidden from us. Other errors (timeouts, a closed socket) are thrown.
 */
export async function avatarOf(sock: Pick<WAClientPort, 'profilePictureUrl'>, jid: string, fetch: FetchFn = globalThis.fetch): Promise<ChatAvatar | undefined> {
  let url: string | undefined;
  try {
    url = await sock.profilePictureUrl(jid, 'image');
  } catch (err) {
    if (isNoPictureError(err)) return undefined;
    throw err;
  }
  return url ? avatarFromUrl(url, fetch) : undefined;
}
