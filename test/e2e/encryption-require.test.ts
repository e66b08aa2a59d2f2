/**
 * `encryption.require`: a portal never carries plaintext. A portal made before the setting was
 * turned on is unencrypted; with `require` the bridge refuses the person's plaintext messages
 * (failure status, nothing on the network) and turns encryption on before it bridges anything into
 * the room.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { BridgeEnv, eventually, sleep } from '../helpers/bridge-env.js';
import { E2eeClient } from '../helpers/e2ee-client.js';
import { networkMessages, portalRoom, sendAs, textOf } from '../helpers/portal-setup.js';

const DM = 'dm:alice:me';

describe('e2e: encryption.require (sandbox network, real Synapse)', function () {
  this.timeout(180_000);
  let env: BridgeEnv;
  let me: E2eeClient;
  let dm: string;

  before(async function () {
    env = await BridgeEnv.start({ config: { encryption: { allow: true, default: false } } });
    const user = await env.synapse.registerUser('alice_r');
    me = await E2eeClient.start({ baseUrl: env.synapse.baseUrl, user, isolation: 'only-signed' });
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  it('without require, a portal is unencrypted and plaintext is bridged', async () => {
    const mgmt = (await me.client.createRoom({ is_direct: true, invite: [env.botMxid] })).room_id;
    await me.waitForMembership(mgmt, env.botMxid, 'join', 30_000);
    await me.base.waitForEvent(mgmt, (e) => /management room/.test(e.getContent().body ?? ''));
    for (const [say, expect] of [['login password', /your username/], ['me', /your password/], ['sandbox', /Logged in as me/]] as const) {
      await me.base.sendText(mgmt, say);
      await me.base.waitForEvent(mgmt, (e) => e.getSender() === env.botMxid && expect.test(e.getContent().body ?? ''), 30_000);
    }
    dm = await portalRoom(env, me.base, DM);
    assert.equal(me.client.getRoom(dm)?.hasEncryptionStateEvent() ?? false, false);
    await me.base.sendText(dm, 'plain before require');
    await eventually('plaintext bridged', async () => (await networkMessages(env, DM)).find((m) => textOf(m) === 'plain before require'));
  });

  it('with require, plaintext from Matrix is refused and the next bridged message turns encryption on', async () => {
    await env.stopBridge('SIGTERM');
    const cfg = parse(await readFile(env.configPath, 'utf8')) as { encryption: Record<string, unknown> };
    cfg.encryption.require = true;
    await writeFile(env.configPath, stringify(cfg));
    await env.startBridge();

    const refused = await me.base.sendText(dm, 'plain after require');
    const status = await me.base.waitForEvent(dm, (e) => e.getType() === 'com.beeper.message_send_status' && e.getContent()['m.relates_to']?.event_id === refused);
    assert.equal(status.getContent().status, 'FAIL');
    await sleep(1500);
    assert.equal((await networkMessages(env, DM)).filter((m) => textOf(m) === 'plain after require').length, 0, 'plaintext reached the network');

    await sendAs(env, DM, 'alice', { text: 'alice under require' });
    await me.waitForEncryption(dm);
    const got = await me.waitForDecrypted(dm, (e) => e.getContent().body === 'alice under require');
    assert.ok(got.noWarning, got.reason ?? '');
    // Now encrypted, the person's messages are bridged again.
    await me.sendText(dm, 'encrypted after require');
    await eventually('encrypted message bridged', async () => (await networkMessages(env, DM)).find((m) => textOf(m) === 'encrypted after require'));
  });
});
