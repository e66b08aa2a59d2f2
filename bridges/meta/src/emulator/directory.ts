/** Sandbox accounts and chats as the emulated gateway names them (see ids.ts), cached per session. */
import type { SandboxClient, WireAccount, WireChat, WireMessage } from '@tributary/sandbox/client/index';
import { EmulatorTaskError, groupThreadKey, parseThreadKey, userIdOfPhone } from './ids.js';

export class EmulatorDirectory {
  readonly #byId = new Map<string, WireAccount>();
  readonly #byUserId = new Map<string, WireAccount>();
  readonly #dmByUser = new Map<string, string>();

  constructor(readonly client: SandboxClient, readonly self: WireAccount) {
    this.remember(self);
  }

  get selfUserId(): string {
    return userIdOfPhone(this.self.phone);
  }

  remember(account: WireAccount): void {
    this.#byId.set(account.id, account);
    this.#byUserId.set(userIdOfPhone(account.phone), account);
  }

  async account(id: string): Promise<WireAccount> {
    const known = this.#byId.get(id);
    if (known) return known;
    const a = await this.client.getUser(id);
    this.remember(a);
    return a;
  }

  async userId(accountId: string): Promise<string> {
    return userIdOfPhone((await this.account(accountId)).phone);
  }

  async accountOfUserId(userId: string): Promise<WireAccount> {
    const known = this.#byUserId.get(userId);
    if (known) return known;
    try {
      const a = await this.client.resolveIdentifier(`+${userId}`);
      this.remember(a);
      return a;
    } catch {
      throw new EmulatorTaskError('not_found', `no user ${userId}`);
    }
  }

  async threadKey(chat: Pick<WireChat, 'id' | 'type'>): Promise<string> {
    if (chat.type === 'group') return groupThreadKey(chat.id) ?? '0';
    const other = chat.id.split(':').slice(1).find((m) => m !== this.self.id) ?? this.self.id;
    this.#dmByUser.set(other, chat.id);
    return this.userId(other);
  }

  /** The sandbox chat of a thread key; a DM is created when none exists yet (as Meta opens one). */
  async chatId(threadKey: string): Promise<string> {
    const parsed = parseThreadKey(threadKey);
    if (!parsed) throw new EmulatorTaskError('bad_request', 'not a thread key');
    if ('group' in parsed) return parsed.group;
    const other = await this.accountOfUserId(parsed.user);
    const known = this.#dmByUser.get(other.id);
    if (known) return known;
    const dm = await this.client.createDm(other.id);
    this.#dmByUser.set(other.id, dm.id);
    return dm.id;
  }

  /** One message by its sandbox id (`<chat>/<seq>`), or undefined. */
  async message(id: string): Promise<WireMessage | undefined> {
    const m = /^(.*)\/(\d+)$/.exec(id);
    if (!m) return undefined;
    const [chat, seq] = [m[1]!, Number(m[2])];
    try {
      const page = seq > 1
        ? await this.client.getMessages(chat, { after: `${chat}/${seq - 1}`, limit: 1 })
        : await this.client.getMessages(chat, { limit: 500 });
      return page.messages.find((x) => x.id === id);
    } catch {
      return undefined;
    }
  }
}
