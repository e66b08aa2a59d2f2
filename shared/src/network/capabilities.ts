/**
 * Optional capabilities of a NetworkAPI: an interface plus a type guard each. The core checks the
 * guard first (the connector cannot do it at all), then the room's RoomFeatures (it cannot do it in
 * this chat); either "no" becomes an `m_unsupported` status for the Matrix event.
 */
import type { NetworkAPI } from './api.js';
import type { ResolveIdentifierResponse, CreateGroupParams, CreateChatResponse } from './chat-creation.js';
import type { EmojiId, MessageId, PortalKey } from './ids.js';
import type {
  MatrixEdit, MatrixMembershipChange, MatrixMessageRemove, MatrixPowerLevelChange, MatrixReaction,
  MatrixReactionRemove, MatrixReadReceipt, MatrixRoomMeta, MatrixTyping,
} from './matrix-events.js';
import type { BackfillMessage } from './remote-event.js';

function has<K extends string>(api: object, ...methods: K[]): boolean {
  return methods.every((m) => typeof (api as Record<string, unknown>)[m] === 'function');
}

export interface EditHandling extends NetworkAPI {
  /** Apply an edit; the core stores the new edit count after this returns. */
  handleMatrixEdit(msg: MatrixEdit): Promise<void>;
}
export const isEditHandling = (api: NetworkAPI): api is EditHandling => has(api, 'handleMatrixEdit');

export interface ReactionHandling extends NetworkAPI {
  /**
   * Map the Matrix key to the network's reaction identity before anything is sent, so the core can
   * deduplicate and, on one-reaction-per-user networks, remove the sender's previous reaction row.
   */
  preHandleMatrixReaction(msg: MatrixReaction): { emojiId: EmojiId; emoji: string; onePerUser?: boolean };
  handleMatrixReaction(msg: MatrixReaction, emojiId: EmojiId): Promise<void>;
  handleMatrixReactionRemove(msg: MatrixReactionRemove): Promise<void>;
}
export const isReactionHandling = (api: NetworkAPI): api is ReactionHandling =>
  has(api, 'preHandleMatrixReaction', 'handleMatrixReaction', 'handleMatrixReactionRemove');

export interface RedactionHandling extends NetworkAPI {
  handleMatrixMessageRemove(msg: MatrixMessageRemove): Promise<void>;
}
export const isRedactionHandling = (api: NetworkAPI): api is RedactionHandling => has(api, 'handleMatrixMessageRemove');

export interface ReadReceiptHandling extends NetworkAPI {
  handleMatrixReadReceipt(msg: MatrixReadReceipt): Promise<void>;
}
export const isReadReceiptHandling = (api: NetworkAPI): api is ReadReceiptHandling => has(api, 'handleMatrixReadReceipt');

export interface TypingHandling extends NetworkAPI {
  handleMatrixTyping(msg: MatrixTyping): Promise<void>;
}
export const isTypingHandling = (api: NetworkAPI): api is TypingHandling => has(api, 'handleMatrixTyping');

export interface PresenceHandling extends NetworkAPI {
  /** The person's own Matrix presence, forwarded to the network. */
  handleMatrixPresence(presence: 'online' | 'offline' | 'unavailable'): Promise<void>;
}
export const isPresenceHandling = (api: NetworkAPI): api is PresenceHandling => has(api, 'handleMatrixPresence');

export interface RoomNameHandling extends NetworkAPI {
  handleMatrixRoomName(msg: MatrixRoomMeta): Promise<void>;
}
export const isRoomNameHandling = (api: NetworkAPI): api is RoomNameHandling => has(api, 'handleMatrixRoomName');

export interface RoomTopicHandling extends NetworkAPI {
  handleMatrixRoomTopic(msg: MatrixRoomMeta): Promise<void>;
}
export const isRoomTopicHandling = (api: NetworkAPI): api is RoomTopicHandling => has(api, 'handleMatrixRoomTopic');

export interface RoomAvatarHandling extends NetworkAPI {
  handleMatrixRoomAvatar(msg: MatrixRoomMeta): Promise<void>;
}
export const isRoomAvatarHandling = (api: NetworkAPI): api is RoomAvatarHandling => has(api, 'handleMatrixRoomAvatar');

export interface MembershipHandling extends NetworkAPI {
  handleMatrixMembership(msg: MatrixMembershipChange): Promise<void>;
}
export const isMembershipHandling = (api: NetworkAPI): api is MembershipHandling => has(api, 'handleMatrixMembership');

export interface PowerLevelHandling extends NetworkAPI {
  handleMatrixPowerLevels(msg: MatrixPowerLevelChange): Promise<void>;
}
export const isPowerLevelHandling = (api: NetworkAPI): api is PowerLevelHandling => has(api, 'handleMatrixPowerLevels');

export interface FetchMessagesParams {
  portal: PortalKey;
  /** true: messages newer than the anchor (catch-up); false: older (history). */
  forward: boolean;
  /** The newest (forward) or oldest (backward) message already bridged; absent for a new room. */
  anchor?: { id: MessageId; timestamp: number };
  count: number;
}

export interface FetchMessagesResponse {
  /** Oldest first. */
  messages: BackfillMessage[];
  hasMore: boolean;
}

export interface BackfillingNetworkAPI extends NetworkAPI {
  fetchMessages(params: FetchMessagesParams): Promise<FetchMessagesResponse>;
}
export const isBackfilling = (api: NetworkAPI): api is BackfillingNetworkAPI => has(api, 'fetchMessages');

export interface ContactListing extends NetworkAPI {
  getContactList(): Promise<ResolveIdentifierResponse[]>;
}
export const isContactListing = (api: NetworkAPI): api is ContactListing => has(api, 'getContactList');

export interface IdentifierResolving extends NetworkAPI {
  /** Find a person by phone number, username, ...; with `createChat`, also open a DM with them. */
  resolveIdentifier(identifier: string, createChat: boolean): Promise<ResolveIdentifierResponse | null>;
}
export const isIdentifierResolving = (api: NetworkAPI): api is IdentifierResolving => has(api, 'resolveIdentifier');

export interface GroupCreating extends NetworkAPI {
  createGroup(params: CreateGroupParams): Promise<CreateChatResponse>;
}
export const isGroupCreating = (api: NetworkAPI): api is GroupCreating => has(api, 'createGroup');
