import { EventEmitter } from 'node:events';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ACCOUNT_ID_RE, LIMITS, PHONE_RE, type EventFrame, type WireAccount, type WireEvent, type WireEventDraft } from '../wire.js';
import { EventLogs, type ReplayResult } from './event-log.js';
import { NetworkError } from './errors.js';
import type { AccountRecord, ChatRecord, NetworkSnapshot } from './model-types.js';

export const DEFAULT_PASSWORD = 'sandbox';

export interface NetworkOptions {
  /** Events kept per account for replay (default 10,000). */
  eventLogLimit?: number;
  /** Typing expires after this long unless refreshed (default 6 s). */
  typingTimeoutMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Whether a media id exists (the server wires this to its media store). */
  mediaExists?: (id: string) => boolean;
}

export interface NetworkEvents {
  /** State changed: persistence schedules a snapshot. */
  change: [];
  /** An event for one account, already in its log (unless ephemeral). */
  event: [account: string, frame: EventFrame];
  /** The account's token was voided; its connections must close. */
  logout: [account: string, reason: string];
}

export interface CreateAccountInput { id: string; name: string; phone?: string; password?: string; avatar?: string | null; }

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Accounts, presence, and the per-account event stream. Chats and messages build on this. */
export class NetworkBase extends EventEmitter<NetworkEvents> {
  protected readonly accounts = new Map<string, AccountRecord>();
  protected readonly tokens = new Map<string, string>();
  protected readonly chats = new Map<string, ChatRecord>();
  protected readonly events: EventLogs;
  protected nextGroup = 1;
  protected nextPhone = 1;
  readonly typingTimeoutMs: number;
  protected readonly now: () => number;
  protected readonly mediaExists: (id: string) => boolean;

  constructor(opts: NetworkOptions = {}) {
    super();
    this.events = new EventLogs(opts.eventLogLimit ?? 10_000);
    this.typingTimeoutMs = opts.typingTimeoutMs ?? 6_000;
    this.now = opts.now ?? Date.now;
    this.mediaExists = opts.mediaExists ?? (() => true);
  }

  // --- accounts -------------------------------------------------------------------------------

  createAccount(input: CreateAccountInput): AccountRecord {
    if (!ACCOUNT_ID_RE.test(input.id)) throw new NetworkError('bad_request', `invalid account id "${input.id}"`);
    if (this.accounts.has(input.id)) throw new NetworkError('conflict', `account "${input.id}" exists`);
    const name = input.name.trim();
    if (!name || name.length > LIMITS.nameLength) throw new NetworkError('bad_request', 'name must be 1-100 characters');
    let phone = input.phone;
    if (phone !== undefined && !PHONE_RE.test(phone)) throw new NetworkError('bad_request', 'phone must look like +15551234567');
    if (phone === undefined) {
      do phone = `+1555${String(this.nextPhone++).padStart(7, '0')}`;
      while (this.findByPhone(phone));
    } else if (this.findByPhone(phone)) {
      throw new NetworkError('conflict', `phone ${phone} is taken`);
    }
    if (input.avatar) this.requireMedia(input.avatar);
    const rec: AccountRecord = {
      id: input.id, name, phone, avatar: input.avatar ?? null, password: input.password ?? DEFAULT_PASSWORD,
      token: newToken(), online: false, last_seen: null, created_at: this.now(),
    };
    this.accounts.set(rec.id, rec);
    this.tokens.set(rec.token, rec.id);
    this.changed();
    return rec;
  }

  account(id: string): AccountRecord {
    const rec = this.accounts.get(id);
    if (!rec) throw new NetworkError('not_found', `no account "${id}"`);
    return rec;
  }

  hasAccount(id: string): boolean {
    return this.accounts.has(id);
  }

  listAccounts(): AccountRecord[] {
    return [...this.accounts.values()];
  }

  accountByToken(token: string): AccountRecord | undefined {
    const id = this.tokens.get(token);
    return id === undefined ? undefined : this.accounts.get(id);
  }

  private findByPhone(phone: string): AccountRecord | undefined {
    for (const rec of this.accounts.values()) if (rec.phone === phone) return rec;
    return undefined;
  }

  /** An account by id or phone number (spaces, dashes and parentheses in phones are ignored). */
  resolveIdentifier(identifier: string): AccountRecord {
    const direct = this.accounts.get(identifier.toLowerCase());
    if (direct) return direct;
    const phone = identifier.replace(/[\s().-]/g, '');
    const byPhone = PHONE_RE.test(phone) ? this.findByPhone(phone) : undefined;
    if (!byPhone) throw new NetworkError('not_found', `nobody on the network is "${identifier}"`);
    return byPhone;
  }

  checkPassword(username: string, password: string): AccountRecord {
    let rec: AccountRecord | undefined;
    try {
      rec = this.resolveIdentifier(username);
    } catch {
      rec = undefined;
    }
    // Same answer for an unknown user and a wrong password.
    if (!rec || !sameSecret(rec.password, password)) throw new NetworkError('bad_credentials', 'wrong username or password');
    return rec;
  }

  publicAccount(rec: AccountRecord): WireAccount {
    return { id: rec.id, name: rec.name, phone: rec.phone, avatar: rec.avatar, presence: { online: rec.online, last_seen: rec.last_seen } };
  }

  setPresence(id: string, online: boolean): WireAccount {
    const rec = this.account(id);
    if (rec.online === online) return this.publicAccount(rec);
    rec.online = online;
    rec.last_seen = this.now();
    const presence = { online, last_seen: rec.last_seen };
    // Every other account is a contact, so presence goes to everyone.
    this.emitTo(this.accounts.keys(), id, { type: 'presence', ts: this.now(), user_id: id, presence });
    return this.publicAccount(rec);
  }

  /** Voids the account's token (a new one is issued for the next login) and tells its clients. */
  logout(id: string, reason: string): void {
    const rec = this.account(id);
    this.emitTo([id], '', { type: 'logged_out', ts: this.now(), reason });
    this.tokens.delete(rec.token);
    rec.token = newToken();
    this.tokens.set(rec.token, rec.id);
    this.changed();
    this.emit('logout', id, reason);
  }

  // --- event stream ---------------------------------------------------------------------------

  headSeq(account: string): number {
    return this.events.head(account);
  }

  replay(account: string, since: number): ReplayResult {
    return this.events.replay(account, since);
  }

  /** The account's client processed events ≤ seq: messages in them count as delivered. */
  ack(account: string, seq: number): void {
    for (const frame of this.events.ack(account, seq)) {
      if (frame.event.type === 'message' && !frame.event.self) this.onDelivered(account, frame.event.message.id);
    }
    this.changed();
  }

  /** Overridden by the message layer. */
  protected onDelivered(_account: string, _messageId: string): void {}

  protected emitTo(recipients: Iterable<string>, actor: string, draft: WireEventDraft, ephemeral = false): void {
    for (const account of new Set(recipients)) {
      const event = { ...draft, self: account === actor } as WireEvent;
      const frame = this.events.append(account, event, ephemeral);
      this.emit('event', account, frame);
    }
    if (!ephemeral) this.changed();
  }

  protected changed(): void {
    this.emit('change');
  }

  protected requireMedia(id: string): void {
    if (!this.mediaExists(id)) throw new NetworkError('not_found', `no media "${id}"`);
  }

  // --- persistence ----------------------------------------------------------------------------

  toSnapshot(): Omit<NetworkSnapshot, 'media'> {
    return {
      version: 1,
      saved_at: this.now(),
      next_group: this.nextGroup,
      next_phone: this.nextPhone,
      accounts: [...this.accounts.values()],
      chats: [...this.chats.values()].map((c) => ({ ...c, members: [...c.members], read: [...c.read] })),
      event_logs: this.events.snapshot(),
    };
  }

  restoreSnapshot(snap: Omit<NetworkSnapshot, 'media'>): void {
    this.accounts.clear();
    this.tokens.clear();
    this.chats.clear();
    for (const rec of snap.accounts) {
      this.accounts.set(rec.id, { ...rec });
      this.tokens.set(rec.token, rec.id);
    }
    for (const c of snap.chats) this.chats.set(c.id, { ...c, members: new Map(c.members), read: new Map(c.read) });
    this.events.restore(snap.event_logs);
    this.nextGroup = snap.next_group;
    this.nextPhone = snap.next_phone;
    this.afterRestore();
  }

  /** Overridden by layers that keep derived indexes. */
  protected afterRestore(): void {}
}
