/**
 * `wa_contacts` (db/contacts.ts) on SQLite and PostgreSQL, and the contact book over it: names
 * survive a "restart" (a new book loaded from the table), each contact event's changes are written
 * in one batch, and a book loaded with names renames a ghost on a first push name.
 */
import assert from 'node:assert/strict';
import type { Database } from '../../shared/src/db/index.js';
import { ContactStore, MAX_CONTACT_NAME, type StoredContact } from '../../bridges/whatsapp/src/db/contacts.js';
import { WHATSAPP_SECTION, whatsappMigrations } from '../../bridges/whatsapp/src/db/migrations.js';
import { ContactBook } from '../../bridges/whatsapp/src/connector/contacts.js';
import { describeBothEngines } from '../helpers/postgres.js';

const ALICE = '@alice:example.org';
const BOB = '15550002222@s.whatsapp.net';
const CAROL = '15550003333@s.whatsapp.net';
const DAVE_LID = '777000111@lid';

describeBothEngines('whatsapp contact names', (ctx) => {
  let db: Database;

  beforeEach(async () => {
    db = await ctx.openMigrated();
    await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations);
    await db.users.getOrCreate(ALICE);
    await db.logins.upsert({ id: 'login-a', userMxid: ALICE });
    await db.logins.upsert({ id: 'login-b', userMxid: ALICE });
  });

  it('stores the three name kinds per login and JID, replacing a row; device suffixes are dropped', async () => {
    const a = new ContactStore(db, 'login-a');
    await a.saveMany([
      { jid: BOB, name: 'Robert', notify: 'Bob' },
      { jid: '15550003333:7@s.whatsapp.net', verifiedName: 'Carol Inc' },
      { jid: DAVE_LID, notify: 'Dave' },
    ], 1_000);
    await new ContactStore(db, 'login-b').saveMany([{ jid: BOB, name: 'Bobby B' }]);
    assert.deepEqual(await a.loadAll(), [
      { jid: BOB, name: 'Robert', notify: 'Bob' },
      { jid: CAROL, verifiedName: 'Carol Inc' },
      { jid: DAVE_LID, notify: 'Dave' },
    ]);
    await a.saveMany([{ jid: BOB, notify: 'Bobby' }, { jid: BOB, notify: 'Rob', name: 'Robert' }]);
    assert.deepEqual((await a.loadAll())[0], { jid: BOB, name: 'Robert', notify: 'Rob' }, 'the last of a JID given twice wins');
    assert.deepEqual(await new ContactStore(db, 'login-b').loadAll(), [{ jid: BOB, name: 'Bobby B' }]);
  });

  it('refuses bad input with a clear error and writes nothing of the batch', async () => {
    const a = new ContactStore(db, 'login-a');
    await assert.rejects(a.saveMany([{ jid: BOB, notify: 'Bob' }, { jid: '120363000000000001@g.us', name: 'A group' }]), /not a WhatsApp user JID/);
    await assert.rejects(a.saveMany([{ jid: BOB, name: 42 } as unknown as StoredContact]), /name is not text/);
    assert.deepEqual(await a.loadAll(), []);
    await a.saveMany([{ jid: BOB, name: 'x'.repeat(MAX_CONTACT_NAME + 50) }]);
    assert.equal((await a.loadAll())[0]?.name?.length, MAX_CONTACT_NAME);
  });

  it('goes with its login', async () => {
    await new ContactStore(db, 'login-a').saveMany([{ jid: BOB, notify: 'Bob' }]);
    assert.equal(await db.logins.delete('login-a'), true);
    assert.deepEqual(await new ContactStore(db, 'login-a').loadAll(), []);
  });

  it('the book: writes each batch of changes through, and a restarted book knows the names', async () => {
    const store = new ContactStore(db, 'login-a');
    let writes = 0;
    const counting = { saveMany: async (cs: StoredContact[]) => (writes++, store.saveMany(cs)) };
    const book = new ContactBook(counting);
    book.merge(BOB, { name: 'Robert', notify: 'Bob' });
    book.merge(CAROL, { notify: 'Carol' });
    book.flush();
    book.merge(BOB, { notify: 'Bob' }); // no change: nothing to write
    book.flush();
    await book.idle();
    assert.equal(writes, 1, 'one write for the batch, none for no change');

    const restarted = new ContactBook(counting);
    restarted.load(await store.loadAll());
    assert.equal(restarted.name(BOB), 'Robert', 'the saved name survives and still outranks the push name');
    // Known from before the restart, so a first push name is a real change: it renames.
    assert.equal(restarted.merge(DAVE_LID, { notify: 'Dave' }), 'Dave');
    assert.equal(restarted.merge(BOB, { notify: 'Bobby' }), undefined, 'the saved name still wins');
    // A book with nothing stored stays careful: a first push name only fills it.
    const fresh = new ContactBook();
    fresh.load([]);
    assert.equal(fresh.merge(DAVE_LID, { notify: 'Dave' }), undefined);
  });
});
