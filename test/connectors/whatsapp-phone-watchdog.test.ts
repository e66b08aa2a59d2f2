/**
 * The phone-offline watchdog through the real WhatsAppAPI and the fake port, with an injected
 * clock: a login whose phone has not been seen for `phone_offline_warning_days` connects into the
 * wa-phone-offline state instead of CONNECTED, each sign of the phone (a message sent from it, a
 * read on another device, a history sync, our own presence) brings CONNECTED back, and the time
 * is kept in the login's metadata, written at most once an hour.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { proto } from 'baileys';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { userLoginId, type BridgeStateUpdate } from '../../shared/src/network/index.js';
import { useSqlAuthState } from '../../bridges/whatsapp/src/db/auth-state.js';
import { WHATSAPP_SECTION, whatsappMigrations } from '../../bridges/whatsapp/src/db/migrations.js';
import { whatsappConfigSchema } from '../../bridges/whatsapp/src/connector/connector.js';
import { WhatsAppAPI } from '../../bridges/whatsapp/src/connector/wa-api.js';
import { PhoneWatchdog, PHONE_SEEN_KEY } from '../../bridges/whatsapp/src/connector/phone-watchdog.js';
import { RecordingLogin } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const ME_DIGITS = '15550001111';
const ME = `${ME_DIGITS}@s.whatsapp.net`;
const BOB = '15550002222@s.whatsapp.net';
const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

/** A RecordingLogin that counts metadata writes. */
class CountingLogin extends RecordingLogin {
  saves: Array<Record<string, unknown>> = [];
  override async saveMetadata(patch: Record<string, unknown>): Promise<void> {
    this.saves.push(patch);
    await super.saveMetadata(patch);
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never happened: ${what}`);
}

const phoneId = () => randomBytes(16).toString('hex').toUpperCase(); // 32 characters: an Android phone's kind of id
const summary = (s: BridgeStateUpdate) => `${s.stateEvent}${s.error ? `/${s.error}` : ''}`;

describe('whatsapp phone-offline watchdog', function () {
  this.timeout(20_000);
  let db: Database;
  let fake: FakeWAPort;
  let api: WhatsAppAPI;
  let login: CountingLogin;
  let now: number;

  async function connect(metadata: Record<string, unknown>, warningDays = 12): Promise<void> {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    await db.migrateSection(WHATSAPP_SECTION, whatsappMigrations);
    await db.users.getOrCreate('@alice:example.org');
    await db.logins.upsert({ id: userLoginId(ME_DIGITS), userMxid: '@alice:example.org', remoteName: `+${ME_DIGITS}`, spaceRoom: null, metadata, createdAt: 1 });
    const auth = await useSqlAuthState(db, ME_DIGITS);
    auth.state.creds.me = { id: `${ME_DIGITS}:4@s.whatsapp.net`, name: 'Me' };
    await auth.saveCreds();
    fake = await createFakeWAPort({ me: ME, emitOwnEvents: false });
    login = new CountingLogin(userLoginId(ME_DIGITS));
    Object.assign(login.metadata, metadata);
    let made = 0;
    api = new WhatsAppAPI({
      login, db, config: whatsappConfigSchema.parse({ phone_offline_warning_days: warningDays }),
      makeSocket: () => (made++, fake.port), now: () => now, historyDispatchWaitMs: 0,
    });
    api.connect();
    await until(() => made === 1, 'socket made');
    fake.ev.emit('connection.update', { connection: 'open' });
    await until(() => login.states.length >= 2, 'opened');
  }
  afterEach(async () => {
    await api.disconnect();
    await fake.close();
    await db.close();
  });

  /** Emits an event and waits until the handler has dealt with it. */
  async function emit(fn: () => void): Promise<void> {
    fn();
    await api.events.idle();
  }
  const fromMe = (id: string, type: 'notify' | 'append' = 'notify') =>
    emit(() => fake.emitIncoming(fake.makeIncoming({ conversation: 'from me' }, { chat: BOB, from: ME, fromMe: true, id, timestamp: Math.floor(now / 1000) }), type));

  it('connects into the warning after the set days; each sign of the phone brings CONNECTED back', async () => {
    now = T0 + 13 * DAY + 5_000;
    await connect({ [PHONE_SEEN_KEY]: T0 });
    assert.deepEqual(login.states.map(summary), ['CONNECTING', 'UNKNOWN_ERROR/wa-phone-offline']);
    assert.equal(login.states[1]!.message, 'Your phone has not been seen for 13 days; open WhatsApp on it, or WhatsApp will unlink this bridge after 14 days');

    // Not signs of the phone: the bridge's own echoes ('append'), and ids of WhatsApp Web / desktop.
    await fromMe(phoneId(), 'append');
    await fromMe('3EB0ABCDEF0123456789AB');
    assert.equal(login.states.length, 2);
    // A message sent from the phone.
    await fromMe(phoneId());
    assert.deepEqual(login.states.map(summary).slice(2), ['CONNECTED']);
    assert.equal(login.metadata[PHONE_SEEN_KEY], Math.floor(now / 1000) * 1000);

    // Twelve days later the hourly check warns again; a message we read on another device is a sign.
    now += 12 * DAY;
    api.phone.check();
    assert.equal(summary(login.states.at(-1)!), 'UNKNOWN_ERROR/wa-phone-offline');
    assert.match(login.states.at(-1)!.message ?? '', /for 12 days/);
    await emit(() => fake.ev.emit('messages.update', [{ key: { remoteJid: BOB, fromMe: false, id: 'IN1' }, update: { status: proto.WebMessageInfo.Status.READ } }]));
    assert.equal(summary(login.states.at(-1)!), 'CONNECTED');

    now += 12 * DAY;
    api.phone.check();
    await emit(() => fake.ev.emit('messaging-history.set', { chats: [], contacts: [], messages: [], syncType: proto.HistorySync.HistorySyncType.PUSH_NAME }));
    now += 12 * DAY;
    api.phone.check();
    await emit(() => fake.ev.emit('presence.update', { id: ME, presences: { [ME]: { lastKnownPresence: 'available' } } }));
    assert.deepEqual(login.states.map(summary).slice(-4), ['UNKNOWN_ERROR/wa-phone-offline', 'CONNECTED', 'UNKNOWN_ERROR/wa-phone-offline', 'CONNECTED']);
  });

  it('a reconnect while the phone is away shows the warning, not CONNECTED; 11 days is no warning', async () => {
    now = T0 + 11 * DAY;
    await connect({ [PHONE_SEEN_KEY]: T0 });
    assert.deepEqual(login.states.map(summary), ['CONNECTING', 'CONNECTED']);
    now = T0 + 12 * DAY;
    fake.ev.emit('connection.update', { connection: 'open' });
    await until(() => login.states.length === 3, 'state');
    assert.equal(summary(login.states[2]!), 'UNKNOWN_ERROR/wa-phone-offline');
  });

  it('0 turns the warning off; a login with no sign recorded starts the clock', async () => {
    now = T0 + 30 * DAY;
    await connect({}, 0);
    assert.deepEqual(login.states.map(summary), ['CONNECTING', 'CONNECTED']);
    await until(() => login.saves.length === 1, 'saved');
    assert.deepEqual(login.saves, [{ [PHONE_SEEN_KEY]: now }]);
  });

  it('writes the time at most once an hour, and the rest when it stops', async () => {
    now = T0;
    await connect({ [PHONE_SEEN_KEY]: T0 });
    for (let i = 1; i <= 10; i++) {
      now = T0 + i * 10 * 60_000; // every ten minutes
      await fromMe(phoneId());
    }
    await until(() => login.saves.length === 1, 'one write');
    assert.deepEqual(login.saves, [{ [PHONE_SEEN_KEY]: T0 + 60 * 60_000 }]);
    await api.disconnect();
    assert.deepEqual(login.saves.at(-1), { [PHONE_SEEN_KEY]: T0 + 100 * 60_000 });
    assert.equal(login.saves.length, 2);
  });

  it('checks on its own timer while connected', async () => {
    const states: BridgeStateUpdate[] = [];
    let clock = T0;
    const target = new RecordingLogin(userLoginId(ME_DIGITS));
    Object.assign(target.metadata, { [PHONE_SEEN_KEY]: T0 });
    target.setBridgeState = (s) => void states.push(s);
    const dog = new PhoneWatchdog({ login: target, warningDays: 12, now: () => clock, checkEveryMs: 10 });
    dog.start();
    assert.equal(dog.filter({ stateEvent: 'CONNECTED' }).stateEvent, 'CONNECTED');
    clock += 12 * DAY;
    await until(() => states.length === 1, 'the timer warned');
    assert.equal(states[0]!.error, 'wa-phone-offline');
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(states.length, 1, 'the same warning is not repeated');
    await dog.stop();
  });
});
