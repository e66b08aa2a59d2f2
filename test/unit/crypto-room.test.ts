/**
 * The room side of end-to-bridge encryption: the room state cache, who gets room keys, the
 * Megolm settings a room gets, the key waiters, and one decryption attempt with the real wasm.
 */
import assert from 'node:assert/strict';
// The wasm exactly as shared/src loads it, so its classes are the same instances.
import * as wasm from '../../shared/src/crypto/wasm.js';
import { RoomStates, keyRecipients, type RoomCryptoState } from '../../shared/src/crypto/room-state.js';
import { encryptionSettings } from '../../shared/src/crypto/room-encryptor.js';
import { KeyWaiters, decryptOnce, sessionIdOf } from '../../shared/src/crypto/room-decryptor.js';
import type { MatrixApi } from '../../shared/src/matrix/matrix-api.js';
import type { MatrixRoomEvent } from '../../shared/src/matrix/transaction.js';

const ROOM = '!r:test';

function fakeApi(state: unknown[]): { api: MatrixApi; calls: string[] } {
  const calls: string[] = [];
  const api = {
    request: async (method: string, path: string, opts: { asUser?: string }) => {
      calls.push(`${method} ${path} as ${opts.asUser}`);
      return state;
    },
  } as unknown as MatrixApi;
  return { api, calls };
}

const member = (user: string, membership: string) => ({ type: 'm.room.member', state_key: user, content: { membership } });

describe('crypto: room state and key recipients', () => {
  it('reads the state once, as the sender, and keeps it current from transactions', async () => {
    const { api, calls } = fakeApi([member('@me:test', 'join'), member('@ghost:test', 'join'), { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }]);
    const rooms = new RoomStates(api);
    const s = await rooms.get(ROOM, '@ghost:test');
    assert.equal(s.encryption, null);
    assert.equal(s.historyVisibility, 'joined');
    await rooms.get(ROOM, '@ghost:test');
    assert.deepEqual(calls, [`GET /_matrix/client/v3/rooms/${encodeURIComponent(ROOM)}/state as @ghost:test`]);
    const ev = (type: string, content: Record<string, unknown>, stateKey = ''): MatrixRoomEvent => ({
      event_id: '$e', room_id: ROOM, sender: '@me:test', type, state_key: stateKey, origin_server_ts: 1, content,
    });
    rooms.observe(ev('m.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2', rotation_period_msgs: 10 }));
    assert.ok(rooms.knownEncrypted(ROOM));
    // Encryption is never turned off by a later event without an algorithm.
    rooms.observe(ev('m.room.encryption', {}));
    assert.equal((await rooms.get(ROOM, '@ghost:test')).encryption?.rotation_period_msgs, 10);
    rooms.observe(ev('m.room.member', { membership: 'invite' }, '@new:test'));
    assert.equal(s.members.get('@new:test'), 'invite');
  });

  it('gives keys to joined members, to invited ones unless history is for joined members only, never to bridge users', () => {
    const state: RoomCryptoState = {
      encryption: { algorithm: 'm.megolm.v1.aes-sha2' }, historyVisibility: 'shared',
      members: new Map([['@me:test', 'join'], ['@inv:test', 'invite'], ['@gone:test', 'leave'], ['@ghost:test', 'join'], ['@bot:test', 'join']]),
    };
    const bridgeUser = (u: string) => u === '@ghost:test' || u === '@bot:test';
    assert.deepEqual(keyRecipients(state, bridgeUser).sort(), ['@inv:test', '@me:test']);
    state.historyVisibility = 'joined';
    assert.deepEqual(keyRecipients(state, bridgeUser), ['@me:test']);
  });

  it('rotates as often as the room asks, never less often than the bridge allows', () => {
    const limits = { periodMs: 3_600_000, messages: 100 };
    const base: RoomCryptoState = { encryption: { algorithm: 'm.megolm.v1.aes-sha2' }, historyVisibility: 'invited', members: new Map() };
    const def = encryptionSettings(base, 'cross-signed', limits);
    assert.equal(def.rotationPeriod, 3_600_000_000n, 'microseconds');
    assert.equal(def.rotationPeriodMessages, 100n);
    assert.equal(def.historyVisibility, wasm.HistoryVisibility.Invited);
    assert.ok(def.sharingStrategy.eq(wasm.CollectStrategy.identityBasedStrategy()));
    const strict = encryptionSettings({ ...base, encryption: { algorithm: 'm.megolm.v1.aes-sha2', rotation_period_ms: 60_000, rotation_period_msgs: 5 } }, 'all', limits);
    assert.equal(strict.rotationPeriod, 60_000_000n);
    assert.equal(strict.rotationPeriodMessages, 5n);
    assert.ok(strict.sharingStrategy.eq(wasm.CollectStrategy.allDevices()));
    const lax = encryptionSettings({ ...base, encryption: { algorithm: 'm.megolm.v1.aes-sha2', rotation_period_ms: 1e12, rotation_period_msgs: 1e6 } }, 'verified', limits);
    assert.equal(lax.rotationPeriod, 3_600_000_000n);
    assert.equal(lax.rotationPeriodMessages, 100n);
    assert.ok(lax.sharingStrategy.eq(wasm.CollectStrategy.onlyTrustedDevices()));
  });
});

describe('crypto: key waiters', () => {
  it('wakes a waiter when its session\'s key is reported, and only then', async () => {
    const w = new KeyWaiters();
    let woke = false;
    const p = w.wait('s1', 10_000).then(() => (woke = true));
    w.notify(['other']);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(woke, false);
    w.notify(['s1']);
    await p;
    assert.equal(w.size, 0, 'no waiter left behind');
  });

  it('gives up after its time', async () => {
    const w = new KeyWaiters();
    const t0 = Date.now();
    await w.wait('s', 50);
    assert.ok(Date.now() - t0 >= 45);
    assert.equal(w.size, 0);
  });
});

describe('crypto: one decryption attempt (real wasm)', function () {
  this.timeout(20_000);
  let machine: wasm.OlmMachine;
  let encrypted: MatrixRoomEvent;

  before(async () => {
    await wasm.initAsync();
    machine = await wasm.OlmMachine.initialize(new wasm.UserId('@bot:test'), new wasm.DeviceId('BOTDEVICE'));
    const settings = new wasm.EncryptionSettings();
    // No recipients: the session is shared at once and the machine keeps its own inbound copy.
    await machine.shareRoomKey(new wasm.RoomId(ROOM), [], settings);
    const content = JSON.parse(await machine.encryptRoomEvent(new wasm.RoomId(ROOM), 'm.room.message', JSON.stringify({ msgtype: 'm.text', body: 'hi', 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } }))) as Record<string, unknown>;
    encrypted = { event_id: '$enc', room_id: ROOM, sender: '@bot:test', type: 'm.room.encrypted', origin_server_ts: 1000, content };
  });
  after(() => machine?.close());

  it('decrypts into the inner type and content, keeping the outer id, sender and time', async () => {
    const out = await decryptOnce(machine, encrypted, new wasm.DecryptionSettings(wasm.TrustRequirement.Untrusted));
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(out.event.type, 'm.room.message');
    assert.equal(out.event.content.body, 'hi');
    assert.equal(out.event.event_id, '$enc');
    assert.equal(out.event.origin_server_ts, 1000);
    assert.equal(out.event.decrypted, true);
    assert.deepEqual(out.event.content['m.relates_to'], { rel_type: 'm.thread', event_id: '$root' });
  });

  it('reports a missing key as worth waiting for, naming its session', async () => {
    const other = { ...encrypted, content: { ...encrypted.content, session_id: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } };
    const out = await decryptOnce(machine, other, new wasm.DecryptionSettings(wasm.TrustRequirement.Untrusted));
    assert.ok(!out.ok);
    assert.equal(out.waitable, true, `${out.code}: ${out.reason}`);
    assert.equal(sessionIdOf(other), 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  });

  it('does not decrypt the same ciphertext replayed into another room', async () => {
    // Sessions are kept per room: in another room the key is simply unknown.
    const out = await decryptOnce(machine, { ...encrypted, room_id: '!elsewhere:test' }, new wasm.DecryptionSettings(wasm.TrustRequirement.Untrusted));
    assert.ok(!out.ok);
    assert.equal(out.code, 'MissingRoomKey');
  });

  it('refuses garbage without throwing', async () => {
    const out = await decryptOnce(machine, { ...encrypted, content: { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: '!!' } }, new wasm.DecryptionSettings(wasm.TrustRequirement.Untrusted));
    assert.ok(!out.ok);
    assert.equal(out.waitable, false);
  });
});
