/**
 * Opening chats on the network from Matrix: what the contacts, start-chat and create-group commands
 * and the provisioning API do, written once so both behave the same. Each checks the capability
 * guard of the login's NetworkAPI first and fails with a ChatActionError the caller words itself.
 */
import {
  isContactListing, isGroupCreating, isIdentifierResolving, type CreateGroupParams, type PortalKey, type RemoteUserId,
  type ResolveIdentifierResponse,
} from '../network/index.js';
import type { Bridge } from './bridge.js';
import type { UserLogin } from './user-login.js';

export type ChatActionFailure = 'not_supported';

export class ChatActionError extends Error {
  constructor(readonly kind: ChatActionFailure, message: string) {
    super(message);
    this.name = 'ChatActionError';
  }
}

/** A person on the network as the bridge presents them. */
export interface ResolvedContact {
  user: RemoteUserId;
  name?: string;
  identifiers: string[];
  avatarMxc?: string;
  /** Their ghost, or the Matrix user whose login that account is. */
  mxid: string;
  /** The DM portal room, when the network named a DM and it has a room. */
  roomId?: string;
  /** Whether that room was created by this call. */
  justCreated: boolean;
}

export interface CreatedGroup {
  portal: PortalKey;
  roomId: string;
  name?: string;
}

async function present(bridge: Bridge, login: UserLogin, res: ResolveIdentifierResponse): Promise<ResolvedContact> {
  const ghost = await bridge.db.ghosts.get(res.user);
  const name = res.info?.name ?? ghost?.name ?? undefined;
  const avatarMxc = ghost?.avatarMxc ?? undefined;
  const contact: ResolvedContact = {
    user: res.user, identifiers: res.info?.identifiers ?? ghost?.identifiers ?? [],
    mxid: bridge.matrixIdForRemoteUser(login, res.user), justCreated: false,
  };
  if (name) contact.name = name;
  if (avatarMxc) contact.avatarMxc = avatarMxc;
  // Only a room that exists: looking the portal up must not create its row.
  const roomId = res.chat ? (await bridge.db.portals.get(res.chat.portal))?.mxid : undefined;
  if (roomId) contact.roomId = roomId;
  return contact;
}

export async function listContacts(bridge: Bridge, login: UserLogin): Promise<ResolvedContact[]> {
  if (!isContactListing(login.client)) throw new ChatActionError('not_supported', 'This network cannot list contacts.');
  const list = await login.client.getContactList();
  return Promise.all(list.map((c) => present(bridge, login, c)));
}

/**
 * Looks a person up by phone number, username, ...; null when the network knows nobody by it. With
 * `createChat`, opens the DM with them and its room (or re-invites the person to the existing one).
 */
export async function resolveContact(bridge: Bridge, login: UserLogin, identifier: string, createChat: boolean): Promise<ResolvedContact | null> {
  if (!isIdentifierResolving(login.client)) throw new ChatActionError('not_supported', 'This network cannot look people up.');
  const res = await login.client.resolveIdentifier(identifier, createChat);
  if (!res) return null;
  const contact = await present(bridge, login, res);
  if (createChat && res.chat) {
    const existed = contact.roomId !== undefined;
    contact.roomId = await bridge.openPortal(login, res.chat.portal, res.chat.info);
    contact.justCreated = !existed;
  }
  return contact;
}

export async function createGroupChat(bridge: Bridge, login: UserLogin, params: CreateGroupParams): Promise<CreatedGroup> {
  if (!isGroupCreating(login.client)) throw new ChatActionError('not_supported', 'This network cannot create groups from Matrix.');
  const res = await login.client.createGroup(params);
  const roomId = await bridge.openPortal(login, res.portal, res.info);
  const name = res.info?.name ?? params.name;
  return { portal: res.portal, roomId, ...(name ? { name } : {}) };
}
