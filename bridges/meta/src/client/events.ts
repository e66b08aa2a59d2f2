/**
 * Typed events from LightSpeed tables: what a push (or a sync) means to a bridge. Rows of one
 * response are grouped by table, so the relative order of different kinds is lost; events come
 * out in an order that keeps references valid: contacts and threads first, then messages (with
 * their attachments), edits, reactions, unsends, read receipts, typing.
 */
import type { LSRow, LSTables } from '../lightspeed/tables.js';
import { isEncryptedThreadType } from '../lightspeed/thread-types.js';

/** An attachment row, with its call-to-action row (joined by attachment fbid) when Meta sent one. */
type Attachment = (LSRow<'LSInsertAttachment'> | LSRow<'LSInsertBlobAttachment'>) & { cta?: LSRow<'LSInsertAttachmentCta'> };

export type MetaThreadChange =
  /** `encrypted`: the thread type says end-to-end encrypted; its messages never come over LightSpeed. */
  | { change: 'upsert'; thread: LSRow<'LSDeleteThenInsertThread'>; encrypted: boolean }
  /** Meta moved the thread to end-to-end encryption (moveThreadToE2EECutoverFolder). */
  | { change: 'encrypted'; threadKey: string }
  | { change: 'name'; threadKey: string; name: string }
  | { change: 'image'; threadKey: string; imageUrl: string | undefined }
  | { change: 'participant-added'; participant: LSRow<'LSAddParticipantIdToGroupThread'> }
  | { change: 'participant-removed'; threadKey: string; participantId: string };

export type MetaEvent =
  | { type: 'message'; message: LSRow<'LSInsertMessage'>; attachments: Attachment[] }
  | { type: 'edit'; edit: LSRow<'LSEditMessage'> }
  | { type: 'unsend'; threadKey: string; messageId: string }
  | { type: 'reaction'; reaction: LSRow<'LSUpsertReaction'> }
  | { type: 'reaction-removed'; threadKey: string; messageId: string; actorId: string }
  | { type: 'read'; receipt: LSRow<'LSUpdateReadReceipt'> }
  | { type: 'typing'; threadKey: string; senderId: string; isTyping: boolean }
  | ({ type: 'thread' } & MetaThreadChange)
  | { type: 'contact'; contact: LSRow<'LSVerifyContactRowExists'> };

export type MetaEventType = MetaEvent['type'];

/** The events a table set holds. */
export function eventsFromTables(tables: LSTables): MetaEvent[] {
  const out: MetaEvent[] = [];
  for (const contact of tables.LSVerifyContactRowExists ?? []) out.push({ type: 'contact', contact });
  for (const thread of tables.LSDeleteThenInsertThread ?? []) out.push({ type: 'thread', change: 'upsert', thread, encrypted: isEncryptedThreadType(thread.threadType) });
  for (const r of tables.LSMoveThreadToE2EECutoverFolder ?? []) out.push({ type: 'thread', change: 'encrypted', threadKey: r.threadKey });
  for (const r of tables.LSSyncUpdateThreadName ?? []) out.push({ type: 'thread', change: 'name', threadKey: r.threadKey, name: r.threadName ?? '' });
  for (const r of tables.LSSetThreadImageURL ?? []) out.push({ type: 'thread', change: 'image', threadKey: r.threadKey, imageUrl: r.imageUrl });
  for (const participant of tables.LSAddParticipantIdToGroupThread ?? []) out.push({ type: 'thread', change: 'participant-added', participant });
  for (const r of tables.LSRemoveParticipantFromThread ?? []) out.push({ type: 'thread', change: 'participant-removed', threadKey: r.threadKey, participantId: r.participantId });

  const attachments = new Map<string, Attachment[]>();
  const ctas = new Map<string, LSRow<'LSInsertAttachmentCta'>>();
  for (const cta of tables.LSInsertAttachmentCta ?? []) if (cta.attachmentFbid) ctas.set(cta.attachmentFbid, cta);
  for (const row of [...(tables.LSInsertAttachment ?? []), ...(tables.LSInsertBlobAttachment ?? [])]) {
    const cta = row.attachmentFbid ? ctas.get(row.attachmentFbid) : undefined;
    const a: Attachment = cta ? { ...row, cta } : row;
    const list = attachments.get(a.messageId) ?? [];
    list.push(a);
    attachments.set(a.messageId, list);
  }
  for (const list of attachments.values()) list.sort((a, b) => (a.attachmentIndex ?? 0) - (b.attachmentIndex ?? 0));
  const messages = [...(tables.LSInsertMessage ?? []), ...(tables.LSUpsertMessage ?? [])].sort((a, b) => a.timestampMs - b.timestampMs);
  for (const message of messages) out.push({ type: 'message', message, attachments: attachments.get(message.messageId) ?? [] });

  for (const edit of tables.LSEditMessage ?? []) out.push({ type: 'edit', edit });
  for (const reaction of tables.LSUpsertReaction ?? []) out.push({ type: 'reaction', reaction });
  for (const r of tables.LSDeleteReaction ?? []) out.push({ type: 'reaction-removed', threadKey: r.threadKey, messageId: r.messageId, actorId: r.actorId });
  for (const r of tables.LSDeleteMessage ?? []) out.push({ type: 'unsend', threadKey: r.threadKey, messageId: r.messageId });
  for (const receipt of tables.LSUpdateReadReceipt ?? []) out.push({ type: 'read', receipt });
  for (const r of tables.LSUpdateTypingIndicator ?? []) out.push({ type: 'typing', threadKey: r.threadKey, senderId: r.senderId, isTyping: r.isTyping });
  return out;
}
