/**
 * Message requests on the emulated Messenger. The sandbox has no notion of strangers (every other
 * account is a contact), so the emulator keeps one: accounts marked as strangers (`setStranger`,
 * `--stranger`). A one-to-one chat that a stranger has with someone is, for that someone, a message
 * request (folder "pending", facts: FolderType PENDING) until they accept it (AcceptMessageRequest)
 * or answer in it (Messenger's own behaviour: replying accepts). Declining (DeleteThread) hides the
 * chat until the stranger writes again. Request threads are synced through database 95 (fact: the
 * message-requests database), not the mailbox. On the Instagram flavour the same folders show as
 * the thread's `system_folder` (PENDING) and requests are accepted and declined over GraphQL
 * (instagram-graphql-threads.ts); its inbox lists neither requests nor declined chats.
 */
import type { WireChat, WireEvent } from '@tributary/sandbox/client/index';

export const REQUEST_FOLDER = 'pending';
export const INBOX_FOLDER = 'inbox';

export interface ChatShape {
  id: string;
  type: WireChat['type'];
  members: ReadonlyArray<{ user_id: string }>;
}

export class RequestFolders {
  readonly #strangers = new Set<string>();
  /** `<chat>|<account>`: the account accepted the chat, or answered in it. */
  readonly #accepted = new Set<string>();
  readonly #declined = new Set<string>();

  constructor(readonly enabled: boolean, strangers: readonly string[] = []) {
    for (const s of strangers) this.#strangers.add(s);
  }

  setStranger(accountId: string, on: boolean): void {
    if (on) this.#strangers.add(accountId);
    else this.#strangers.delete(accountId);
  }

  /** Whether the chat is a request for `self`: a DM with a stranger that `self` has not accepted. */
  isRequest(chat: ChatShape, self: string): boolean {
    if (!this.enabled || chat.type !== 'dm') return false;
    const other = chat.members.find((m) => m.user_id !== self)?.user_id;
    return other !== undefined && this.#strangers.has(other) && !this.#accepted.has(`${chat.id}|${self}`);
  }

  /** Declined by `self` and not written to since: listed nowhere. */
  isHidden(chatId: string, self: string): boolean {
    return this.#declined.has(`${chatId}|${self}`);
  }

  folderOf(chat: ChatShape, self: string): string {
    return this.isRequest(chat, self) ? REQUEST_FOLDER : INBOX_FOLDER;
  }

  accept(chatId: string, self: string): void {
    this.#accepted.add(`${chatId}|${self}`);
    this.#declined.delete(`${chatId}|${self}`);
  }

  decline(chatId: string, self: string): void {
    this.#declined.add(`${chatId}|${self}`);
  }

  /** A new message from the other side brings a declined request back; true when it did. */
  noteEvent(event: WireEvent, self: string): boolean {
    return event.type === 'message' && event.message.sender !== self && this.#declined.delete(`${event.message.chat_id}|${self}`);
  }
}

/** The chat an event is about, if any. */
export function chatOfEvent(event: WireEvent): string | undefined {
  switch (event.type) {
    case 'message':
    case 'edit':
      return event.message.chat_id;
    case 'delete':
    case 'reaction':
    case 'reaction_removed':
    case 'read':
    case 'delivered':
    case 'typing':
      return event.chat_id;
    case 'chat_created':
    case 'chat_updated':
    case 'members_changed':
      return event.chat.id;
    default:
      return undefined;
  }
}
