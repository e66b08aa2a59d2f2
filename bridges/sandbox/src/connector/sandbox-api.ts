/**
 * One logged-in sandbox account: the NetworkAPI with every capability the sandbox network has.
 * Matrix -> network handlers are thin: convert, call the op, let errors become BridgeErrors.
 */
import {
  BridgeError, type BackfillingNetworkAPI, type ChatInfo, type ContactListing, type CreateChatResponse, type CreateGroupParams,
  type EditHandling, type EmojiId, type FetchMessagesParams, type FetchMessagesResponse, type GroupCreating, type IdentifierResolving,
  type MatrixEdit, type MatrixMembershipChange, type MatrixMessage, type MatrixMessageRemove, type MatrixMessageResponse,
  type MatrixReaction, type MatrixReactionRemove, type MatrixReadReceipt, type MatrixRoomMeta, type MatrixTyping, type MembershipHandling,
  type PortalKey, type ReactionHandling, type ReadReceiptHandling, type RedactionHandling, type RemoteUserId, type ResolveIdentifierResponse,
  type RoomFeatures, type RoomNameHandling, type RoomTopicHandling, type RoomAvatarHandling, type TypingHandling, type UserInfo, type UserLoginHandle,
  type PresenceHandling, type PowerLevelHandling, type MatrixPowerLevelChange,
} from '@tributary/core/network/index';
import type { Op, OpArgs, OpResult, WireAccount, WireChat } from '../wire.js';
import { SandboxClientError } from '../client/errors.js';
import type { SandboxPort } from './port.js';
import { chatIdOf, chatTypeOfId, makeEmojiId, makeMessageId, makePortalKey, makeUserId } from './ids.js';
import { matrixToWire, wireToMatrix } from './msgconv.js';
import { ROLE_LEVEL, SandboxEventHandler, chatInfoOf } from './handle-sandbox.js';

const EDIT_WINDOW_MS = 15 * 60_000;

export class SandboxAPI implements EditHandling, ReactionHandling, RedactionHandling, ReadReceiptHandling, TypingHandling,
  PresenceHandling, RoomNameHandling, RoomTopicHandling, RoomAvatarHandling, MembershipHandling, PowerLevelHandling, BackfillingNetworkAPI,
  ContactListing, IdentifierResolving, GroupCreating {
  readonly events: SandboxEventHandler;
  private loggedIn = true;

  constructor(private readonly login: UserLoginHandle, readonly port: SandboxPort) {
    this.events = new SandboxEventHandler(login, port);
  }

  connect(): void {
    this.port.connect().catch((err) => this.login.log.warn({ err: (err as Error).message }, 'sandbox connect failed; retrying'));
  }

  async disconnect(): Promise<void> {
    await this.port.close();
  }

  isLoggedIn(): boolean {
    return this.loggedIn;
  }

  markLoggedOut(): void {
    this.loggedIn = false;
  }

  async logoutRemote(): Promise<void> {
    await this.call('logout', {});
    this.loggedIn = false;
  }

  isThisUser(user: RemoteUserId): boolean {
    return (user as string) === (this.login.id as string);
  }

  async getChatInfo(portal: PortalKey): Promise<ChatInfo> {
    return chatInfoOf(await this.call('get_chat', { chat: chatIdOf(portal) }), this.login);
  }

  async getUserInfo(user: RemoteUserId): Promise<UserInfo> {
    const account = await this.call('get_user', { user });
    return this.withAvatar(accountInfo(account), account);
  }

  /** Adds the account's picture, streamed from the network when the core decides to upload it. */
  private withAvatar(info: UserInfo, a: WireAccount): UserInfo {
    if (!a.avatar) return info;
    const media = a.avatar;
    return { ...info, avatar: { id: media, source: { open: async () => (await this.port.downloadMedia(media)).stream, mimetype: 'image/png', filename: 'avatar.png' } } };
  }

  getCapabilities(_portal: PortalKey): RoomFeatures {
    return {
      edits: { maxAgeMs: EDIT_WINDOW_MS }, deletes: {}, reactions: { onePerUser: true }, replies: true, formatting: true,
      media: { maxSize: 50 * 1024 * 1024 }, locations: true, readReceipts: true, typing: true, rename: true, topic: true,
      avatar: true, membership: true,
    };
  }

  async handleMatrixMessage(msg: MatrixMessage): Promise<MatrixMessageResponse> {
    const content = await matrixToWire(this.port, msg);
    const sent = await this.call('send', {
      chat: chatIdOf(msg.portal), content, client_txn_id: msg.txnId,
      ...(msg.replyTo ? { reply_to: msg.replyTo.messageId } : {}),
    });
    return { id: makeMessageId(sent.id), timestamp: sent.ts, sender: makeUserId(sent.sender) };
  }

  async handleMatrixEdit(msg: MatrixEdit): Promise<void> {
    await this.call('edit', { message: msg.target.messageId, content: { kind: 'text', text: msg.text.text, entities: msg.text.entities } });
  }

  preHandleMatrixReaction(msg: MatrixReaction): { emojiId: EmojiId; emoji: string; onePerUser: boolean } {
    const emoji = msg.emoji.slice(0, 32);
    return { emojiId: makeEmojiId(emoji), emoji, onePerUser: true };
  }

  async handleMatrixReaction(msg: MatrixReaction, emojiId: EmojiId): Promise<void> {
    await this.call('react', { message: msg.target.messageId, emoji: emojiId });
  }

  async handleMatrixReactionRemove(msg: MatrixReactionRemove): Promise<void> {
    await this.call('unreact', { message: msg.target.messageId });
  }

  async handleMatrixMessageRemove(msg: MatrixMessageRemove): Promise<void> {
    await this.call('delete', { message: msg.target.messageId });
  }

  async handleMatrixReadReceipt(msg: MatrixReadReceipt): Promise<void> {
    if (msg.target) await this.call('mark_read', { chat: chatIdOf(msg.portal), message: msg.target.messageId });
  }

  async handleMatrixTyping(msg: MatrixTyping): Promise<void> {
    await this.call('typing', { chat: chatIdOf(msg.portal), typing: msg.typing });
  }

  async handleMatrixPresence(presence: 'online' | 'offline' | 'unavailable'): Promise<void> {
    await this.call('set_presence', { online: presence === 'online' });
  }

  async handleMatrixRoomName(msg: MatrixRoomMeta): Promise<void> {
    await this.call('set_chat_name', { chat: chatIdOf(msg.portal), name: msg.name ?? '' });
  }

  async handleMatrixRoomTopic(msg: MatrixRoomMeta): Promise<void> {
    await this.call('set_chat_topic', { chat: chatIdOf(msg.portal), topic: msg.topic ?? '' });
  }

  async handleMatrixRoomAvatar(msg: MatrixRoomMeta): Promise<void> {
    let media: string | null = null;
    if (msg.avatar) media = (await this.port.uploadMedia(await msg.avatar.open(), msg.avatar.mimetype)).media_id;
    await this.call('set_chat_avatar', { chat: chatIdOf(msg.portal), media });
  }

  async handleMatrixMembership(msg: MatrixMembershipChange): Promise<void> {
    const chat = chatIdOf(msg.portal);
    if (msg.change === 'invite') await this.call('invite', { chat, user: msg.target });
    else if (msg.change === 'leave') await this.call('leave', { chat });
    else await this.call('kick', { chat, user: msg.target });
  }

  /**
   * Power level 50 or more makes a group member an admin, below 50 a plain member. The owner
   * stays owner at any level of 50 or more; lowering the owner further is refused by the network.
   */
  async handleMatrixPowerLevels(msg: MatrixPowerLevelChange): Promise<void> {
    const chat = chatIdOf(msg.portal);
    if (chatTypeOfId(chat) === 'dm') throw new BridgeError('A DM has no admins', { reason: 'm_unsupported', status: 'fail' });
    const roles = new Map((await this.call('get_chat', { chat })).members.map((m) => [m.user_id as string, m.role]));
    for (const { user, level } of msg.users) {
      const role = level >= ROLE_LEVEL.admin ? 'admin' : 'member';
      const current = roles.get(user);
      if (current === role || (current === 'owner' && role === 'admin')) continue;
      await this.call('set_role', { chat, user, role });
    }
  }

  async fetchMessages(p: FetchMessagesParams): Promise<FetchMessagesResponse> {
    const chat = chatIdOf(p.portal);
    const res = await this.call('get_messages', {
      chat, limit: Math.min(p.count, 500),
      ...(p.anchor ? (p.forward ? { after: p.anchor.id } : { before: p.anchor.id }) : {}),
    });
    return {
      hasMore: res.has_more,
      messages: res.messages.filter((m) => !m.deleted).map((m) => ({
        id: makeMessageId(m.id), sender: this.events.sender(m.sender), timestamp: m.ts,
        ...(m.sender === (this.login.id as string) && m.client_txn_id ? { echoOf: m.client_txn_id } : {}),
        convert: (ctx) => wireToMatrix(this.port, m, ctx),
      })),
    };
  }

  async getContactList(): Promise<ResolveIdentifierResponse[]> {
    return (await this.call('get_contacts', {})).map((a) => ({ user: makeUserId(a.id), info: accountInfo(a) }));
  }

  async resolveIdentifier(identifier: string, createChat: boolean): Promise<ResolveIdentifierResponse | null> {
    let account: WireAccount;
    try {
      account = await this.call('resolve_identifier', { identifier });
    } catch (err) {
      if (err instanceof BridgeError && err.reason === 'm_not_found') return null;
      throw err;
    }
    const res: ResolveIdentifierResponse = { user: makeUserId(account.id), info: accountInfo(account) };
    if (createChat) res.chat = this.chatResponse(await this.call('create_dm', { user: account.id }));
    return res;
  }

  async createGroup(params: CreateGroupParams): Promise<CreateChatResponse> {
    const chat = await this.call('create_group', { name: params.name ?? 'New group', members: params.members, ...(params.topic ? { topic: params.topic } : {}) });
    return this.chatResponse(chat);
  }

  private chatResponse(chat: WireChat): CreateChatResponse {
    return { portal: makePortalKey(chat, this.login.id), info: chatInfoOf(chat, this.login) };
  }

  /** Calls an op, mapping network errors to what they mean for the person. */
  private async call<K extends Op>(op: K, args: OpArgs<K>): Promise<OpResult<K>> {
    try {
      return await this.port.request(op, args);
    } catch (err) {
      throw toBridgeError(err);
    }
  }
}

function accountInfo(a: WireAccount): UserInfo {
  return { name: a.name, identifiers: [a.phone] };
}

function toBridgeError(err: unknown): Error {
  if (!(err instanceof SandboxClientError)) return err as Error;
  const map: Record<string, ConstructorParameters<typeof BridgeError>[1]> = {
    not_found: { reason: 'm_not_found', status: 'fail' },
    forbidden: { reason: 'm_no_permission', status: 'fail' },
    bad_request: { reason: 'm_bad_format', status: 'fail' },
    too_large: { reason: 'm_too_large', status: 'fail' },
    unsupported: { reason: 'm_unsupported', status: 'fail' },
    timeout: { reason: 'm_timeout', status: 'retriable', certain: false },
    not_connected: { reason: 'm_network_error', status: 'retriable' },
    disconnected: { reason: 'm_network_error', status: 'retriable', certain: false },
    unauthorized: { reason: 'm_not_logged_in', status: 'fail' },
  };
  return new BridgeError(err.message, { ...(map[err.code] ?? { reason: 'm_unknown', status: 'retriable', certain: false }), cause: err });
}
