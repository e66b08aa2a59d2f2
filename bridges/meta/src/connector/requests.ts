/**
 * Message requests: threads from people who are not in the person's chats (Messenger keeps them in
 * database 95 and the folders pending, other, spam). The portal says plainly that it is a request,
 * in its topic and in one notice, and how to accept it. Accepting is Meta's AcceptMessageRequest
 * task (label 66), sent by the `accept` command or before the first message sent from Matrix (as
 * Messenger's own reply box does); declining is DeleteThread (label 146), the `decline` command.
 */
import type { PortalKey } from '@tributary/core/network/index';
import { makeMetaMessageId, platformName, type MetaPlatform } from '../msgconv/meta-ids.js';

/** A NetworkAPI that can accept and decline message requests. */
export interface MessageRequestHandling {
  isMessageRequest(portal: PortalKey): boolean;
  /** Moves the request into the inbox; the portal's topic then drops its request line. */
  acceptMessageRequest(portal: PortalKey): Promise<void>;
  /** Deletes the request on the network. */
  declineMessageRequest(portal: PortalKey): Promise<void>;
}

export function handlesMessageRequests(api: unknown): api is MessageRequestHandling {
  const a = api as Partial<MessageRequestHandling> | null;
  return !!a && typeof a.isMessageRequest === 'function' && typeof a.acceptMessageRequest === 'function' && typeof a.declineMessageRequest === 'function';
}

/** The command prefix a bridge has unless its config says otherwise (`!<network id>`). */
export function defaultCommandPrefix(platform: MetaPlatform): string {
  return `!${platform}`;
}

/** The one notice a request portal gets: what it is and how to answer it (`prefix`: bridge.command_prefix). */
export function requestNoticeText(platform: MetaPlatform, prefix = defaultCommandPrefix(platform)): string {
  const name = platformName(platform);
  return `This chat is a message request on ${name}: the sender is not in your chats yet. `
    + `To accept it, send "${prefix} accept" here (or simply reply: replying accepts it, as on ${name}). `
    + `To decline it, send "${prefix} decline": the request is deleted on ${name}.`;
}

/** The notice's id: one per thread and stable, so the core's duplicate check keeps it to one. */
export function requestNoticeId(threadKey: string): ReturnType<typeof makeMetaMessageId> {
  return makeMetaMessageId(`tributary.request.${threadKey}`);
}
