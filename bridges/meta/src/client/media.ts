/**
 * Media upload and download. Upload facts (research 3.2): a form post to `/ajax/mercury/upload.php`
 * with the session's cookies and fb_dtsg returns the attachment's fbid, which SendMessage then
 * carries in `attachment_fbids`. The field name `farr`, the `for (;;);` guard before the JSON and
 * the `payload.metadata[0].<kind>_id` shape are the browser's; Instagram's own upload (rupload) is
 * not in the research, so the Instagram flavour posts to the same path, which only our emulator
 * is known to accept.
 */
import type { MetaPageConfig } from '../page-config.js';
import { MetaClientError } from './errors.js';
import { readCapped, type MetaHttpSession } from './http-session.js';

export type UploadedMediaKind = 'image' | 'video' | 'audio' | 'file' | 'gif';

export interface UploadedMedia {
  /** The attachment fbid for SendMessage's attachment_fbids. */
  fbid: string;
  kind: UploadedMediaKind;
}

export interface DownloadedMedia {
  bytes: Uint8Array;
  mimeType: string;
}

const ID_KEYS: Array<[string, UploadedMediaKind]> = [['image_id', 'image'], ['video_id', 'video'], ['audio_id', 'audio'], ['gif_id', 'gif'], ['file_id', 'file']];
const MAX_UPLOAD_RESPONSE = 1024 * 1024;

/** Reads the upload response: `for (;;);{"payload":{"metadata":{"0":{"image_id":...}}}}`. */
export function parseUploadResponse(text: string): UploadedMedia {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^for\s*\(;;\);/, ''));
  } catch {
    throw new MetaClientError('bad-response', 'the upload response is not JSON');
  }
  const obj = (data ?? {}) as { error?: unknown; errorSummary?: unknown; payload?: { metadata?: unknown } };
  if (obj.error !== undefined) {
    throw new MetaClientError('http', `the upload was refused: ${typeof obj.errorSummary === 'string' ? obj.errorSummary : String(obj.error)}`);
  }
  const metadata = obj.payload?.metadata;
  const first: unknown = Array.isArray(metadata) ? metadata[0] : metadata && typeof metadata === 'object' ? (metadata as Record<string, unknown>)['0'] : undefined;
  if (first && typeof first === 'object') {
    for (const [key, kind] of ID_KEYS) {
      const v = (first as Record<string, unknown>)[key];
      if ((typeof v === 'string' && /^\d{1,20}$/.test(v)) || (typeof v === 'number' && Number.isSafeInteger(v))) return { fbid: String(v), kind };
    }
  }
  throw new MetaClientError('bad-response', 'the upload response carries no attachment id');
}

export interface UploadOptions {
  /** A voice clip recorded for the chat: the form's `voice_clip` field (fact), which Meta shows with its player. */
  voiceClip?: boolean;
}

export async function uploadMedia(session: MetaHttpSession, page: MetaPageConfig, bytes: Uint8Array, mimeType: string, filename: string, opts: UploadOptions = {}): Promise<UploadedMedia> {
  if (!(bytes instanceof Uint8Array)) throw new MetaClientError('bad-response', 'uploadMedia needs bytes');
  if (!/^[\w.+-]+\/[\w.+-]+$/.test(mimeType)) throw new MetaClientError('bad-response', 'uploadMedia needs a mime type like image/png');
  const form = new FormData();
  form.set('farr', new Blob([bytes], { type: mimeType }), filename.replace(/[\r\n"]/g, '_') || 'file');
  form.set('fb_dtsg', page.fbDtsg);
  form.set('voice_clip', opts.voiceClip ? 'true' : 'false');
  const url = new URL(session.endpoints.uploadPath, session.endpoints.web);
  url.searchParams.set('__a', '1');
  const headers: Record<string, string> = {
    origin: session.endpoints.web,
    referer: new URL(session.endpoints.inboxPath, session.endpoints.web).href,
    'sec-fetch-dest': 'empty',
    'sec-fetch-mode': 'cors',
    'sec-fetch-site': 'same-origin',
  };
  if (page.lsd) headers['x-fb-lsd'] = page.lsd;
  if (session.platform === 'instagram') {
    headers['x-ig-app-id'] = page.appId;
    const csrf = session.cookies.exportValues().csrftoken;
    if (csrf) headers['x-csrftoken'] = csrf;
  }
  const res = await session.request(url, { method: 'POST', headers, body: form });
  const text = new TextDecoder().decode(await readCapped(res, MAX_UPLOAD_RESPONSE));
  if (res.status !== 200) throw new MetaClientError('http', `the upload answered HTTP ${res.status}`, { status: res.status });
  return parseUploadResponse(text);
}

/** Downloads a media URL (Meta's CDN needs no cookies, so none are sent to other origins). */
export async function downloadMedia(session: MetaHttpSession, url: string, maxBytes: number): Promise<DownloadedMedia> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MetaClientError('bad-response', 'the media URL is not a URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new MetaClientError('bad-response', 'the media URL is not http(s)');
  const res = await session.request(parsed, { method: 'GET' });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new MetaClientError('http', `the media download answered HTTP ${res.status}`, { status: res.status });
  }
  const bytes = await readCapped(res, maxBytes);
  return { bytes, mimeType: res.headers.get('content-type') ?? 'application/octet-stream' };
}
