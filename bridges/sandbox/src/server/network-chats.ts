import { LIMITS, type MemberChange, type WireChat } from '../wire.js';
import { NetworkError } from './errors.js';
import { NetworkBase } from './network-base.js';
import type { ChatHistoryEntry, ChatRecord } from './model-types.js';

/** DM ids are the two account ids sorted, so both sides name the chat the same way. */
export function makeDmId(a: string, b: string): string {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

/** Chats: DMs, groups, membership and chat state (name, topic, avatar). */
export class ChatsLayer extends NetworkBase {
  chat(id: string): ChatRecord {
    const chat = this.chats.get(id);
    if (!chat) throw new NetworkError('not_found', `no chat "${id}"`);
    return chat;
  }

  listChats(account?: string): ChatRecord[] {
    const all = [...this.chats.values()];
    return account === undefined ? all : all.filter((c) => c.members.has(account));
  }

  /** The chat, if `user` is in it; non-members are told it does not exist. */
  protected memberChat(user: string, chatId: string): ChatRecord {
    const chat = this.chats.get(chatId);
    if (!chat || !chat.members.has(user)) throw new NetworkError('not_found', `no chat "${chatId}" for ${user}`);
    return chat;
  }

  protected requireGroupAdmin(user: string, chat: ChatRecord): void {
    if (chat.type !== 'group') throw new NetworkError('bad_request', 'not a group');
    const role = chat.members.get(user);
    if (role !== 'admin' && role !== 'owner') throw new NetworkError('forbidden', `${user} is not an admin of ${chat.id}`);
  }

  wireChat(chat: ChatRecord): WireChat {
    const last = chat.messages[chat.messages.length - 1];
    return {
      id: chat.id, type: chat.type, name: chat.name, topic: chat.topic, avatar: chat.avatar,
      members: [...chat.members].map(([user_id, role]) => ({ user_id, role })),
      created_at: chat.created_at,
      last_message_id: last?.id ?? null,
      read_receipts: Object.fromEntries(chat.read),
      disappear_ms: chat.disappear_ms ?? null,
    };
  }

  /** Visible chat info for a member (the `get_chat` op). */
  getChat(user: string, chatId: string): WireChat {
    return this.wireChat(this.memberChat(user, chatId));
  }

  private record(chat: ChatRecord, entry: Omit<ChatHistoryEntry, 'ts'>): void {
    chat.history.push({ ts: this.now(), ...entry });
  }

  /** Returns the existing DM between the two if there is one. */
  createDm(actor: string, other: string): { chat: WireChat; created: boolean } {
    this.account(actor);
    this.account(other);
    if (actor === other) throw new NetworkError('bad_request', 'a DM needs two different accounts');
    const id = makeDmId(actor, other);
    const existing = this.chats.get(id);
    if (existing) return { chat: this.wireChat(existing), created: false };
    const chat: ChatRecord = {
      id, type: 'dm', name: null, topic: null, avatar: null,
      members: new Map([[actor, 'member'], [other, 'member']]),
      created_at: this.now(), messages: [], read: new Map(), history: [],
    };
    this.record(chat, { by: actor, type: 'created', users: [actor, other] });
    this.chats.set(id, chat);
    const wire = this.wireChat(chat);
    this.emitTo(chat.members.keys(), actor, { type: 'chat_created', ts: this.now(), chat: wire, by: actor });
    return { chat: wire, created: true };
  }

  createGroup(creator: string, name: string, members: string[], topic?: string): WireChat {
    this.account(creator);
    const cleanName = name.trim();
    if (!cleanName || cleanName.length > LIMITS.nameLength) throw new NetworkError('bad_request', 'group name must be 1-100 characters');
    if (topic !== undefined && topic.length > LIMITS.topicLength) throw new NetworkError('bad_request', 'topic too long');
    const others = [...new Set(members)].filter((m) => m !== creator);
    for (const m of others) this.account(m);
    const id = `g:${this.nextGroup++}`;
    const chat: ChatRecord = {
      id, type: 'group', name: cleanName, topic: topic ?? null, avatar: null,
      members: new Map([[creator, 'owner'], ...others.map((m) => [m, 'member'] as const)]),
      created_at: this.now(), messages: [], read: new Map(), history: [],
    };
    this.record(chat, { by: creator, type: 'created', users: [creator, ...others], value: cleanName });
    this.chats.set(id, chat);
    const wire = this.wireChat(chat);
    this.emitTo(chat.members.keys(), creator, { type: 'chat_created', ts: this.now(), chat: wire, by: creator });
    return wire;
  }

  private membersChanged(chat: ChatRecord, by: string, change: MemberChange, users: string[], alsoTell: string[], value?: string): WireChat {
    this.record(chat, { by, type: change, users, ...(value !== undefined ? { value } : {}) });
    const wire = this.wireChat(chat);
    this.emitTo([...chat.members.keys(), ...alsoTell], by, { type: 'members_changed', ts: this.now(), chat: wire, by, change, users });
    return wire;
  }

  /** Adds `user` straight away (as on WhatsApp); admins and owners only. */
  invite(actor: string, chatId: string, user: string): WireChat {
    const chat = this.memberChat(actor, chatId);
    this.requireGroupAdmin(actor, chat);
    this.account(user);
    if (chat.members.has(user)) throw new NetworkError('conflict', `${user} is already in ${chatId}`);
    if (chat.members.size >= LIMITS.groupMembers) throw new NetworkError('forbidden', 'group is full');
    chat.members.set(user, 'member');
    return this.membersChanged(chat, actor, 'invite', [user], []);
  }

  kick(actor: string, chatId: string, user: string): WireChat {
    const chat = this.memberChat(actor, chatId);
    this.requireGroupAdmin(actor, chat);
    const role = chat.members.get(user);
    if (!role) throw new NetworkError('not_found', `${user} is not in ${chatId}`);
    if (user === actor) throw new NetworkError('bad_request', 'use leave to remove yourself');
    if (role === 'owner') throw new NetworkError('forbidden', 'the owner cannot be removed');
    chat.members.delete(user);
    chat.read.delete(user);
    this.clearTyping(chatId, user);
    return this.membersChanged(chat, actor, 'kick', [user], [user]);
  }

  leave(actor: string, chatId: string): WireChat {
    const chat = this.memberChat(actor, chatId);
    if (chat.type !== 'group') throw new NetworkError('bad_request', 'cannot leave a DM');
    const wasOwner = chat.members.get(actor) === 'owner';
    chat.members.delete(actor);
    chat.read.delete(actor);
    this.clearTyping(chatId, actor);
    // Ownership passes to the longest-standing admin, else the longest-standing member.
    const next = wasOwner ? [...chat.members].find(([, r]) => r === 'admin')?.[0] ?? chat.members.keys().next().value : undefined;
    if (next !== undefined) chat.members.set(next, 'owner');
    const wire = this.membersChanged(chat, actor, 'leave', [actor], [actor]);
    // A role change of its own, so bridges need not infer it from the leave. `by` is the new
    // owner: the leaver is no longer in the chat to act in it.
    return next === undefined ? wire : this.membersChanged(chat, next, 'promote', [next], [], 'owner');
  }

  /**
   * Makes a member an admin or a plain member again (the `set_role` op, and the control API).
   * Admins and the owner only; the owner's role is not changed this way. Setting the role a
   * member already has changes nothing and emits nothing.
   */
  setRole(actor: string, chatId: string, user: string, role: 'member' | 'admin'): WireChat {
    const chat = this.memberChat(actor, chatId);
    this.requireGroupAdmin(actor, chat);
    const current = chat.members.get(user);
    if (!current) throw new NetworkError('not_found', `${user} is not in ${chatId}`);
    if (current === 'owner') throw new NetworkError('forbidden', 'the owner keeps the owner role');
    if (current === role) return this.wireChat(chat);
    chat.members.set(user, role);
    return this.membersChanged(chat, actor, role === 'admin' ? 'promote' : 'demote', [user], [], role);
  }

  /** The group's owner (who control-API role changes without `as` are made by). */
  ownerOf(chatId: string): string {
    const chat = this.chat(chatId);
    if (chat.type !== 'group') throw new NetworkError('bad_request', 'not a group');
    for (const [user, role] of chat.members) if (role === 'owner') return user;
    throw new NetworkError('not_found', `${chatId} has no owner`);
  }

  updateChat(actor: string, chatId: string, changes: { name?: string; topic?: string; avatar?: string | null; disappear_ms?: number | null }): WireChat {
    const chat = this.memberChat(actor, chatId);
    const groupOnly = changes.name !== undefined || changes.topic !== undefined || changes.avatar !== undefined;
    if (chat.type !== 'group' && groupOnly) throw new NetworkError('bad_request', 'DMs have no name, topic or avatar');
    const changed: Array<'name' | 'topic' | 'avatar' | 'disappear'> = [];
    if (changes.name !== undefined) {
      const name = changes.name.trim();
      if (!name || name.length > LIMITS.nameLength) throw new NetworkError('bad_request', 'group name must be 1-100 characters');
      if (name !== chat.name) changed.push('name');
    }
    if (changes.topic !== undefined) {
      if (changes.topic.length > LIMITS.topicLength) throw new NetworkError('bad_request', 'topic too long');
      if (changes.topic !== (chat.topic ?? '')) changed.push('topic');
    }
    if (changes.avatar !== undefined) {
      if (changes.avatar !== null) this.requireMedia(changes.avatar);
      if (changes.avatar !== chat.avatar) changed.push('avatar');
    }
    if (changes.disappear_ms !== undefined) {
      const ms = changes.disappear_ms;
      if (ms !== null && (!Number.isSafeInteger(ms) || ms < 1000 || ms > 90 * 86_400_000)) {
        throw new NetworkError('bad_request', 'disappear_ms must be null or 1000 ms to 90 days');
      }
      if (ms !== (chat.disappear_ms ?? null)) changed.push('disappear');
    }
    // Validate everything before changing anything.
    for (const field of changed) {
      if (field === 'name') chat.name = changes.name?.trim() ?? chat.name;
      if (field === 'topic') chat.topic = changes.topic || null;
      if (field === 'avatar') chat.avatar = changes.avatar ?? null;
      if (field === 'disappear') chat.disappear_ms = changes.disappear_ms ?? null;
      this.record(chat, { by: actor, type: field, value: field === 'disappear' ? chat.disappear_ms ?? null : chat[field] });
    }
    const wire = this.wireChat(chat);
    if (changed.length) this.emitTo(chat.members.keys(), actor, { type: 'chat_updated', ts: this.now(), chat: wire, by: actor, changed });
    return wire;
  }

  /** Overridden by the message layer (typing state lives there). */
  protected clearTyping(_chatId: string, _user: string): void {}
}
