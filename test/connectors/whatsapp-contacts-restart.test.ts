/**
 * Contact names across a restart, through the real WhatsAppAPI on the fake port and a SQLite
 * database: names from contact events are written to `wa_contacts`, a new WhatsAppAPI over the
 * same database knows them as soon as it connects (chat info, contact list), and a push name seen
 * for the first time after the restart renames the ghost, since the book knows the saved names.
 */
import assert from 'node:assert/strict';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { portalKey, userLoginId, type RemoteUserId } from '../../shared/src/network/index.js';
import { useSqlAuthState } from '../../bridges/whatsapp/src/db/auth-state.js';
import { ContactStore } from '../../bridges/whatsapp/src/db/contacts.js';
import { WHATSAPP_SECTION, whatsappMigrations } from '../../bridges/whatsapp/src/db/migrations.js';
import { whatsappConfigSchema } from '../../bridges/whatsapp/src/connector/connector.js';
import { WhatsAppAPI } from '../../bridges/whatsapp/src/connector/wa-api.js';
import { RecordingLogin } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const ME_DIGITS = '15550001111';
const ME = `${ME_DIGITS}@s.whatsapp.net`;
const BOB = '15550002222@s.whatsapp.net';
const CAROL = '15550003333@s.whatsapp.net';
const DAVE = '15550004444@s.whatsapp.net';

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never happened: ${what}`);
}

describe('whatsapp contact names across a restart', function () {
  this.timeout(20_000);
  let db: Database;
  const fakes: FakeWAPort[] = [];
  const apis: WhatsAppAPI[] = [];

  beforeEach(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations);
    await db.users.getOrCreate('@alice:example.org');
    await db.logins.upsert({ id: userLoginId(ME_DIGITS), userMxid: '@alice:example.org', remoteName: `+${ME_DIGITS}`, spaceRoom: null, metadata: {}, createdAt: 1 });
    const auth = await useSqlAuthState(db, ME_DIGITS);
    auth.state.creds.me = { id: `${ME_DIGITS}:4@s.whatsapp.net`, name: 'Me' };
    await auth.saveCreds();
  });
  afterEach(async () => {
    for (const api of apis.splice(0)) await api.disconnect();
    for (const f of fakes.splice(0)) await f.close();
    await db.close();
  });

  /** A WhatsAppAPI over the test database, connected on a new fake socket. */
  async function start(): Promise<{ api: WhatsAppAPI; fake: FakeWAPort; login: RecordingLogin }> {
    const fake = await createFakeWAPort({ me: ME, emitOwnEvents: false, overrides: { profilePictureUrl: async () => undefined } });
    fakes.push(fake);
    const login = new RecordingLogin(userLoginId(ME_DIGITS));
    let made = 0;
    const api = new WhatsAppAPI({ login, db, config: whatsappConfigSchema.parse({}), makeSocket: () => (made++, fake.port) });
    apis.push(api);
    api.connect();
    await until(() => made === 1, 'socket made');
    fake.ev.emit('connection.update', { connection: 'open' });
    await until(() => login.lastState() === 'CONNECTED', 'connected');
    return { api, fake, login };
  }

  it('keeps saved, push and verified names, and renames on a first push name after the restart', async () => {
    const first = await start();
    first.fake.ev.emit('contacts.upsert', [{ id: BOB, name: 'Robert (work)', notify: 'Bob' }, { id: CAROL, verifiedName: 'Carol Inc' }]);
    await first.api.events.idle();
    await first.api.events.book.idle();
    assert.deepEqual(await new ContactStore(db, ME_DIGITS).loadAll(), [
      { jid: BOB, name: 'Robert (work)', notify: 'Bob' },
      { jid: CAROL, verifiedName: 'Carol Inc' },
    ]);
    await first.api.disconnect();

    const second = await start();
    // Known at once, before WhatsApp says anything about anyone.
    assert.equal(second.api.contactName('15550002222' as RemoteUserId), 'Robert (work)');
    assert.equal((await second.api.getChatInfo(portalKey(CAROL, ME_DIGITS))).members?.[0]?.displayName, 'Carol Inc');
    assert.deepEqual((await second.api.getContactList()).map((c) => [c.user, c.info?.name]), [['15550002222', 'Robert (work)'], ['15550003333', 'Carol Inc']]);
    // Bob's push name changes: the saved name still wins, nobody is renamed.
    second.fake.ev.emit('contacts.update', [{ id: BOB, notify: 'Bobby' }]);
    // Dave's first push name after the restart renames his ghost (the book knew every saved name).
    second.fake.ev.emit('contacts.update', [{ id: DAVE, notify: 'Dave' }]);
    // Carol's push name outranks her verified name.
    second.fake.ev.emit('contacts.update', [{ id: CAROL, notify: 'Carol' }]);
    await second.api.events.idle();
    await second.api.events.profiles.idle();
    assert.deepEqual(second.login.ghostUpdates, [
      { user: '15550004444', info: { name: 'Dave' } },
      { user: '15550003333', info: { name: 'Carol' } },
    ]);
    await second.api.events.book.idle();
    assert.deepEqual((await new ContactStore(db, ME_DIGITS).loadAll()).find((c) => c.jid === BOB), { jid: BOB, name: 'Robert (work)', notify: 'Bobby' });
  });
});
