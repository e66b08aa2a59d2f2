/**
 * Slide deltas and slide threads as LightSpeed rows, so Instagram feeds the client's existing
 * `eventsFromTables` (client/events.ts) and the connector needs no change. The row values for
 * what slide does not say are ours: thread type 1 (one-to-one) or 2 (group) from `is_group`,
 * attachment types 2 image, 4 video, 5 audio (voice clip), 3 animated, 1 sticker, 7 XMA (a card
 * with its link), 6 file (the emulator's stand-in, see slide.ts), mention type "p".
 *
 * A thread flagged `tributary_encrypted` (ours: only Tributary's emulator writes it, to model an
 * end-to-end encrypted chat the way its Messenger flavour does) is listed with thread type 15 or
 * 16; the `TributaryE2EECutover` delta (ours as well) moves a thread there while connected.
 */
import type { LSRow, LSTables } from '../lightspeed/tables.js';
import { META_THREAD_TYPE } from '../lightspeed/thread-types.js';
import { InstagramError } from './errors.js';
import { parseSlideMessage, parseSlideUser, type SlideDelta, type SlideMessage, type SlideUser } from './slide.js';

export const TRIBUTARY_E2EE_CUTOVER = 'TributaryE2EECutover';
const ATTACHMENT_TYPE = { sticker: 1, image: 2, animated: 3, video: 4, audio: 5, file: 6, xma: 7 } as const;

export interface SlideThread {
  threadId: string;
  isGroup: boolean;
  encrypted: boolean;
  title?: string;
  imageUrl?: string;
  lastActivityMs?: number;
  /** Everyone in the thread, the viewer included. */
  users: SlideUser[];
  adminIds: string[];
  /** group_creator's messaging id (fact); listed as the thread's super admin (ours). */
  creatorId?: string;
  messages: SlideMessage[];
  readReceipts: Array<{ participantId: string; watermarkMs: number }>;
  /** `system_folder` (fact: PENDING and SPAM are message requests). */
  systemFolder?: string;
}

/** The LightSpeed folder name of an Instagram system folder: requests are "pending" or "spam" (ours). */
export function folderNameOf(systemFolder: string | undefined): string {
  return systemFolder === 'PENDING' ? 'pending' : systemFolder === 'SPAM' ? 'spam' : 'inbox';
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** One `as_ig_direct_thread` object (a ThreadInfo: keys are facts). */
export function parseSlideThread(t: unknown): SlideThread {
  if (!isObj(t)) throw new InstagramError('bad-slide', 'slide thread: not an object');
  const threadId = typeof t.thread_fbid === 'string' && /^\d{1,20}$/.test(t.thread_fbid) ? t.thread_fbid : undefined;
  if (!threadId) throw new InstagramError('bad-slide', 'slide thread: thread_fbid is not an id');
  const users = (Array.isArray(t.users) ? t.users : []).map((u, i) => parseSlideUser(u, `thread.users[${i}]`));
  if (isObj(t.viewer)) {
    const viewer = parseSlideUser(t.viewer, 'thread.viewer');
    if (!users.some((u) => u.userId === viewer.userId)) users.push(viewer);
  }
  const edges = isObj(t.slide_messages) && Array.isArray(t.slide_messages.edges) ? t.slide_messages.edges : [];
  const messages = edges.filter(isObj).map((e, i) => parseSlideMessage(e.node, `thread.slide_messages[${i}]`));
  const receipts = Array.isArray(t.slide_read_receipts) ? t.slide_read_receipts.filter(isObj) : [];
  const title = typeof t.thread_title === 'string' && t.thread_title ? t.thread_title : undefined;
  const imageUrl = typeof t.thread_image_url === 'string' && t.thread_image_url ? t.thread_image_url : undefined;
  const last = Number(t.last_activity_timestamp_ms);
  const creator = isObj(t.group_creator) ? t.group_creator.interop_messaging_user_fbid ?? t.group_creator.id : undefined;
  const creatorId = typeof creator === 'string' || typeof creator === 'number' ? String(creator) : undefined;
  const systemFolder = typeof t.system_folder === 'string' && t.system_folder ? t.system_folder : undefined;
  return {
    ...(systemFolder ? { systemFolder } : {}),
    threadId, isGroup: t.is_group === true, encrypted: t.tributary_encrypted === true,
    ...(title ? { title } : {}), ...(imageUrl ? { imageUrl } : {}), ...(Number.isFinite(last) && last > 0 ? { lastActivityMs: last } : {}),
    users,
    adminIds: Array.isArray(t.admin_user_ids) ? t.admin_user_ids.filter((x): x is string => typeof x === 'string') : [],
    ...(creatorId && /^\d{1,20}$/.test(creatorId) ? { creatorId } : {}),
    messages,
    readReceipts: receipts.flatMap((r) => {
      const p = r.participant_fbid;
      const w = Number(r.watermark_timestamp_ms);
      return (typeof p === 'string' || typeof p === 'number') && Number.isFinite(w) ? [{ participantId: String(p), watermarkMs: w }] : [];
    }),
  };
}

/** Appends rows to a table set. */
class Rows {
  readonly tables: LSTables = {};
  add<T extends keyof LSTables>(table: T, row: NonNullable<LSTables[T]>[number]): void {
    const list = (this.tables[table] ??= [] as never) as Array<typeof row>;
    list.push(row);
  }
}

function addUser(rows: Rows, user: SlideUser, viewerId: string): void {
  rows.add('LSVerifyContactRowExists', {
    contactId: user.userId, name: user.name, firstName: user.name.split(' ')[0] ?? user.name,
    ...(user.username ? { secondaryName: user.username } : {}),
    ...(user.pictureUrl ? { profilePictureUrl: user.pictureUrl } : {}),
    contactType: 1, isSelf: user.userId === viewerId,
  });
}

function addMessage(rows: Rows, m: SlideMessage): void {
  const mentions = m.mentions.filter((x) => x.rangeType === 'PROFILE');
  const row: LSRow<'LSInsertMessage'> = {
    threadKey: m.threadId, timestampMs: m.timestampMs, messageId: m.messageId, senderId: m.senderId,
    ...(m.text !== undefined ? { text: m.text } : {}),
    ...(m.otid ? { offlineThreadingId: m.otid } : {}),
    ...(m.stickerId ? { stickerId: m.stickerId } : {}),
    ...(m.replyToMessageId ? { replySourceId: m.replyToMessageId, replySourceType: 1 } : {}),
    ...(m.isAdmin ? { isAdminMessage: true } : {}),
    editCount: m.editCount,
    ...(mentions.length ? {
      mentionIds: mentions.map((x) => x.userId).join(','), mentionOffsets: mentions.map((x) => x.offset).join(','),
      mentionLengths: mentions.map((x) => x.length).join(','), mentionTypes: mentions.map(() => 'p').join(','),
    } : {}),
  };
  rows.add('LSInsertMessage', row);
  m.attachments.forEach((a, i) => {
    if (a.kind === 'xma') {
      rows.add('LSInsertAttachment', {
        threadKey: m.threadId, messageId: m.messageId, timestampMs: m.timestampMs, attachmentIndex: i, attachmentType: ATTACHMENT_TYPE.xma, hasXma: true,
        actionUrl: a.url, ...(a.title ? { titleText: a.title } : {}), ...(a.subtitle ? { subtitleText: a.subtitle } : {}), ...(a.previewUrl ? { previewUrl: a.previewUrl } : {}),
      });
      return;
    }
    rows.add('LSInsertBlobAttachment', {
      threadKey: m.threadId, messageId: m.messageId, timestampMs: m.timestampMs, attachmentIndex: i,
      attachmentType: ATTACHMENT_TYPE[a.kind], hasMedia: true, playableUrl: a.url,
      ...(a.fbid ? { attachmentFbid: a.fbid } : {}),
      ...(a.kind === 'image' || a.kind === 'sticker' || a.previewUrl ? { previewUrl: a.previewUrl ?? a.url } : {}),
      ...(a.width ? { previewWidth: a.width } : {}), ...(a.height ? { previewHeight: a.height } : {}),
      ...(a.durationMs !== undefined ? { playableDurationMs: a.durationMs } : {}),
      ...(a.mimetype ? { attachmentMimeType: a.mimetype, playableUrlMimeType: a.mimetype } : {}),
      ...(a.filename ? { filename: a.filename } : {}),
    });
  });
}

/** Rows of whole threads (the mailbox snapshot, or one fetched thread). */
export function tablesFromThreads(threads: readonly SlideThread[], viewerId: string): LSTables {
  const rows = new Rows();
  const seen = new Set<string>();
  for (const t of threads) {
    const threadType = t.encrypted
      ? t.isGroup ? META_THREAD_TYPE.encryptedOverWaGroup : META_THREAD_TYPE.encryptedOverWaOneToOne
      : t.isGroup ? META_THREAD_TYPE.group : META_THREAD_TYPE.oneToOne;
    for (const u of t.users) {
      if (seen.has(u.userId)) continue;
      seen.add(u.userId);
      addUser(rows, u, viewerId);
    }
    rows.add('LSDeleteThenInsertThread', {
      threadKey: t.threadId, threadType, parentThreadKey: '-1', folderName: folderNameOf(t.systemFolder), memberCount: t.users.length,
      ...(t.lastActivityMs ? { lastActivityTimestampMs: t.lastActivityMs } : {}),
      ...(t.title ? { threadName: t.title } : {}), ...(t.imageUrl ? { threadPictureUrl: t.imageUrl } : {}),
    });
    for (const u of t.users) {
      const isSuperAdmin = t.isGroup && u.userId === t.creatorId;
      rows.add('LSAddParticipantIdToGroupThread', { threadKey: t.threadId, contactId: u.userId, isAdmin: isSuperAdmin || t.adminIds.includes(u.userId), isSuperAdmin });
    }
    if (!t.encrypted) for (const m of t.messages) addMessage(rows, m);
    for (const r of t.readReceipts) {
      rows.add('LSUpdateReadReceipt', { threadKey: t.threadId, contactId: r.participantId, readWatermarkTimestampMs: r.watermarkMs });
    }
  }
  return rows.tables;
}

/** Rows of messages alone (a page of history): message and attachment rows, no thread rows. */
export function tablesFromMessages(messages: readonly SlideMessage[]): LSTables {
  const rows = new Rows();
  for (const m of messages) addMessage(rows, m);
  return rows.tables;
}

/** Rows of a batch of deltas (in order; eventsFromTables groups them by kind). */
export function tablesFromDeltas(deltas: readonly SlideDelta[], viewerId: string, nowMs: number): LSTables {
  const rows = new Rows();
  for (const d of deltas) {
    switch (d.kind) {
      case 'message': addMessage(rows, d.message); break;
      case 'edit': rows.add('LSEditMessage', { messageId: d.messageId, text: d.text }); break;
      case 'unsend': rows.add('LSDeleteMessage', { threadKey: d.threadId, messageId: d.messageId }); break;
      case 'reaction':
        rows.add('LSUpsertReaction', { threadKey: d.threadId, messageId: d.messageId, actorId: d.senderId, reaction: d.emoji, timestampMs: d.timestampMs ?? nowMs });
        break;
      case 'reaction-removed': rows.add('LSDeleteReaction', { threadKey: d.threadId, messageId: d.messageId, actorId: d.senderId }); break;
      case 'read-receipt':
        rows.add('LSUpdateReadReceipt', { threadKey: d.threadId, contactId: d.participantId, readWatermarkTimestampMs: d.watermarkMs, readActionTimestampMs: nowMs });
        break;
      case 'mark-read':
        rows.add('LSUpdateReadReceipt', { threadKey: d.threadId, contactId: viewerId, readWatermarkTimestampMs: d.readTimestampMs, readActionTimestampMs: nowMs });
        break;
      case 'thread-name': rows.add('LSSyncUpdateThreadName', { threadKey: d.threadId, threadName: d.name }); break;
      case 'thread-image':
        rows.add('LSSetThreadImageURL', { threadKey: d.threadId, ...(d.uri ? { imageUrl: d.uri } : {}), isCustomThreadPicture: d.uri !== '' });
        break;
      case 'participant-left': rows.add('LSRemoveParticipantFromThread', { threadKey: d.threadId, participantId: d.participantId }); break;
      case 'participants-added':
        for (const u of d.users) {
          addUser(rows, u, viewerId);
          // No admin flags: slide does not say, and a known admin must stay one.
          rows.add('LSAddParticipantIdToGroupThread', { threadKey: d.threadId, contactId: u.userId });
        }
        break;
      case 'admins':
        // The full admin list (fact: admin_igids); members not in it are no longer admins, which
        // the connector learns from a thread fetch, not from here.
        for (const id of d.adminIds) rows.add('LSAddParticipantIdToGroupThread', { threadKey: d.threadId, contactId: id, isAdmin: true });
        break;
      case 'folder': break; // the stream fetches the thread first (ig-sync.ts), which says its folder
      case 'unknown':
        if (d.typeName === TRIBUTARY_E2EE_CUTOVER) rows.add('LSMoveThreadToE2EECutoverFolder', { threadKey: d.threadId });
        break;
      case 'ignored': break;
    }
  }
  return rows.tables;
}
