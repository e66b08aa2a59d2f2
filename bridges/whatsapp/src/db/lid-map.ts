/**
 * LID <-> phone-number mappings, kept by the bridge per login.
 *
 * WhatsApp addresses people by LID (`…@lid`) more and more, and Baileys resolves only PN -> LID
 * over the network; LID -> PN comes only from `lid-mapping.update`, history-sync
 * `lidPnMappings` and message keys' `…Alt` fields, and history-sync keys often carry no
 * alternative at all. So every pair the bridge sees is stored here, at user level: a device
 * suffix (`123:4@lid`) is dropped, and `@c.us` is read as `@s.whatsapp.net`.
 */
import { isHostedLidUser, isHostedPnUser, isLidUser, isPnUser, jidNormalizedUser } from 'baileys';
import type { Database } from '@tributary/core/db/database';

const TABLE = 'wa_lid_map';
const CHUNK = 200;

export interface LidPnPair {
  lid: string;
  pn: string;
}

function normalise(jid: string, kind: 'lid' | 'pn'): string {
  const user = jidNormalizedUser(jid);
  const ok = kind === 'lid' ? isLidUser(user) || isHostedLidUser(user) : isPnUser(user) || isHostedPnUser(user);
  if (!user || !ok) throw new TypeError(`not a WhatsApp ${kind === 'lid' ? 'LID' : 'phone-number'} JID: ${jid}`);
  return user;
}

/** The LID map of one login. Inputs are validated; a malformed JID throws a TypeError. */
export class LidMap {
  constructor(private readonly db: Database, readonly loginId: string) {}

  /** Records that `lid` is `pn` (replacing what `lid` mapped to before). */
  async set(lid: string, pn: string, nowMs = Date.now()): Promise<void> {
    await this.setMany([{ lid, pn }], nowMs);
  }

  /** Records many pairs in one transaction; for a LID given twice, the last pair wins. */
  async setMany(pairs: readonly LidPnPair[], nowMs = Date.now()): Promise<void> {
    const byLid = new Map<string, string>();
    for (const { lid, pn } of pairs) byLid.set(normalise(lid, 'lid'), normalise(pn, 'pn'));
    if (byLid.size === 0) return;
    const rows = [...byLid.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([lid, pn]) => ({ login_id: this.loginId, lid, pn, updated_at: nowMs }));
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += CHUNK) {
        await tx.knex(TABLE).insert(rows.slice(i, i + CHUNK)).onConflict(['login_id', 'lid']).merge(['pn', 'updated_at']);
      }
    });
  }

  /** The phone-number JID (`…@s.whatsapp.net`) of a LID, if known. */
  async getPn(lid: string): Promise<string | undefined> {
    const row = (await this.db.knex(TABLE)
      .where({ login_id: this.loginId, lid: normalise(lid, 'lid') })
      .first('pn')) as { pn: string } | undefined;
    return row?.pn;
  }

  /** The LID JID of a phone number, if known; the most recently recorded one if several. */
  async getLid(pn: string): Promise<string | undefined> {
    const row = (await this.db.knex(TABLE)
      .where({ login_id: this.loginId, pn: normalise(pn, 'pn') })
      .orderBy([{ column: 'updated_at', order: 'desc' }, { column: 'lid', order: 'asc' }])
      .first('lid')) as { lid: string } | undefined;
    return row?.lid;
  }
}
