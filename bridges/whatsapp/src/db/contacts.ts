/**
 * The names of people as one login's WhatsApp gives them (`wa_contacts`): the name saved in the
 * phone's address book, the person's own push name and a business's verified name, per user JID.
 * The connector's contact book (connector/contacts.ts) loads them at connect and writes changes
 * through, so a restart keeps the names and their precedence. Only names are stored, never a
 * phone number beyond the JID that keys the row.
 */
import { isHostedLidUser, isHostedPnUser, isLidUser, isPnUser, jidNormalizedUser } from 'baileys';
import type { Database } from '@tributary/core/db/database';

const TABLE = 'wa_contacts';
const CHUNK = 200;
/** Longest name kept (WhatsApp's own limits are far lower). */
export const MAX_CONTACT_NAME = 512;

export interface StoredContact {
  jid: string;
  /** Saved in the phone's address book. */
  name?: string;
  /** The person's own push name. */
  notify?: string;
  verifiedName?: string;
}

type Row = { jid: string; name: string | null; push_name: string | null; verified_name: string | null };

function userJid(jid: string): string {
  const user = typeof jid === 'string' ? jidNormalizedUser(jid) : '';
  if (!user || !(isPnUser(user) || isLidUser(user) || isHostedPnUser(user) || isHostedLidUser(user))) {
    throw new TypeError(`not a WhatsApp user JID: ${String(jid).slice(0, 60)}`);
  }
  return user;
}

function nameOf(v: unknown, field: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw new TypeError(`contact ${field} is not text`);
  return Array.from(v).slice(0, MAX_CONTACT_NAME).join('');
}

/** The contact names of one login. Inputs are validated; a bad one throws a TypeError and nothing is written. */
export class ContactStore {
  constructor(private readonly db: Database, readonly loginId: string) {}

  async loadAll(): Promise<StoredContact[]> {
    const rows = (await this.db.knex(TABLE).where({ login_id: this.loginId }).orderBy('jid')
      .select('jid', 'name', 'push_name', 'verified_name')) as Row[];
    return rows.map((r) => ({
      jid: r.jid,
      ...(r.name ? { name: r.name } : {}),
      ...(r.push_name ? { notify: r.push_name } : {}),
      ...(r.verified_name ? { verifiedName: r.verified_name } : {}),
    }));
  }

  /**
   * Writes each contact's names as given (replacing the row; an absent name is stored as none),
   * all in one transaction. For a JID given twice, the last wins.
   */
  async saveMany(contacts: readonly StoredContact[], nowMs = Date.now()): Promise<void> {
    const byJid = new Map<string, { name: string | null; push_name: string | null; verified_name: string | null }>();
    for (const c of contacts) {
      byJid.set(userJid(c.jid), { name: nameOf(c.name, 'name'), push_name: nameOf(c.notify, 'push name'), verified_name: nameOf(c.verifiedName, 'verified name') });
    }
    if (byJid.size === 0) return;
    // Sorted, so concurrent writers on PostgreSQL lock rows in the same order.
    const rows = [...byJid.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([jid, names]) => ({ login_id: this.loginId, jid, ...names, updated_at: nowMs }));
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += CHUNK) {
        await tx.knex(TABLE).insert(rows.slice(i, i + CHUNK)).onConflict(['login_id', 'jid']).merge(['name', 'push_name', 'verified_name', 'updated_at']);
      }
    });
  }
}
