/**
 * Instagram "slide" deltas: the JSON an OnMailboxDelta carries, an array of
 * `{data:{slide_delta_processor:[delta, ...]}}`, each delta `{__typename, uq_seq_id (decimal
 * string), thread_fbid, ...}` with the fields of its type (type names and JSON keys are facts from
 * mautrix-meta's slidetypes). Parsed into a discriminated union; ids stay decimal strings.
 * A delta whose type we know but whose fields are wrong is an `InstagramError('bad-slide')`.
 */
import { InstagramError } from './errors.js';

export interface SlideMention {
  offset: number;
  length: number;
  userId: string;
  /** PROFILE, THREAD (@everyone), ... (fact). */
  rangeType: string;
}

export interface SlideAttachment {
  /** `file` is ours: Tributary's emulator stands in for a plain file with it (Instagram has none). */
  kind: 'image' | 'video' | 'audio' | 'animated' | 'sticker' | 'xma' | 'file';
  fbid?: string;
  /** The media, or for an XMA the page it opens (target_url). */
  url: string;
  previewUrl?: string;
  width?: number;
  height?: number;
  durationMs?: number;
  /** The type of the media when the key says it (attachment_mp4_url, attachment_webp_url); `file`: ours. */
  mimetype?: string;
  /** XMA card text (title_text, subtitle_text). */
  title?: string;
  subtitle?: string;
  /** `file` only (ours). */
  filename?: string;
}

export interface SlideMessage {
  messageId: string;
  threadId: string;
  senderId: string;
  timestampMs: number;
  /** The content's __typename (SlideMessageText, SlideMessageImageContent, ...). */
  contentType: string;
  text?: string;
  otid?: string;
  /** Ours: the emulator's sticker id (slide stickers carry none in the facts). */
  stickerId?: string;
  replyToMessageId?: string;
  mentions: SlideMention[];
  attachments: SlideAttachment[];
  editCount: number;
  isAdmin: boolean;
}

export interface SlideUser {
  /** The messaging id (interop_messaging_user_fbid), which thread participants and senders use. */
  userId: string;
  name: string;
  username?: string;
  pictureUrl?: string;
}

interface Base {
  seqId: string;
  threadId: string;
  typeName: string;
}

export type SlideDelta = Base & (
  | { kind: 'message'; message: SlideMessage }
  | { kind: 'edit'; messageId: string; text: string; editedAtMs?: number }
  | { kind: 'unsend'; messageId: string }
  | { kind: 'reaction'; messageId: string; senderId: string; emoji: string; timestampMs?: number }
  | { kind: 'reaction-removed'; messageId: string; senderId: string }
  | { kind: 'read-receipt'; participantId: string; watermarkMs: number }
  | { kind: 'mark-read'; readTimestampMs: number }
  | { kind: 'thread-name'; name: string }
  | { kind: 'thread-image'; uri: string }
  | { kind: 'participant-left'; participantId: string; actorId?: string }
  | { kind: 'participants-added'; title?: string; users: SlideUser[] }
  | { kind: 'admins'; adminIds: string[] }
  | { kind: 'folder'; folder: string }
  /** A delta with nothing to bridge (facts: NotYetImplemented, NoOp, Create1To1Thread, ...). */
  | { kind: 'ignored' }
  | { kind: 'unknown' }
);

export type SlideDeltaKind = SlideDelta['kind'];
type Obj = Record<string, unknown>;

const bad = (what: string): never => {
  throw new InstagramError('bad-slide', `slide delta: ${what}`);
};
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const ID = /^\d{1,20}$/;

function id(o: Obj, key: string, where: string): string {
  const v = o[key];
  if (typeof v === 'string' && ID.test(v)) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  return bad(`${where}.${key} is not an id`);
}
function str(o: Obj, key: string, where: string): string {
  const v = o[key];
  return typeof v === 'string' ? v : bad(`${where}.${key} is not a string`);
}
const optStr = (o: Obj, key: string): string | undefined => (typeof o[key] === 'string' && o[key] !== '' ? (o[key] as string) : undefined);
/** Times are decimal strings of ms (UnixMilliString, fact); numbers are accepted too. */
function ms(o: Obj, key: string, where: string): number {
  const v = o[key];
  const n = typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) ? n : bad(`${where}.${key} is not a time`);
}
const optNum = (o: Obj, key: string): number | undefined => (typeof o[key] === 'number' ? (o[key] as number) : undefined);
function obj(o: Obj, key: string, where: string): Obj {
  const v = o[key];
  return isObj(v) ? v : bad(`${where}.${key} is not an object`);
}

function attachmentsOf(content: Obj): SlideAttachment[] {
  const list = (key: string): Obj[] => (Array.isArray(content[key]) ? (content[key] as unknown[]).filter(isObj) : []);
  const media = (a: Obj, kind: SlideAttachment['kind']): SlideAttachment | undefined => {
    const url = optStr(a, 'attachment_cdn_url') ?? optStr(a, 'preview_cdn_url');
    if (!url) return undefined;
    const previewUrl = optStr(a, 'preview_cdn_url');
    const fbid = optStr(a, 'attachment_fbid');
    const width = optNum(a, 'preview_width');
    const height = optNum(a, 'preview_height');
    const durationMs = optNum(a, 'playable_duration_ms');
    return {
      kind, url, ...(fbid ? { fbid } : {}), ...(previewUrl ? { previewUrl } : {}), ...(width ? { width } : {}), ...(height ? { height } : {}),
      ...(durationMs !== undefined ? { durationMs } : {}),
    };
  };
  const out: Array<SlideAttachment | undefined> = [];
  switch (content.__typename) {
    case 'SlideMessageImageContent': out.push(...list('attachments').map((a) => media(a, 'image'))); break;
    case 'SlideMessageVideosContent': out.push(...list('videos').map((a) => media(a, 'video'))); break;
    case 'SlideMessageMultiMediaContent':
      out.push(...list('ordered_photo_video_attachments').map((a) => media(a, a.__typename === 'SlideMessagingVideoAttachment' ? 'video' : 'image')));
      break;
    case 'SlideMessageAudiosContent': out.push(...list('audio_attachments').map((a) => media(a, 'audio'))); break;
    case 'SlideMessageRavenImageContent':
    case 'SlideMessageRavenVideoContent':
      if (isObj(content.attachment)) out.push(media(content.attachment, content.__typename === 'SlideMessageRavenImageContent' ? 'image' : 'video'));
      break;
    case 'SlideMessageAnimatedMediaContent':
      for (const a of list('animated_media')) {
        const mp4 = optStr(a, 'attachment_mp4_url');
        const webp = optStr(a, 'attachment_webp_url');
        const url = mp4 ?? webp ?? optStr(a, 'preview_cdn_url');
        const width = optNum(a, 'preview_width');
        const height = optNum(a, 'preview_height');
        if (url) {
          out.push({
            kind: a.is_sticker === true ? 'sticker' : 'animated', url, ...(mp4 ? { mimetype: 'video/mp4' } : webp ? { mimetype: 'image/webp' } : {}),
            ...(width ? { width } : {}), ...(height ? { height } : {}),
          });
        }
      }
      break;
    case 'SlideMessageXMAContent': {
      const x = isObj(content.xma) ? content.xma : undefined;
      const target = x ? optStr(x, 'target_url') : undefined;
      if (!x || !target) break;
      const preview = isObj(x.preview_image) ? x.preview_image : isObj(x.xmaPreviewImage) ? x.xmaPreviewImage : undefined;
      const previewUrl = preview ? optStr(preview, 'url') : undefined;
      const title = optStr(x, 'title_text') ?? optStr(x, 'xmaTitle');
      const subtitle = optStr(x, 'subtitle_text') ?? optStr(x, 'caption_body_text');
      out.push({ kind: 'xma', url: target, ...(previewUrl ? { previewUrl } : {}), ...(title ? { title } : {}), ...(subtitle ? { subtitle } : {}) });
      break;
    }
    case 'TributaryFileContent':
      for (const a of list('attachments')) {
        const m = media(a, 'file');
        const filename = optStr(a, 'filename');
        const mimetype = optStr(a, 'mimetype');
        if (m) out.push({ ...m, ...(filename ? { filename } : {}), ...(mimetype ? { mimetype } : {}) });
      }
      break;
    case 'SlideMessageStoreStickerContent':
    case 'SlideMessageAvatarStickerXMAContent':
    case 'SlideMessageCutoutStickerXMAContent':
    case 'SlideMessageAIStickerXMAContent': {
      const url = optStr(content, 'preview_url');
      const width = optNum(content, 'preview_width');
      const height = optNum(content, 'preview_height');
      if (url) out.push({ kind: 'sticker', url, ...(width ? { width } : {}), ...(height ? { height } : {}) });
      break;
    }
    default: break;
  }
  return out.filter((a): a is SlideAttachment => a !== undefined);
}

function textOfAdmin(content: Obj): string | undefined {
  if (!Array.isArray(content.text_fragments)) return undefined;
  return (content.text_fragments as unknown[]).filter(isObj).map((f) => (typeof f.plaintext === 'string' ? f.plaintext : '')).join('');
}

export function parseSlideMessage(m: unknown, where = 'message'): SlideMessage {
  if (!isObj(m)) return bad(`${where} is not an object`);
  const content = obj(m, 'content', where);
  const contentType = typeof content.__typename === 'string' ? content.__typename : bad(`${where}.content has no __typename`);
  const isAdmin = contentType === 'SlideMessageAdminText';
  const text = isAdmin ? textOfAdmin(content) : optStr(m, 'text_body') ?? optStr(content, 'text_body') ?? optStr(content, 'xma_text_body');
  const stickerId = optStr(content, 'tributary_sticker_id');
  const mentions: SlideMention[] = Array.isArray(m.mentions)
    ? (m.mentions as unknown[]).filter(isObj).map((x) => ({
      offset: optNum(x, 'offset') ?? 0, length: optNum(x, 'length') ?? 0, userId: id(x, 'user_fbid', `${where}.mentions`), rangeType: optStr(x, 'profile_range_type') ?? 'PROFILE',
    }))
    : [];
  const otid = optStr(m, 'offline_threading_id');
  const replyTo = optStr(m, 'replied_to_message_id');
  return {
    messageId: str(m, 'message_id', where),
    threadId: id(m, 'thread_fbid', where),
    senderId: id(m, 'sender_fbid', where),
    timestampMs: ms(m, 'timestamp_ms', where),
    contentType,
    ...(text !== undefined ? { text } : {}),
    ...(otid && ID.test(otid) ? { otid } : {}),
    ...(stickerId && ID.test(stickerId) ? { stickerId } : {}),
    ...(replyTo ? { replyToMessageId: replyTo } : {}),
    mentions,
    attachments: attachmentsOf(content),
    editCount: Array.isArray(m.slide_edit_history) ? m.slide_edit_history.length : 0,
    isAdmin,
  };
}

export function parseSlideUser(u: unknown, where: string): SlideUser {
  if (!isObj(u)) return bad(`${where} is not an object`);
  const userId = typeof u.interop_messaging_user_fbid === 'string' || typeof u.interop_messaging_user_fbid === 'number'
    ? id(u, 'interop_messaging_user_fbid', where) : id(u, 'id', where);
  const username = optStr(u, 'username');
  const pictureUrl = optStr(u, 'profile_pic_url');
  return { userId, name: optStr(u, 'full_name') ?? username ?? userId, ...(username ? { username } : {}), ...(pictureUrl ? { pictureUrl } : {}) };
}

const IGNORED = new Set(['SlideUQPPNotYetImplementedMutation', 'SlideUQPPNoOpMutation', 'SlideUQPPCreate1To1Thread', 'SlideUQPPUserReachabilityStatus']);

export function parseSlideDelta(d: unknown): SlideDelta {
  if (!isObj(d)) return bad('not an object');
  const typeName = typeof d.__typename === 'string' ? d.__typename : bad('no __typename');
  const w = typeName;
  const base: Base = { typeName, seqId: id(d, 'uq_seq_id', w), threadId: typeof d.thread_fbid === 'string' && ID.test(d.thread_fbid) ? d.thread_fbid : '' };
  const needThread = (): void => {
    if (!base.threadId) bad(`${w}.thread_fbid is not an id`);
  };
  switch (typeName) {
    case 'SlideUQPPNewMessage':
    case 'SlideUQPPNewRavenMessage':
    case 'SlideUQPPNewGenieMessage':
    case 'SlideUQPPAdminTextMessage': {
      const message = parseSlideMessage(d.message, `${w}.message`);
      return { ...base, threadId: base.threadId || message.threadId, kind: 'message', message };
    }
    case 'SlideUQPPEditMessage': {
      needThread();
      const entry = isObj(d.slide_edit_history_entry) ? d.slide_edit_history_entry : {};
      const editedAtMs = typeof entry.timestamp_ms === 'string' || typeof entry.timestamp_ms === 'number' ? ms(entry, 'timestamp_ms', w) : undefined;
      return { ...base, kind: 'edit', messageId: str(d, 'message_id', w), text: str(d, 'text_body', w), ...(editedAtMs !== undefined ? { editedAtMs } : {}) };
    }
    case 'SlideUQPPDeleteMessage':
      needThread();
      return { ...base, kind: 'unsend', messageId: str(d, 'message_id', w) };
    case 'SlideUQPPCreateReaction':
    case 'SlideUQPPDeleteReaction': {
      needThread();
      const r = obj(d, 'reaction', w);
      const senderId = id(r, 'sender_fbid', `${w}.reaction`);
      if (typeName === 'SlideUQPPDeleteReaction') return { ...base, kind: 'reaction-removed', messageId: str(d, 'message_id', w), senderId };
      const timestampMs = r.reaction_timestamp_ms !== undefined ? ms(r, 'reaction_timestamp_ms', `${w}.reaction`) : undefined;
      return { ...base, kind: 'reaction', messageId: str(d, 'message_id', w), senderId, emoji: str(r, 'reaction', `${w}.reaction`), ...(timestampMs !== undefined ? { timestampMs } : {}) };
    }
    case 'SlideUQPPReadReceipt': {
      needThread();
      const r = obj(d, 'read_receipt', w);
      return { ...base, kind: 'read-receipt', participantId: id(r, 'participant_fbid', `${w}.read_receipt`), watermarkMs: ms(r, 'watermark_timestamp_ms', `${w}.read_receipt`) };
    }
    case 'SlideUQPPMarkRead':
      needThread();
      return { ...base, kind: 'mark-read', readTimestampMs: ms(d, 'read_timestamp_ms', w) };
    case 'SlideUQPPThreadName':
      needThread();
      return { ...base, kind: 'thread-name', name: str(d, 'thread_name', w) };
    case 'SlideUQPPThreadImage':
      needThread();
      return { ...base, kind: 'thread-image', uri: isObj(d.thread_image) && typeof d.thread_image.uri === 'string' ? d.thread_image.uri : '' };
    case 'SlideUQPPParticipantLeftGroupThread': {
      needThread();
      const actorId = typeof d.actor_fbid === 'string' && ID.test(d.actor_fbid) ? d.actor_fbid : undefined;
      return { ...base, kind: 'participant-left', participantId: id(d, 'left_participant_fbid', w), ...(actorId ? { actorId } : {}) };
    }
    case 'SlideUQPPParticipantsAddedToGroupThread': {
      needThread();
      const thread = obj(obj(d, 'thread', w), 'as_ig_direct_thread', `${w}.thread`);
      const users = Array.isArray(thread.users) ? thread.users.map((u, i) => parseSlideUser(u, `${w}.thread.users[${i}]`)) : bad(`${w}.thread.users is not a list`);
      const title = optStr(thread, 'thread_title');
      return { ...base, kind: 'participants-added', users, ...(title ? { title } : {}) };
    }
    case 'SlideUQPPGenericMapAdminsKeyMutation': {
      needThread();
      const ids = Array.isArray(d.admin_igids) ? d.admin_igids : bad(`${w}.admin_igids is not a list`);
      return { ...base, kind: 'admins', adminIds: ids.map((x) => (typeof x === 'string' && ID.test(x) ? x : bad(`${w}.admin_igids holds a non-id`))) };
    }
    case 'SlideUQPPUpdateThreadFolder':
      needThread();
      return { ...base, kind: 'folder', folder: str(d, 'folder', w) };
    default:
      return { ...base, kind: IGNORED.has(typeName) ? 'ignored' : 'unknown' };
  }
}

/** The deltas of one OnMailboxDelta's JSON text, in order. */
export function parseSlideDeltaBatch(json: string): SlideDelta[] {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return bad('the delta text is not JSON');
  }
  if (!Array.isArray(v)) return bad('the delta text is not a list of wrappers');
  const out: SlideDelta[] = [];
  for (const wrapper of v) {
    const list = isObj(wrapper) && isObj(wrapper.data) ? wrapper.data.slide_delta_processor : undefined;
    if (!Array.isArray(list)) return bad('a wrapper without data.slide_delta_processor');
    for (const d of list) out.push(parseSlideDelta(d));
  }
  return out;
}
