/**
 * What one login knows of its Meta mailbox: threads, their participants, contacts, and an index of
 * recent messages. LightSpeed sends rows, not objects, and an edit or a read receipt names a message
 * or a time but not always its thread or author, so the connector keeps these to build events and
 * chat info. Fed from the page's embedded tables, sync responses, pushes and task responses.
 */
import type { LSRow, LSTables } from '../lightspeed/tables.js';
import { encryptedTypeOf, isEncryptedThreadType, isGroupThreadType } from '../lightspeed/thread-types.js';

export interface MetaThread {
  threadKey: string;
  name?: string;
  pictureUrl?: string;
  description?: string;
  threadType?: number;
  folderName?: string;
  lastActivityMs?: number;
  /** End-to-end encrypted: its messages travel outside LightSpeed and cannot be bridged yet. */
  encrypted?: boolean;
}

export interface MetaParticipant {
  contactId: string;
  isAdmin: boolean;
  isSuperAdmin: boolean;
  nickname?: string;
}

export interface MetaContact {
  id: string;
  name?: string;
  firstName?: string;
  secondaryName?: string;
  pictureUrl?: string;
}

export interface IndexedMessage {
  id: string;
  threadKey: string;
  senderId: string;
  timestampMs: number;
}

/** Folders of message requests (facts: the folder names of threads not in the inbox). */
const REQUEST_FOLDERS = new Set(['pending', 'other', 'spam']);
const MAX_MESSAGES = 20_000;
const MAX_PER_THREAD = 200;

export class MetaDirectory {
  readonly threads = new Map<string, MetaThread>();
  readonly participants = new Map<string, Map<string, MetaParticipant>>();
  readonly contacts = new Map<string, MetaContact>();
  /** Insertion-ordered, so the oldest entry is evicted first. */
  readonly #messages = new Map<string, IndexedMessage>();
  readonly #byThread = new Map<string, IndexedMessage[]>();

  constructor(readonly selfId: string) {}

  isGroup(threadKey: string): boolean | undefined {
    const t = this.threads.get(threadKey);
    if (t?.threadType !== undefined) return isGroupThreadType(t.threadType);
    // A one-to-one thread's key is the other person's id (fact).
    if (this.contacts.has(threadKey)) return false;
    return undefined;
  }

  isMessageRequest(threadKey: string): boolean {
    const folder = this.threads.get(threadKey)?.folderName;
    return folder !== undefined && REQUEST_FOLDERS.has(folder);
  }

  isEncrypted(threadKey: string): boolean {
    return this.threads.get(threadKey)?.encrypted === true;
  }

  upsertThread(row: LSRow<'LSDeleteThenInsertThread'>): MetaThread {
    const t: MetaThread = { threadKey: row.threadKey };
    // Once moved to encryption a thread stays encrypted (Meta has no way back), whatever type a
    // later row of an older snapshot carries.
    if (isEncryptedThreadType(row.threadType) || this.threads.get(row.threadKey)?.encrypted) t.encrypted = true;
    if (row.threadName) t.name = row.threadName;
    if (row.threadPictureUrl) t.pictureUrl = row.threadPictureUrl;
    if (row.threadDescription) t.description = row.threadDescription;
    if (row.threadType !== undefined) t.threadType = row.threadType;
    if (row.folderName) t.folderName = row.folderName;
    if (row.lastActivityTimestampMs !== undefined) t.lastActivityMs = row.lastActivityTimestampMs;
    this.threads.set(row.threadKey, t);
    return t;
  }

  /** Meta moved the thread to end-to-end encryption (moveThreadToE2EECutoverFolder). */
  markEncrypted(threadKey: string): void {
    const t = this.threads.get(threadKey) ?? { threadKey };
    const isGroup = this.isGroup(threadKey);
    t.encrypted = true;
    if (isGroup !== undefined && !isEncryptedThreadType(t.threadType)) t.threadType = encryptedTypeOf(isGroup);
    this.threads.set(threadKey, t);
  }

  setThreadName(threadKey: string, name: string): void {
    const t = this.threads.get(threadKey) ?? { threadKey };
    if (name) t.name = name;
    else delete t.name;
    this.threads.set(threadKey, t);
  }

  setThreadPicture(threadKey: string, url: string | undefined): void {
    const t = this.threads.get(threadKey) ?? { threadKey };
    if (url) t.pictureUrl = url;
    else delete t.pictureUrl;
    this.threads.set(threadKey, t);
  }

  /** Adds or updates a participant; says whether it is new, changed (admin flags) or the same. */
  addParticipant(row: LSRow<'LSAddParticipantIdToGroupThread'>): 'new' | 'changed' | 'same' {
    let members = this.participants.get(row.threadKey);
    if (!members) this.participants.set(row.threadKey, (members = new Map()));
    const before = members.get(row.contactId);
    const p: MetaParticipant = { contactId: row.contactId, isAdmin: row.isAdmin ?? before?.isAdmin ?? false, isSuperAdmin: row.isSuperAdmin ?? before?.isSuperAdmin ?? false };
    const nickname = row.nickname ?? before?.nickname;
    if (nickname) p.nickname = nickname;
    members.set(row.contactId, p);
    if (!before) return 'new';
    return before.isAdmin !== p.isAdmin || before.isSuperAdmin !== p.isSuperAdmin ? 'changed' : 'same';
  }

  removeParticipant(threadKey: string, contactId: string): boolean {
    return this.participants.get(threadKey)?.delete(contactId) ?? false;
  }

  /** Stores a contact; true when its name or picture changed from what was known. */
  upsertContact(row: LSRow<'LSVerifyContactRowExists'>): boolean {
    const before = this.contacts.get(row.contactId);
    const c: MetaContact = { id: row.contactId };
    const name = row.name ?? before?.name;
    if (name) c.name = name;
    const first = row.firstName ?? before?.firstName;
    if (first) c.firstName = first;
    const secondary = row.secondaryName ?? before?.secondaryName;
    if (secondary) c.secondaryName = secondary;
    const pic = row.profilePictureUrl ?? before?.pictureUrl;
    if (pic) c.pictureUrl = pic;
    this.contacts.set(row.contactId, c);
    return before !== undefined && (before.name !== c.name || pictureChanged(before.pictureUrl, c.pictureUrl));
  }

  /** Threads, participants and contacts of a response or of the page (messages are indexed apart). */
  absorbTables(tables: LSTables): void {
    for (const c of tables.LSVerifyContactRowExists ?? []) this.upsertContact(c);
    for (const t of tables.LSDeleteThenInsertThread ?? []) this.upsertThread(t);
    for (const r of tables.LSMoveThreadToE2EECutoverFolder ?? []) this.markEncrypted(r.threadKey);
    for (const p of tables.LSAddParticipantIdToGroupThread ?? []) this.addParticipant(p);
    for (const r of tables.LSRemoveParticipantFromThread ?? []) this.removeParticipant(r.threadKey, r.participantId);
    for (const r of tables.LSSyncUpdateThreadName ?? []) this.setThreadName(r.threadKey, r.threadName ?? '');
    for (const r of tables.LSSetThreadImageURL ?? []) this.setThreadPicture(r.threadKey, r.imageUrl);
    for (const m of [...(tables.LSInsertMessage ?? []), ...(tables.LSUpsertMessage ?? [])]) this.indexMessage(m);
  }

  indexMessage(m: { messageId: string; threadKey: string; senderId: string; timestampMs: number }): void {
    if (this.#messages.has(m.messageId)) return;
    const entry: IndexedMessage = { id: m.messageId, threadKey: m.threadKey, senderId: m.senderId, timestampMs: m.timestampMs };
    this.#messages.set(m.messageId, entry);
    let list = this.#byThread.get(m.threadKey);
    if (!list) this.#byThread.set(m.threadKey, (list = []));
    list.push(entry);
    list.sort((a, b) => a.timestampMs - b.timestampMs);
    if (list.length > MAX_PER_THREAD) list.shift();
    if (this.#messages.size > MAX_MESSAGES) {
      const oldest = this.#messages.keys().next().value;
      if (oldest !== undefined) this.#messages.delete(oldest);
    }
  }

  message(id: string): IndexedMessage | undefined {
    return this.#messages.get(id);
  }

  /** The newest indexed message of a thread at or before `timestampMs` (what a read watermark covers). */
  latestAtOrBefore(threadKey: string, timestampMs: number): IndexedMessage | undefined {
    const list = this.#byThread.get(threadKey) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.timestampMs <= timestampMs) return list[i];
    return undefined;
  }
}

function pictureChanged(a: string | undefined, b: string | undefined): boolean {
  if (a === b) return false;
  if (!a || !b) return true;
  const path = (u: string) => u.split('?')[0];
  return path(a) !== path(b);
}
