import type { Migration } from '@tributary/core/db/migrator';

type Trx = Parameters<Migration['up']>[0];

/**
 * The WhatsApp bridge's own tables, in the `whatsapp` migration section (run after the core
 * section: every table references core `user_logins`). Conventions follow the core schema:
 * text columns, bigint millisecond times set by the code.
 *
 * Every row belongs to one login and goes with it: ON DELETE CASCADE drops a deleted login's
 * Signal keys and mappings, and ON UPDATE CASCADE lets a login created under a provisional id
 * (before pairing tells us the account) be renamed without orphaning its keys. The FK means the
 * `user_logins` row must exist before the first `saveCreds()` / `keys.set()`.
 */
async function createWhatsAppSchema(knex: Trx): Promise<void> {
  // Baileys' AuthenticationCreds, BufferJSON-encoded. format_version says which Baileys
  // auth-state format `value` holds (see AUTH_FORMAT_VERSION).
  await knex.schema.createTable('wa_auth_creds', (t) => {
    t.text('login_id').primary().references('id').inTable('user_logins').onDelete('CASCADE').onUpdate('CASCADE');
    t.integer('format_version').notNullable();
    t.text('value').notNullable();
  });

  // Baileys' SignalKeyStore: one row per (type, id), BufferJSON-encoded value.
  await knex.schema.createTable('wa_auth_keys', (t) => {
    t.text('login_id').notNullable().references('id').inTable('user_logins').onDelete('CASCADE').onUpdate('CASCADE');
    t.text('type').notNullable();
    t.text('id').notNullable();
    t.text('value').notNullable();
    t.primary(['login_id', 'type', 'id']);
  });

  // LID <-> phone-number user JIDs seen by this login (Baileys only resolves PN -> LID itself).
  await knex.schema.createTable('wa_lid_map', (t) => {
    t.text('login_id').notNullable().references('id').inTable('user_logins').onDelete('CASCADE').onUpdate('CASCADE');
    t.text('lid').notNullable();
    t.text('pn').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['login_id', 'lid']);
    t.index(['login_id', 'pn']);
  });
}

/** Names of people as WhatsApp gives them (connector/contacts.ts), so a restart keeps them. */
async function createContactsTable(knex: Trx): Promise<void> {
  // One row per person (user JID, phone-number form where known); a null name is one not given.
  await knex.schema.createTable('wa_contacts', (t) => {
    t.text('login_id').notNullable().references('id').inTable('user_logins').onDelete('CASCADE').onUpdate('CASCADE');
    t.text('jid').notNullable();
    // The name saved in the phone's address book, the person's own push name, a business's verified name.
    t.text('name');
    t.text('push_name');
    t.text('verified_name');
    t.bigInteger('updated_at').notNullable();
    t.primary(['login_id', 'jid']);
  });
}

export const WHATSAPP_SECTION = 'whatsapp';

export const whatsappMigrations: Migration[] = [
  { version: 1, description: 'whatsapp auth state and LID map', up: createWhatsAppSchema },
  { version: 2, description: 'whatsapp contact names', up: createContactsTable },
];
