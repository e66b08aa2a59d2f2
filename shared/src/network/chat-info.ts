import type { MediaSource } from './converted.js';
import type { RemoteUserId } from './ids.js';

export interface ChatMember {
  user: RemoteUserId;
  /** True for the logged-in account's own membership. */
  isFromMe?: boolean;
  membership?: 'join' | 'invite' | 'leave' | 'ban';
  /** Matrix power level: 0 member, 50 admin, 75 owner/super-admin by convention. */
  powerLevel?: number;
  displayName?: string;
}

export interface ChatAvatar {
  /** Network identity of the image; the core re-uploads only when it changes. */
  id: string;
  remove?: boolean;
  source?: MediaSource;
}

export interface ChatInfo {
  type: 'dm' | 'group' | 'space';
  name?: string;
  topic?: string;
  avatar?: ChatAvatar;
  members?: ChatMember[];
  /** Whether the member list is complete (ghosts not in it leave the room). */
  membersComplete?: boolean;
  /** For DMs: the other person. */
  otherUser?: RemoteUserId;
  /**
   * Id of the parent space/community portal, if any; the parent portal has this chat's receiver.
   * The core links the rooms with m.space.parent / m.space.child, creating the parent's room first.
   */
  parent?: string;
  disappear?: { type: 'after_read' | 'after_send'; timerMs: number } | null;
  /** Power levels needed for room actions (e.g. only admins may rename). */
  powerLevels?: { name?: number; topic?: number; avatar?: number; invite?: number; kick?: number };
}

export interface ChatInfoChange {
  name?: string;
  topic?: string;
  avatar?: ChatAvatar;
  members?: { added?: ChatMember[]; removed?: Array<{ user: RemoteUserId; kicked?: boolean; by?: RemoteUserId }>; changed?: ChatMember[] };
  disappear?: { type: 'after_read' | 'after_send'; timerMs: number } | null;
  /** The chat moved to another parent space/community portal (null: it left its parent). */
  parent?: string | null;
}

export interface UserInfo {
  name?: string;
  avatar?: ChatAvatar;
  /** Phone numbers, usernames, ... shown in the ghost profile. */
  identifiers?: string[];
  isBot?: boolean;
}
