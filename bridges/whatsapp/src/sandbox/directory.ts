/**
 * Identities between the sandbox network and WhatsApp, for the emulated socket:
 *
 *   sandbox account "alice", phone +15550000001   <->  15550000001@s.whatsapp.net
 *   group "g:7"                                    <->  120363000000000007@g.us
 *   DM "dm:alice:me"                               <->  the other member's phone JID
 *   message "g:7/12" (sent from anywhere)          <->  "SBX" + hex of the sandbox id
 *   message sent through this socket               <->  the WhatsApp id it was sent with, kept by
 *                                                       the sandbox as client_txn_id "wa:<id>"
 *
 * Phone numbers and DMs are looked up on the sandbox and cached for the socket's life.
 */
import type { SandboxClient, WireAccount, WireChat, WireMessage } from '@tributary/sandbox/client/index';

export const GROUP_PREFIX = '120363';
const GROUP_RE = /^120363(\d{12})@g\.us$/;
const TXN_PREFIX = 'wa:';
const SBX_PREFIX = 'SBX';

export function groupJid(chatId: string): string | undefined {
  const m = /^g:(\d{1,12})$/.exec(chatId);
  return m ? `${GROUP_PREFIX}${m[1]!.padStart(12, '0')}@g.us` : undefined;
}

export function groupChatId(jid: string): string | undefined {
  const m = GROUP_RE.exec(jid);
  return m ? `g:${Number(m[1])}` : undefined;
}

export function phoneJid(phone: string): string {
  return `${phone.replace(/\D/g, '')}@s.whatsapp.net`;
}

/** The digits of a user JID (device suffix dropped), or undefined. */
export function jidDigits(jid: string): string | undefined {
  const m = /^(\d+)(?::\d+)?@s\.whatsapp\.net$/.exec(jid);
  return m?.[1];
}

/** The client_txn_id a message sent through the socket carries. */
export function txnIdOf(waId: string): string {
  return `${TXN_PREFIX}${waId}`;
}

/** The WhatsApp id of a sandbox message. */
export function waIdOf(msg: Pick<WireMessage, 'id' | 'client_txn_id'>): string {
  if (msg.client_txn_id?.startsWith(TXN_PREFIX)) return msg.client_txn_id.slice(TXN_PREFIX.length);
  return `${SBX_PREFIX}${Buffer.from(msg.id, 'utf8').toString('hex').toUpperCase()}`;
}

/** The sandbox id behind an "SBX…" WhatsApp id, or undefined for ids this socket sent. */
export function decodeSbxId(waId: string): string | undefined {
  if (!waId.startsWith(SBX_PREFIX) || !/^[0-9A-F]+$/.test(waId.slice(3)) || waId.length % 2 === 0) return undefined;
  return Buffer.from(waId.slice(SBX_PREFIX.length), 'hex').toString('utf8');
}

const RECENT_MAX = 5_000;

export interface SeenMessage {
  waId: string;
  sender: string;
}

export class SandboxDirectory {
  private readonly byId = new Map<string, WireAccount>();
  private readonly byDigits = new Map<string, WireAccount>();
  private readonly dmByUser = new Map<string, string>();
  /** WhatsApp id -> sandbox message id, for ids this socket sent (and every message it has seen). */
  private readonly messages = new Map<string, string>();
  /** Sandbox message id -> its WhatsApp id and sender, newest last (bounded). */
  private readonly recent = new Map<string, SeenMessage>();

  constructor(private readonly client: SandboxClient, readonly self: WireAccount) {
    this.remember(self);
  }

  remember(account: WireAccount): void {
    this.byId.set(account.id, account);
    this.byDigits.set(account.phone.replace(/\D/g, ''), account);
  }

  async loadContacts(): Promise<WireAccount[]> {
    const contacts = await this.client.getContacts();
    for (const c of contacts) this.remember(c);
    return contacts;
  }

  async account(id: string): Promise<WireAccount> {
    const known = this.byId.get(id);
    if (known) return known;
    const a = await this.client.getUser(id);
    this.remember(a);
    return a;
  }

  async jidOfAccount(id: string): Promise<string> {
    return phoneJid((await this.account(id)).phone);
  }

  /** The sandbox account behind a phone-number JID; rejects (not_found) for an unknown number. */
  async accountOfJid(jid: string): Promise<WireAccount> {
    const digits = jidDigits(jid);
    if (!digits) throw new Error(`not a phone-number JID: ${jid}`);
    const known = this.byDigits.get(digits);
    if (known) return known;
    const a = await this.client.resolveIdentifier(`+${digits}`);
    this.remember(a);
    return a;
  }

  /** The JID of a sandbox chat as this account sees it. */
  async chatJid(chat: Pick<WireChat, 'id' | 'type'> & { members?: WireChat['members'] }): Promise<string> {
    if (chat.type === 'group') return groupJid(chat.id) ?? chat.id;
    const other = chat.id.split(':').slice(1).find((m) => m !== this.self.id) ?? this.self.id;
    this.dmByUser.set(other, chat.id);
    return this.jidOfAccount(other);
  }

  /** The sandbox chat id of a JID; a DM is created on the sandbox when none exists yet. */
  async chatId(jid: string): Promise<string> {
    const group = groupChatId(jid);
    if (group) return group;
    const other = await this.accountOfJid(jid);
    const known = this.dmByUser.get(other.id);
    if (known) return known;
    const dm = await this.client.createDm(other.id);
    this.dmByUser.set(other.id, dm.id);
    return dm.id;
  }

  noteMessage(msg: Pick<WireMessage, 'id' | 'client_txn_id' | 'sender'>): string {
    const waId = waIdOf(msg);
    this.messages.set(waId, msg.id);
    this.recent.delete(msg.id);
    this.recent.set(msg.id, { waId, sender: msg.sender });
    if (this.recent.size > RECENT_MAX) {
      const oldest = this.recent.keys().next().value as string;
      const gone = this.recent.get(oldest);
      this.recent.delete(oldest);
      if (gone) this.messages.delete(gone.waId);
    }
    return waId;
  }

  /** The WhatsApp id and sender of a sandbox message (fetched when not seen lately); undefined if gone. */
  async seen(id: string): Promise<SeenMessage | undefined> {
    const known = this.recent.get(id);
    if (known) return known;
    const m = /^(.*)\/(\d+)$/.exec(id);
    if (!m) return undefined;
    const [chat, seq] = [m[1]!, Number(m[2])];
    try {
      const page = seq > 1
        ? await this.client.getMessages(chat, { after: `${chat}/${seq - 1}`, limit: 1 })
        : await this.client.getMessages(chat, { before: `${chat}/2`, limit: 1 }).catch(() => this.client.getMessages(chat, { limit: 1 }));
      const found = page.messages.find((x) => x.id === id);
      if (!found) return undefined;
      this.noteMessage(found);
      return this.recent.get(id);
    } catch {
      return undefined;
    }
  }

  /** The sandbox message a WhatsApp key names; searches the chat when the id is not cached. */
  async messageId(chatJid: string, waId: string): Promise<string> {
    const decoded = decodeSbxId(waId);
    if (decoded) return decoded;
    const known = this.messages.get(waId);
    if (known) return known;
    const chat = await this.chatId(chatJid);
    const { messages } = await this.client.getMessages(chat, { limit: 500 });
    const found = messages.find((m) => m.client_txn_id === txnIdOf(waId));
    if (!found) throw new Error(`unknown message ${waId} in ${chatJid}`);
    this.noteMessage(found);
    return found.id;
  }
}
