/**
 * What WhatsApp says about people (contacts.upsert / contacts.update, and the contacts of a history
 * sync): their names, kept per person with the bridge's precedence, and profile picture changes.
 * A change for someone who already has a ghost becomes a ghost update (`updateGhost`).
 *
 * Name precedence, as everywhere in the connector: the name saved in the phone's address book, then
 * the person's own push name, then a business's verified name. The book is stored per login
 * (`wa_contacts`, db/contacts.ts): loaded at connect, and each contact event's changes written in
 * one batch. A book loaded with names knows what it was told before a restart, so any change of
 * the name a person is shown by renames their ghost. A book with nothing stored yet (a new login,
 * or the first start after the table was added) may not know a saved name the ghost already shows,
 * so there a push name seen for the first time only fills the book and renames nobody, while a
 * saved name, or a change of what the book already showed, renames the ghost.
 */
import type { ChatAvatar, RemoteUserId, UserInfo, UserLoginHandle } from '@tributary/core/network/index';
import { isLidUser, isPnUser, jidNormalizedUser, type Contact } from 'baileys';
import type { WAClientPort } from '../client/port.js';
import type { StoredContact } from '../db/contacts.js';
import { avatarFromUrl, avatarOf } from './avatars.js';
import { jidFromUserId, userIdFromJid, type LidResolver } from './ids.js';

export type ContactNames = Pick<Contact, 'name' | 'notify' | 'verifiedName'>;

/** The name a person is shown by. */
export function displayNameOf(c: ContactNames): string | undefined {
  return c.name || c.notify || c.verifiedName || undefined;
}

/** Where the book keeps its names (db/contacts.ts ContactStore). */
export interface ContactPersistence {
  saveMany(contacts: StoredContact[]): Promise<void>;
}

/** Names by user JID (phone-number form where known). */
export class ContactBook {
  private readonly byJid = new Map<string, ContactNames>();
  /** Loaded from storage with names in it: a first push name is a real first (see the file comment). */
  private complete = false;
  /** Changed since the last flush. */
  private readonly dirty = new Set<string>();
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly store?: ContactPersistence, private readonly log?: UserLoginHandle['log']) {}

  /** Fills the book from storage (names given since, in memory, win). */
  load(stored: readonly StoredContact[]): void {
    for (const { jid, ...names } of stored) this.byJid.set(jid, { ...names, ...this.byJid.get(jid) });
    if (stored.length > 0) this.complete = true;
  }

  /**
   * Merges the names a contact event carries (an absent or empty field is no news). Returns the
   * new display name when the person should be renamed (see the file comment), else undefined.
   */
  merge(jid: string, c: Partial<ContactNames>): string | undefined {
    const old = this.byJid.get(jid);
    const next: ContactNames = { ...old };
    for (const f of ['name', 'notify', 'verifiedName'] as const) {
      const v = c[f];
      if (typeof v === 'string' && v && v !== next[f]) {
        next[f] = v;
        this.dirty.add(jid);
      }
    }
    this.byJid.set(jid, next);
    const before = old ? displayNameOf(old) : undefined;
    const after = displayNameOf(next);
    if (!after || after === before) return undefined;
    return before !== undefined || this.complete || (c.name && after === c.name) ? after : undefined;
  }

  /** Writes the names changed since the last flush, in one batch (in order; a failure is logged). */
  flush(): void {
    if (!this.store || this.dirty.size === 0) return;
    const rows = [...this.dirty].map((jid) => ({ jid, ...this.byJid.get(jid) }));
    this.dirty.clear();
    const store = this.store;
    this.writing = this.writing.then(() => store.saveMany(rows))
      .catch((err: unknown) => this.log?.warn({ err: (err as Error).message, count: rows.length }, 'storing WhatsApp contact names failed'));
  }

  /** Resolves once every flush so far has been written. */
  idle(): Promise<void> {
    return this.writing;
  }

  name(jid: string): string | undefined {
    const c = this.byJid.get(jid);
    return c ? displayNameOf(c) : undefined;
  }

  /** Every person with a name, as [jid, display name]. */
  *entries(): IterableIterator<[string, string]> {
    for (const [jid, c] of this.byJid) {
      const name = displayNameOf(c);
      if (name) yield [jid, name];
    }
  }
}

/**
 * What a contact event says about the profile picture: Baileys sends 'changed' (rc14's picture
 * notification) or a URL for a new picture, 'removed', null or '' for none, and nothing when the
 * event is not about the picture.
 */
export function pictureChangeOf(imgUrl: string | null | undefined): { url?: string } | 'removed' | undefined {
  if (imgUrl === undefined) return undefined;
  if (imgUrl === null || imgUrl === '' || imgUrl === 'removed') return 'removed';
  return /^https?:\/\//.test(imgUrl) ? { url: imgUrl } : {};
}

export interface ContactHandler {
  login: UserLoginHandle;
  lids: LidResolver;
  book: ContactBook;
  profiles: ProfileUpdates;
  learn(pairs: Array<{ lid: string; pn: string }>): Promise<void>;
  opts: { onContact?(jid: string, name: string): void };
}

/** Handles contact events: LID mappings, names into the book, ghost updates for changes. */
export async function handleContacts(h: ContactHandler, cs: Array<Partial<Contact>>): Promise<void> {
  for (const c of cs) {
    if (!c.id) continue;
    const pn = isPnUser(c.id) ? c.id : c.phoneNumber && isPnUser(c.phoneNumber) ? c.phoneNumber : undefined;
    const lid = isLidUser(c.id) ? c.id : c.lid && isLidUser(c.lid) ? c.lid : undefined;
    if (pn && lid) await h.learn([{ lid, pn }]);
    // Picture notifications of groups come through here too; a group's picture is a room avatar.
    if (!pn && !lid) continue;
    const jid = jidNormalizedUser(pn ?? c.id);
    const rename = h.book.merge(jid, c);
    const shown = h.book.name(jid);
    if (shown && (c.name || c.notify || c.verifiedName)) h.opts.onContact?.(jid, shown);
    const picture = pictureChangeOf(c.imgUrl);
    if (!rename && !picture) continue;
    const user = await userIdFromJid(jid, h.lids);
    if (user) h.profiles.push(user, { ...(rename ? { name: rename } : {}), ...(picture ? { picture } : {}) });
  }
  h.book.flush();
}

export interface ProfileChange {
  name?: string;
  picture?: { url?: string } | 'removed';
}

/**
 * Ghost updates, one at a time in the order of the events, but off the event chain: a picture
 * lookup is a round trip to WhatsApp that messages should not wait for.
 */
export class ProfileUpdates {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly login: UserLoginHandle, private readonly socket: () => Pick<WAClientPort, 'profilePictureUrl'>) {}

  push(user: RemoteUserId, change: ProfileChange): void {
    this.chain = this.chain.then(() => this.apply(user, change))
      .catch((err: unknown) => this.login.log.warn({ err: (err as Error).message, user }, 'WhatsApp profile change not applied'));
  }

  /** Resolves once every update pushed so far has been handed to the core. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async apply(user: RemoteUserId, change: ProfileChange): Promise<void> {
    const info: UserInfo = {};
    if (change.name) info.name = change.name;
    if (change.picture) {
      const avatar = await this.avatar(user, change.picture);
      if (avatar) info.avatar = avatar;
    }
    if (info.name || info.avatar) await this.login.updateGhost(user, info);
  }

  /** The new avatar; undefined when the lookup failed (the ghost keeps its picture then). */
  private async avatar(user: RemoteUserId, picture: NonNullable<ProfileChange['picture']>): Promise<ChatAvatar | undefined> {
    if (picture === 'removed') return { id: '', remove: true };
    if (picture.url) return avatarFromUrl(picture.url);
    try {
      // A picture that is now hidden from us, or gone, is no picture, as for a new ghost.
      return (await avatarOf(this.socket(), jidFromUserId(user))) ?? { id: '', remove: true };
    } catch (err) {
      this.login.log.warn({ err: (err as Error).message, user }, 'looking up a changed WhatsApp profile picture failed');
      return undefined;
    }
  }
}
