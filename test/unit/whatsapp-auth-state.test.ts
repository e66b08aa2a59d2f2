import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { proto, type SignalDataSet, type SignalDataTypeMap } from 'baileys';
import type { Database } from '../../shared/src/db/index.js';
import { configureLogging } from '../../shared/src/logging.js';
import {
  AUTH_FORMAT_VERSION,
  AuthStateTooNewError,
  useSqlAuthState,
  WA_KEY_TYPES,
  wrapCacheable,
  type WAKeyType,
} from '../../bridges/whatsapp/src/db/auth-state.js';
import { LidMap } from '../../bridges/whatsapp/src/db/lid-map.js';
import { WHATSAPP_SECTION, whatsappMigrations } from '../../bridges/whatsapp/src/db/migrations.js';
import { describeBothEngines } from '../helpers/postgres.js';

process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

const ALICE = '@alice:example.org';
const LOGIN_A = 'wa-login-a';
const LOGIN_B = 'wa-login-b';

/** Top-level fields that are not undefined (JSON drops undefined ones, as Baileys' file store does). */
function defined(obj: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

/** One realistic value per key type Baileys stores. */
function sampleKeys(): { [T in WAKeyType]: SignalDataTypeMap[T] } {
  return {
    'pre-key': { public: randomBytes(33), private: randomBytes(32) },
    session: randomBytes(120),
    'sender-key': randomBytes(80),
    'sender-key-memory': { '15550001111@s.whatsapp.net': true, '15550002222:3@s.whatsapp.net': false },
    'app-state-sync-key': proto.Message.AppStateSyncKeyData.fromObject({
      keyData: randomBytes(32),
      fingerprint: { rawId: 7, currentIndex: 2, deviceIndexes: [0, 3] },
      timestamp: 1_700_000_000_000,
    }),
    'app-state-sync-version': {
      version: 12,
      hash: randomBytes(128),
      indexValueMap: { 'aW5kZXgtbWFj': { valueMac: randomBytes(32) } },
    },
    'lid-mapping': '123456789012345',
    'device-list': ['0', '4', '17'],
    tctoken: { token: randomBytes(24), timestamp: '1700000000', senderTimestamp: 1_700_000_001 },
    'identity-key': randomBytes(33),
  };
}

async function rowCount(db: Database, table: string, loginId: string): Promise<number> {
  const rows = (await db.knex(table).where({ login_id: loginId }).select('login_id')) as unknown[];
  return rows.length;
}

describeBothEngines('whatsapp auth state and LID map', (ctx) => {
  let db: Database;

  async function addLogin(id: string): Promise<void> {
    await db.users.getOrCreate(ALICE);
    await db.logins.upsert({ id, userMxid: ALICE });
  }

  describe('migrations', () => {
    it('run after the core ones, create the tables, and are idempotent', async () => {
      db = await ctx.open();
      await db.migrate();
      assert.deepEqual(await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations), { section: 'whatsapp', from: 0, to: 2 });
      for (const table of ['wa_auth_creds', 'wa_auth_keys', 'wa_lid_map', 'wa_contacts']) {
        assert.equal(await db.knex.schema.hasTable(table), true, table);
      }
      assert.deepEqual(await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations), { section: 'whatsapp', from: 2, to: 2 });
    });
  });

  describe('with a migrated database', () => {
    beforeEach(async () => {
      db = await ctx.openMigrated();
      await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations);
      await addLogin(LOGIN_A);
      await addLogin(LOGIN_B);
    });

    it('starts with fresh creds, and saved creds reload equal with Buffers restored', async () => {
      const first = await useSqlAuthState(db, LOGIN_A);
      const creds = first.state.creds;
      assert.equal(creds.registered, false);
      assert.equal(await rowCount(db, 'wa_auth_creds', LOGIN_A), 0, 'nothing written before saveCreds');
      await first.saveCreds();

      const again = await useSqlAuthState(db, LOGIN_A);
      assert.deepEqual(defined(again.state.creds), defined(creds));
      assert.ok(Buffer.isBuffer(again.state.creds.noiseKey.private));
      assert.ok(Buffer.isBuffer(again.state.creds.signedIdentityKey.public));
      assert.ok(Buffer.isBuffer(again.state.creds.signedPreKey.signature));

      // Baileys mutates creds in place on creds.update, then the bridge saves them.
      Object.assign(creds, { registered: true, me: { id: '15550001111:12@s.whatsapp.net', lid: '98765:12@lid', name: 'Alice' } });
      await first.saveCreds();
      const third = await useSqlAuthState(db, LOGIN_A);
      assert.equal(third.state.creds.registered, true);
      assert.deepEqual(third.state.creds.me, { id: '15550001111:12@s.whatsapp.net', lid: '98765:12@lid', name: 'Alice' });
      const row = (await db.knex('wa_auth_creds').where({ login_id: LOGIN_A }).first('format_version')) as { format_version: unknown };
      assert.equal(Number(row.format_version), AUTH_FORMAT_VERSION);
    });

    it('round-trips every key type Baileys uses', async () => {
      assert.deepEqual([...WA_KEY_TYPES].sort(), [
        'app-state-sync-key', 'app-state-sync-version', 'device-list', 'identity-key', 'lid-mapping', 'pre-key',
        'sender-key', 'sender-key-memory', 'session', 'tctoken',
      ]);
      const { state } = await useSqlAuthState(db, LOGIN_A);
      const samples = sampleKeys();
      const data: SignalDataSet = {};
      for (const type of WA_KEY_TYPES) (data as Record<string, unknown>)[type] = { 'id-1': samples[type] };
      await state.keys.set(data);

      const reopened = (await useSqlAuthState(db, LOGIN_A)).state.keys;
      for (const type of WA_KEY_TYPES) {
        const got = await reopened.get(type, ['id-1', 'missing']);
        assert.deepEqual(Object.keys(got), ['id-1'], type);
        if (type === 'app-state-sync-key') {
          const key = got['id-1'] as proto.Message.AppStateSyncKeyData;
          assert.ok(key instanceof proto.Message.AppStateSyncKeyData);
          assert.deepEqual(key.toJSON(), (samples[type] as proto.Message.AppStateSyncKeyData).toJSON());
          assert.deepEqual(Buffer.from(key.keyData!), Buffer.from(samples[type].keyData!));
        } else {
          assert.deepEqual(got['id-1'], samples[type], type);
        }
      }
      assert.ok(Buffer.isBuffer((await reopened.get('session', ['id-1']))['id-1']));
      assert.deepEqual(await reopened.get('session', []), {});
    });

    it('a null value deletes the key; other keys stay', async () => {
      const { keys } = (await useSqlAuthState(db, LOGIN_A)).state;
      await keys.set({ session: { a: Buffer.from('one'), b: Buffer.from('two') }, 'pre-key': { '5': { public: Buffer.alloc(33, 1), private: Buffer.alloc(32, 2) } } });
      await keys.set({ session: { a: null, c: Buffer.from('three') }, 'pre-key': { '5': null } });
      assert.deepEqual(await keys.get('session', ['a', 'b', 'c']), { b: Buffer.from('two'), c: Buffer.from('three') });
      assert.deepEqual(await keys.get('pre-key', ['5']), {});
    });

    it('writes many ids across chunks', async () => {
      const { keys } = (await useSqlAuthState(db, LOGIN_A)).state;
      const many: Record<string, Buffer> = {};
      for (let i = 0; i < 600; i++) many[`id-${i}`] = Buffer.from([i % 256, 1]);
      await keys.set({ 'sender-key': many });
      const got = await keys.get('sender-key', Object.keys(many));
      assert.equal(Object.keys(got).length, 600);
      assert.deepEqual(got['id-599'], Buffer.from([599 % 256, 1]));
    });

    it('a set call is atomic: one unserialisable value and nothing of that call is written', async () => {
      const { keys } = (await useSqlAuthState(db, LOGIN_A)).state;
      await keys.set({ session: { existing: Buffer.from('keep me') } });
      const bad = {
        'pre-key': { '1': { public: Buffer.alloc(33, 3), private: Buffer.alloc(32, 4) } },
        session: { existing: null, fresh: Buffer.from('new') },
        // Sorted last, so the earlier types were already written inside the transaction.
        tctoken: { x: { token: Buffer.from('t'), timestamp: 10n } },
      } as unknown as SignalDataSet;
      await assert.rejects(keys.set(bad), /cannot serialise WhatsApp tctoken key x/);
      assert.deepEqual(await keys.get('pre-key', ['1']), {});
      assert.deepEqual(await keys.get('session', ['existing', 'fresh']), { existing: Buffer.from('keep me') });
      assert.deepEqual(await keys.get('tctoken', ['x']), {});
      assert.equal(await rowCount(db, 'wa_auth_keys', LOGIN_A), 1);
    });

    it('keeps logins apart', async () => {
      const a = await useSqlAuthState(db, LOGIN_A);
      const b = await useSqlAuthState(db, LOGIN_B);
      await a.saveCreds();
      await b.saveCreds();
      await a.state.keys.set({ session: { same: Buffer.from('a') } });
      await b.state.keys.set({ session: { same: Buffer.from('b') } });
      assert.deepEqual(await a.state.keys.get('session', ['same']), { same: Buffer.from('a') });
      assert.deepEqual(await b.state.keys.get('session', ['same']), { same: Buffer.from('b') });
      assert.notDeepEqual(
        (await useSqlAuthState(db, LOGIN_A)).state.creds.noiseKey.private,
        (await useSqlAuthState(db, LOGIN_B)).state.creds.noiseKey.private,
      );

      await a.clear();
      assert.equal(await rowCount(db, 'wa_auth_creds', LOGIN_A), 0);
      assert.equal(await rowCount(db, 'wa_auth_keys', LOGIN_A), 0);
      assert.deepEqual(await b.state.keys.get('session', ['same']), { same: Buffer.from('b') });
      assert.deepEqual(defined((await useSqlAuthState(db, LOGIN_B)).state.creds), defined(b.state.creds));
      // After clear, the login starts over with new creds.
      const fresh = await useSqlAuthState(db, LOGIN_A);
      assert.notDeepEqual(fresh.state.creds.noiseKey.private, a.state.creds.noiseKey.private);
    });

    it('keys.clear drops the keys but keeps the creds', async () => {
      const a = await useSqlAuthState(db, LOGIN_A);
      await a.saveCreds();
      await a.state.keys.set({ 'identity-key': { 'x.0': Buffer.alloc(33, 9) } });
      await a.state.keys.clear();
      assert.equal(await rowCount(db, 'wa_auth_keys', LOGIN_A), 0);
      assert.equal(await rowCount(db, 'wa_auth_creds', LOGIN_A), 1);
    });

    it('deleting the core login cascades to its creds, keys and LID map; renaming it carries them along', async () => {
      for (const id of [LOGIN_A, LOGIN_B]) {
        const s = await useSqlAuthState(db, id);
        await s.saveCreds();
        await s.state.keys.set({ session: { k: Buffer.from(id) } });
        await new LidMap(db, id).set('111@lid', '15550001111@s.whatsapp.net');
      }
      assert.equal(await db.logins.delete(LOGIN_A), true);
      for (const table of ['wa_auth_creds', 'wa_auth_keys', 'wa_lid_map']) {
        assert.equal(await rowCount(db, table, LOGIN_A), 0, table);
        assert.equal(await rowCount(db, table, LOGIN_B), 1, table);
      }

      await db.knex('user_logins').where({ id: LOGIN_B }).update({ id: 'wa-login-renamed' });
      const renamed = await useSqlAuthState(db, 'wa-login-renamed');
      assert.deepEqual(await renamed.state.keys.get('session', ['k']), { k: Buffer.from(LOGIN_B) });
      assert.equal(await new LidMap(db, 'wa-login-renamed').getPn('111@lid'), '15550001111@s.whatsapp.net');
    });

    it('refuses creds stored in a newer format and leaves them untouched', async () => {
      const s = await useSqlAuthState(db, LOGIN_A);
      await s.saveCreds();
      await db.knex('wa_auth_creds').where({ login_id: LOGIN_A }).update({ format_version: AUTH_FORMAT_VERSION + 1 });
      await assert.rejects(useSqlAuthState(db, LOGIN_A), (err: unknown) => {
        assert.ok(err instanceof AuthStateTooNewError);
        assert.equal(err.storedVersion, AUTH_FORMAT_VERSION + 1);
        assert.match(err.message, /format 8.*up to format 7/);
        return true;
      });
      const row = (await db.knex('wa_auth_creds').where({ login_id: LOGIN_A }).first('format_version')) as { format_version: unknown };
      assert.equal(Number(row.format_version), AUTH_FORMAT_VERSION + 1);
    });

    it('works behind Baileys\' cacheable key store', async () => {
      const s = await useSqlAuthState(db, LOGIN_A);
      const cached = wrapCacheable(s.state);
      assert.equal(cached.creds, s.state.creds);
      await cached.keys.set({ session: { c1: Buffer.from('cached') }, 'device-list': { u: ['0', '2'] } });
      assert.deepEqual(await cached.keys.get('session', ['c1']), { c1: Buffer.from('cached') });
      // Written through to the database, readable by a fresh store.
      const fresh = (await useSqlAuthState(db, LOGIN_A)).state.keys;
      assert.deepEqual(await fresh.get('device-list', ['u']), { u: ['0', '2'] });
      await cached.keys.set({ session: { c1: null } });
      assert.deepEqual(await fresh.get('session', ['c1']), {});
    });

    describe('LidMap', () => {
      it('maps both ways at user level and replaces a LID\'s number', async () => {
        const map = new LidMap(db, LOGIN_A);
        assert.equal(await map.getPn('111@lid'), undefined);
        await map.set('111:5@lid', '15550001111:5@s.whatsapp.net', 1000);
        assert.equal(await map.getPn('111@lid'), '15550001111@s.whatsapp.net');
        assert.equal(await map.getLid('15550001111@c.us'), '111@lid');
        await map.set('111@lid', '15550009999@s.whatsapp.net', 2000);
        assert.equal(await map.getPn('111@lid'), '15550009999@s.whatsapp.net');
        assert.equal(await map.getLid('15550001111@s.whatsapp.net'), undefined);
      });

      it('setMany writes all pairs; the newest LID of a number wins; logins are apart', async () => {
        const map = new LidMap(db, LOGIN_A);
        await map.setMany([
          { lid: '1@lid', pn: '100@s.whatsapp.net' },
          { lid: '2@lid', pn: '200@s.whatsapp.net' },
          { lid: '3@hosted.lid', pn: '300@hosted' },
        ], 1000);
        await map.setMany([{ lid: '4@lid', pn: '100@s.whatsapp.net' }], 2000);
        assert.equal(await map.getPn('2@lid'), '200@s.whatsapp.net');
        assert.equal(await map.getPn('3@hosted.lid'), '300@hosted');
        assert.equal(await map.getLid('100@s.whatsapp.net'), '4@lid');
        assert.equal(await map.getPn('1@lid'), '100@s.whatsapp.net');
        assert.equal(await new LidMap(db, LOGIN_B).getPn('2@lid'), undefined);
        await map.setMany([]);
        assert.equal(await rowCount(db, 'wa_lid_map', LOGIN_A), 4);
      });

      it('rejects malformed JIDs and writes nothing of the batch', async () => {
        const map = new LidMap(db, LOGIN_A);
        await assert.rejects(map.set('15550001111@s.whatsapp.net', '111@lid'), TypeError);
        await assert.rejects(map.setMany([{ lid: '1@lid', pn: '100@s.whatsapp.net' }, { lid: 'nonsense', pn: '200@s.whatsapp.net' }]), /not a WhatsApp LID/);
        await assert.rejects(map.getPn('group@g.us'), TypeError);
        assert.equal(await rowCount(db, 'wa_lid_map', LOGIN_A), 0);
      });
    });

    describe('logging', () => {
      after(() => {
        configureLogging({ level: process.env.TRIBUTARY_LOG_LEVEL ?? 'warn' });
      });

      it('never writes key or creds bytes to the log, even at trace level', async () => {
        const out = new PassThrough();
        const chunks: string[] = [];
        out.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
        configureLogging({ level: 'trace', destination: out });

        const preKeyPrivate = randomBytes(32);
        const s = await useSqlAuthState(db, LOGIN_A);
        const cached = wrapCacheable(s.state);
        await s.saveCreds();
        await cached.keys.set({ 'pre-key': { '9': { public: randomBytes(33), private: preKeyPrivate } }, session: { z: randomBytes(40) } });
        await cached.keys.get('pre-key', ['9']);
        await s.state.keys.get('pre-key', ['9']);
        const bad = { 'pre-key': { '10': { public: preKeyPrivate, private: preKeyPrivate, n: 1n } } } as unknown as SignalDataSet;
        await assert.rejects(s.state.keys.set(bad), (err: Error) => !err.message.includes(preKeyPrivate.toString('base64')));
        await (await useSqlAuthState(db, LOGIN_A)).clear();
        await new Promise<void>((r) => setImmediate(r));

        const text = chunks.join('');
        assert.match(text, /stored signal keys/, 'the operations did log');
        assert.match(text, /saved creds/);
        const secrets = [
          preKeyPrivate,
          s.state.creds.noiseKey.private,
          s.state.creds.signedIdentityKey.private,
          s.state.creds.signedPreKey.keyPair.private,
          s.state.creds.pairingEphemeralKeyPair.private,
        ].map((b) => Buffer.from(b));
        for (const secret of secrets) {
          for (const form of [secret.toString('base64'), secret.toString('hex'), secret.toString('base64url')]) {
            assert.ok(!text.includes(form), `secret bytes leaked: ${form}`);
          }
        }
        assert.ok(!text.includes(s.state.creds.advSecretKey), 'advSecretKey leaked');
      });
    });
  });
});
