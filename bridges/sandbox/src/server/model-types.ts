import type { MemberChange, MemberRole, WireMessage } from '../wire.js';
import type { AccountLogState } from './event-log.js';

/** A person on the sandbox network. `token` and `password` never leave the control API. */
export interface AccountRecord {
  id: string;
  name: string;
  phone: string;
  avatar: string | null;
  password: string;
  token: string;
  online: boolean;
  last_seen: number | null;
  created_at: number;
}

/** A chat state change kept in the chat's history (member and role changes, name/topic/avatar). */
export interface ChatHistoryEntry {
  ts: number;
  by: string;
  type: 'created' | MemberChange | 'name' | 'topic' | 'avatar' | 'disappear';
  users?: string[];
  value?: string | number | null;
}

/** Messages are stored as their wire shape; `seq` is the index + 1 in `messages`. */
export type MessageRecord = WireMessage;

export interface ChatRecord {
  id: string;
  type: 'dm' | 'group';
  name: string | null;
  topic: string | null;
  avatar: string | null;
  /** insertion-ordered: member id → role */
  members: Map<string, MemberRole>;
  created_at: number;
  messages: MessageRecord[];
  /** member id → last read message id */
  read: Map<string, string>;
  history: ChatHistoryEntry[];
  /** Disappearing-message timer for new messages, in ms; absent or null when off. */
  disappear_ms?: number | null;
}

/** What `--state` persists (JSON). Media bytes live beside it, one file per media id. */
export interface NetworkSnapshot {
  version: 1;
  saved_at: number;
  next_group: number;
  next_phone: number;
  accounts: AccountRecord[];
  chats: Array<Omit<ChatRecord, 'members' | 'read'> & { members: Array<[string, MemberRole]>; read: Array<[string, string]> }>;
  event_logs: Record<string, AccountLogState>;
  media: MediaMeta[];
}

export interface MediaMeta {
  id: string;
  mimetype: string;
  size: number;
  created_at: number;
}
