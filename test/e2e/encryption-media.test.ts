/**
 * Encrypted attachments through a real Synapse (issue 4), with matrix-js-sdk's Rust crypto as the
 * person's client in encrypted rooms: an image from a network contact arrives as an encrypted
 * attachment (`file`, no `url`) the client downloads and decrypts byte-equal; an image the person
 * sends as an encrypted attachment reaches the network byte-equal; the login QR code in the
 * encrypted management room is an encrypted image, edited in place as the code rotates. The
 * client side of the attachment crypto is an independent implementation (test/helpers).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BridgeEnv } from '../helpers/bridge-env.js';
import { E2eeClient } from '../helpers/e2ee-client.js';
import { clientDecrypt, clientEncrypt } from '../helpers/attachment-crypto.js';
import { downloadMxc, downloadNetworkMedia, portalRoom, sendAs, waitForNetworkMessage } from '../helpers/portal-setup.js';

const DM = 'dm:alice:me';
const GROUP = 'g:1';

interface FileObject { url: string; key: { k: string }; iv: string; hashes: { sha256: string }; v: string }

describe('e2e: encrypted attachments in encrypted rooms (sandbox network, real Synapse, Rust crypto client)', function () {
  this.timeout(180_000);
  let env: BridgeEnv;
  let me: E2eeClient;
  let token: string;
  let mgmt: string;
  let dm: string;

  const fromBot = (re: RegExp) => (e: { getSender(): string | undefined; getContent(): { body?: string } }) =>
    e.getSender() === env.botMxid && re.test(e.getContent().body ?? '');

  /** The bytes behind an event's `file`, downloaded as the person and decrypted by the client side. */
  async function openFile(file: FileObject): Promise<{ ciphertext: Buffer; plain: Buffer }> {
    const ciphertext = await downloadMxc(env, token, file.url);
    return { ciphertext, plain: clientDecrypt(ciphertext, file) };
  }

  before(async () => {
    env = await BridgeEnv.start({ config: { encryption: { allow: true, default: true } }, qrRotateMs: 6_000 });
    const user = await env.synapse.registerUser('alice_media');
    me = await E2eeClient.start({ baseUrl: env.synapse.baseUrl, user, isolation: 'only-signed' });
    token = me.client.getAccessToken()!;
    mgmt = await me.createEncryptedRoom({ invite: [env.botMxid], isDirect: true });
    await me.waitForMembership(mgmt, env.botMxid, 'join', 30_000);
    await me.waitForDecrypted(mgmt, fromBot(/management room/));
    await me.sendText(mgmt, 'login password');
    await me.waitForDecrypted(mgmt, fromBot(/your username/));
    await me.sendText(mgmt, 'me');
    await me.waitForDecrypted(mgmt, fromBot(/your password/));
    await me.sendText(mgmt, 'sandbox');
    await me.waitForDecrypted(mgmt, fromBot(/Logged in as me/), 30_000);
    dm = await portalRoom(env, me.base, DM);
    await me.waitForEncryption(dm);
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  it('delivers a contact\'s image as an encrypted attachment the client decrypts byte-equal', async () => {
    const bytes = randomBytes(24_000);
    await sendAs(env, DM, 'alice', { image: { base64: bytes.toString('base64'), mimetype: 'image/png', filename: 'from-alice.png' } });
    const got = await me.waitForDecrypted(dm, (e) => e.getContent().msgtype === 'm.image' && e.getContent().body === 'from-alice.png');
    assert.equal(got.sender, env.ghost('alice'));
    assert.ok(got.noWarning, `shield on the image: ${got.reason}`);
    assert.equal(got.content.url, undefined, 'no plain url in an encrypted room');
    const file = got.content.file as FileObject;
    assert.equal(file.v, 'v2');
    assert.equal((got.content.info as { size?: number; mimetype?: string }).size, bytes.length);
    assert.equal((got.content.info as { mimetype?: string }).mimetype, 'image/png');
    const { ciphertext, plain } = await openFile(file);
    assert.notDeepEqual(ciphertext, bytes, 'the homeserver holds ciphertext');
    assert.deepEqual(plain, bytes);
  });

  it('does the same in a group portal, for each ghost', async () => {
    const group = await portalRoom(env, me.base, GROUP);
    await me.waitForEncryption(group);
    const bytes = randomBytes(3_000);
    await sendAs(env, GROUP, 'bob', { media: { kind: 'file', base64: bytes.toString('base64'), mimetype: 'application/pdf', filename: 'bob.pdf' } });
    const got = await me.waitForDecrypted(group, (e) => e.getContent().msgtype === 'm.file' && e.getContent().filename === 'bob.pdf');
    assert.equal(got.sender, env.ghost('bob'));
    assert.equal(got.content.url, undefined);
    assert.deepEqual((await openFile(got.content.file as FileObject)).plain, bytes);
  });

  it('bridges an image the person sends as an encrypted attachment to the network byte-equal', async () => {
    const bytes = randomBytes(30_000);
    const { ciphertext, info } = clientEncrypt(bytes);
    // Uploaded as a client does: ciphertext, application/octet-stream, no file name.
    const res = await fetch(`${env.synapse.baseUrl}/_matrix/media/v3/upload`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' }, body: ciphertext,
    });
    const { content_uri: url } = (await res.json()) as { content_uri: string };
    await me.sendText(dm, 'mine.png', {
      msgtype: 'm.image', filename: 'mine.png', file: { url, ...info }, info: { mimetype: 'image/png', size: bytes.length },
    });
    const msg = await waitForNetworkMessage(env, DM, (m) => m.content.kind === 'image' && m.content.filename === 'mine.png');
    assert.ok(msg.content.kind === 'image');
    assert.equal(msg.sender, 'me');
    assert.equal(msg.content.mimetype, 'image/png');
    assert.deepEqual(await downloadNetworkMedia(env, msg.content.media_id), bytes);
  });

  it('refuses an attachment whose ciphertext does not match its hash, and says so', async () => {
    const { ciphertext, info } = clientEncrypt(randomBytes(2_000));
    ciphertext[500] = ciphertext[500]! ^ 1;
    const res = await fetch(`${env.synapse.baseUrl}/_matrix/media/v3/upload`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' }, body: ciphertext,
    });
    const { content_uri: url } = (await res.json()) as { content_uri: string };
    const eventId = await me.sendText(dm, 'tampered.png', {
      msgtype: 'm.image', filename: 'tampered.png', file: { url, ...info }, info: { mimetype: 'image/png', size: 2_000 },
    });
    const notice = await me.waitForDecrypted(dm, (e) => e.getSender() === env.botMxid && /was not bridged/.test(e.getContent().body ?? ''), 30_000);
    assert.equal((notice.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } })['m.in_reply_to']?.event_id, eventId);
    assert.match(String(notice.content.body), /sha256/);
  });

  it('sends the login QR code as an encrypted image and edits it in place when the code rotates', async () => {
    await me.sendText(mgmt, 'login qr');
    const first = await me.waitForDecrypted(mgmt, (e) => e.getSender() === env.botMxid && e.getContent().msgtype === 'm.image'
      && e.getContent().body === 'login-qr.png', 30_000);
    assert.equal(first.content.url, undefined);
    const png1 = (await openFile(first.content.file as FileObject)).plain;
    assert.equal(png1.subarray(1, 4).toString(), 'PNG');
    const edit = await me.waitForDecrypted(mgmt, (e) => e.getSender() === env.botMxid
      && (e.getContent()['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined)?.event_id === first.eventId, 30_000);
    const replacement = edit.content['m.new_content'] as { url?: string; file?: FileObject; msgtype?: string };
    assert.equal(replacement.msgtype, 'm.image');
    assert.equal(replacement.url, undefined);
    const png2 = (await openFile(replacement.file!)).plain;
    assert.equal(png2.subarray(1, 4).toString(), 'PNG');
    assert.notDeepEqual(png2, png1, 'the rotated code is a new image');
    const codes = await env.control<Array<{ code: string }>>('GET', '/login-codes');
    await env.control('POST', `/login-codes/${encodeURIComponent(codes[0]!.code)}/approve`, { account: 'bob' });
    await me.waitForDecrypted(mgmt, fromBot(/Logged in as bob/), 30_000);
  });

  it('never needed a warning: no bridged event failed to decrypt', () => {
    const failures = me.failuresSeen().filter((f) => f.sender === env.botMxid || f.sender.startsWith('@sandbox_'));
    assert.deepEqual(failures, []);
  });
});
