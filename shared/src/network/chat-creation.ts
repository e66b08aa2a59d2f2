import type { ChatInfo, UserInfo } from './chat-info.js';
import type { PortalKey, RemoteUserId } from './ids.js';

export interface CreateChatResponse {
  portal: PortalKey;
  info?: ChatInfo;
}

export interface ResolveIdentifierResponse {
  user: RemoteUserId;
  info?: UserInfo;
  /** Present when a DM was requested (or already exists). */
  chat?: CreateChatResponse;
}

export interface CreateGroupParams {
  name?: string;
  topic?: string;
  members: RemoteUserId[];
}
