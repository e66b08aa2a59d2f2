/**
 * Encrypted messages whose room key never came in time (core/portal-encrypted.ts): kept in kv and
 * watched, bridged when the key turns up, and given up after `encryption.late_key_max_hours`,
 * with the notice edited either way. The crypto is a scripted stand-in: what is under test is the
 * bookkeeping around it, not decryption (that is crypto-*.test.ts and the e2e late-keys suite).
 */
import assert from 'node:assert/strict';
import { resumeLateEvents } from '../../shared/src/core/portal-encrypted.js';
import type { BridgeCrypto } from '../../shared/src/crypto/bridge-crypto.js';
import type { MatrixRoomEvent } from '../../shared/src/matrix/transaction.js';
import { startFakeCore, PERSON, ROOM, type FakeCore } from '../helpers/fake-core.js';

const HOUR = 3_600_000;

function encrypted(id: string, ts: number): MatrixRoomEvent {
  return {
    event_id: id, room_id: ROOM, sender: PERSON, type: 'm.room.encrypted', origin_server_ts: ts,
    content: { algorithm: 'm.megolm.v1.aes-sha2', session_id: `session-${id}`, ciphertext: 'x' },
  } as MatrixRoomEvent;
}

/** A crypto that reports a missing key until `release(id)`; waits end as soon as the test releases. */
function scriptedCrypto() {
  const released = new Set<string>();
  const waits: number[] = [];
  let wake: () => void = () => undefined;
  const crypto = {
    tryDecrypt: async (ev: MatrixRoomEvent) => released.has(ev.event_id)
      ? { ok: true, event: { ...ev, type: 'm.room.message', content: { msgtype: 'm.text', body: `late ${ev.event_id}` }, decrypted: true } }
      : { ok: false, waitable: true, code: 'M_MISSING_ROOM_KEY', reason: 'no key' },
    waiters: { wait: (_s: string, ms: number) => { waits.push(ms); return new Promise<void>((r) => { wake = r; }); } },
  };
  return { crypto: crypto as unknown as BridgeCrypto, waits, release(id: string) { released.add(id); wake(); } };
}

const until = async (what: string, fn: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 200; i++) { if (await fn()) return; await new Promise((r) => setTimeout(r, 10)); }
  assert.fail(`timed out waiting for ${what}`);
};

describe('late room keys (portal-encrypted)', () => {
  let core: FakeCore;
  beforeEach(async () => { core = await startFakeCore(); await core.portal(); });
  afterEach(async () => { core.bridge.intake.stopped = true; await core.close(); });

  const row = (ev: MatrixRoomEvent, since: number, noticeId = `$notice-${ev.event_id}`) =>
    core.db.kv.set(`crypto.late:${ev.event_id}`, JSON.stringify({ event: ev, noticeId, since }));
  const edits = () => core.calls.filter((c) => c.method === 'sendEvent' && (c.args[2] as { 'm.relates_to'?: { rel_type?: string } })['m.relates_to']?.rel_type === 'm.replace')
    .map((c) => ({ target: (c.args[2] as { 'm.relates_to': { event_id: string } })['m.relates_to'].event_id, body: (c.args[2] as { 'm.new_content': { body: string } })['m.new_content'].body }));

  it('gives up a message past late_key_max_hours: the row goes and the notice says it was never bridged', async () => {
    const s = scriptedCrypto();
    core.bridge.crypto = s.crypto;
    const old = encrypted('$old', Date.now() - 200 * HOUR);
    await row(old, Date.now() - 169 * HOUR);
    assert.equal(await resumeLateEvents(core.bridge), 1);
    await until('the row to be dropped', async () => (await core.db.kv.get('crypto.late:$old')) === undefined);
    await until('the notice edit', () => edits().length === 1);
    assert.deepEqual(edits(), [{ target: '$notice-$old', body: '✗ The key never arrived (waited 168 hours); this message was not bridged.' }]);
    assert.equal(core.sentToNetwork.length, 0);
    assert.deepEqual(s.waits, [], 'no wait for a message already past its time');
  });

  it('keeps waiting, at most until the deadline, and bridges the message when the key comes', async () => {
    const s = scriptedCrypto();
    core.bridge.crypto = s.crypto;
    const ev = encrypted('$fresh', Date.now());
    await row(ev, Date.now() - 168 * HOUR + 30_000); // 30 s left of the week
    await resumeLateEvents(core.bridge);
    await until('a wait', () => s.waits.length === 1);
    assert.ok(s.waits[0]! <= 30_000 && s.waits[0]! > 25_000, `waits only until the deadline (${s.waits[0]} ms)`);
    assert.ok(await core.db.kv.get('crypto.late:$fresh'), 'the row stays while waiting');
    s.release('$fresh');
    await until('the message to reach the network', () => core.sentToNetwork.length === 1);
    await until('the row to be dropped', async () => (await core.db.kv.get('crypto.late:$fresh')) === undefined);
    await until('the notice edit', () => edits().length === 1);
    assert.match(edits()[0]!.body, /arrived late; this message has now been bridged/);
  });

  it('a row from before `since` existed is timed from the event itself', async () => {
    const s = scriptedCrypto();
    core.bridge.crypto = s.crypto;
    const ev = encrypted('$legacy', Date.now() - 170 * HOUR);
    await core.db.kv.set('crypto.late:$legacy', JSON.stringify({ event: ev }));
    await resumeLateEvents(core.bridge);
    await until('the row to be dropped', async () => (await core.db.kv.get('crypto.late:$legacy')) === undefined);
    assert.deepEqual(edits(), [], 'no notice to edit');
  });
});
