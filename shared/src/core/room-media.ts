/**
 * Media the bridge sends into a room, encrypted when the room is (Matrix clients expect encrypted
 * attachments there and the homeserver should not see the bytes). Connectors know nothing of it:
 * they upload through their ConvertContext and put `url` (and `info.thumbnail_url`, or a link
 * preview's `og:image`) in the content as always; the core uploads encrypted, remembers each URL's
 * `file` object, and rewrites the content just before sending.
 */
import { asBridgeError, type MediaSource, type UploadedMedia } from '../network/index.js';
import { parseEncryptedFile, type EncryptedFile } from '../matrix/encrypted-media.js';
import type { Bridge } from './bridge.js';

/**
 * Whether media sent into `roomId` must be encrypted: the room is encrypted, or it is a portal
 * and `encryption.require` will turn encryption on before the first send (see BridgeCrypto.wrap).
 * Encryption is never turned off again, so an upload encrypted here is never sent in the clear.
 */
export async function roomWantsEncryptedMedia(b: Bridge, roomId: string, asUser: string, opts: { portal: boolean }): Promise<boolean> {
  const crypto = b.crypto;
  if (!crypto) return false;
  if (crypto.rooms.knownEncrypted(roomId)) return true;
  if (opts.portal && b.config.encryption.require) return true;
  return (await crypto.rooms.get(roomId, asUser)).encryption !== null;
}

/** The uploads of one conversion (one remote message or edit) into one room. */
export class RoomMediaUploads {
  private readonly files = new Map<string, EncryptedFile>();
  private encrypted: Promise<boolean> | undefined;

  constructor(private readonly b: Bridge, private readonly roomId: string, private readonly asUser: string, private readonly portal = true) {}

  async upload(src: MediaSource): Promise<UploadedMedia> {
    this.encrypted ??= roomWantsEncryptedMedia(this.b, this.roomId, this.asUser, { portal: this.portal });
    if (!(await this.encrypted)) return this.b.media.upload(src, this.asUser);
    const up = await this.b.media.uploadEncrypted(src, this.asUser);
    this.files.set(up.url, up.file);
    return { url: up.url, size: up.size, mimetype: up.mimetype };
  }

  /** `content` as it must be sent: every encrypted upload's URL replaced by its `file` object. */
  apply<T extends Record<string, unknown>>(content: T): T {
    if (this.files.size === 0) return content;
    const out = withEncryptedFiles(content, this.files);
    const placed = new Set<unknown>(this.files.values());
    const text = JSON.stringify(out, (_k, v: unknown) => (placed.has(v) ? undefined : v));
    for (const url of this.files.keys()) {
      // A connector that put the URL somewhere this does not know of: clients cannot show it.
      if (text.includes(JSON.stringify(url))) this.b.log.warn({ room: this.roomId, url }, 'an encrypted upload\'s URL is left in a place of the content that has no encrypted form');
    }
    return out;
  }
}

/** The `file` of a Matrix event, checked; a bad one is a clear, final failure of the send. */
export function encryptedFileOf(raw: unknown): EncryptedFile {
  try {
    return parseEncryptedFile(raw);
  } catch (err) {
    throw asBridgeError(err).with({ status: 'fail', reason: 'm_bad_format', certain: true });
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Copy of `content` where each URL in `files` becomes its `file` object: `url` -> `file`,
 * `info.thumbnail_url` -> `info.thumbnail_file`, a link preview's `og:image` ->
 * `beeper:image:encryption` (MSC4095), also inside `m.new_content`. Other URLs are left as they are.
 */
export function withEncryptedFiles<T extends Record<string, unknown>>(content: T, files: ReadonlyMap<string, EncryptedFile>): T {
  const out: Record<string, unknown> = { ...content };
  const fileOf = (url: unknown) => (typeof url === 'string' ? files.get(url) : undefined);
  const file = fileOf(out.url);
  if (file) {
    delete out.url;
    out.file = file;
  }
  if (isRecord(out.info)) {
    const info: Record<string, unknown> = { ...out.info };
    const thumb = fileOf(info.thumbnail_url);
    if (thumb) {
      delete info.thumbnail_url;
      info.thumbnail_file = thumb;
    }
    out.info = info;
  }
  const previews = out['com.beeper.linkpreviews'];
  if (Array.isArray(previews)) {
    out['com.beeper.linkpreviews'] = previews.map((p: unknown) => {
      const image = isRecord(p) ? fileOf(p['og:image']) : undefined;
      if (!isRecord(p) || !image) return p;
      const { 'og:image': _plain, ...rest } = p;
      return { ...rest, 'beeper:image:encryption': image };
    });
  }
  if (isRecord(out['m.new_content'])) out['m.new_content'] = withEncryptedFiles(out['m.new_content'], files);
  return out as T;
}
