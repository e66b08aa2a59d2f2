/**
 * Encrypted attachments in the core (issue 4), with the real Bridge and portals, an in-memory
 * homeserver for media and a stand-in for the crypto's room cache: remote media in an encrypted
 * portal is uploaded encrypted and sent as `file` (the connector still only sees `url`), Matrix
 * attachments that come as `file` reach the connector decrypted, and the login QR image in an
 * encrypted management room is an encrypted attachment, edited in place as the code rotates.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { sendConverted } from '../../shared/src/core/portal-remote.js';
import { handleMatrixEvent } from '../../shared/src/core/portal-matrix.js';
import type { Portal } from '../../shared/src/core/portal.js';
import type { BridgeCrypto } from '../../shared/src/crypto/bridge-crypto.js';
import { LoginSessions } from '../../shared/src/commands/login-session.js';
import { MediaBridge } from '../../shared/src/matrix/media.js';
import type { MatrixRoomEvent } from '../../shared/src/matrix/transaction.js';
import {
  messageId, partId, type BackfillMessage, type ConvertContext, type LoginProcess, type LoginStep, type MatrixMessage,
  type RemoteUserId,
} from '../../shared/src/network/index.js';
import { clientDecrypt, clientEncrypt } from '../helpers/attachment-crypto.js';
import { fakeMediaApi, type FakeMediaApi } from '../helpers/fake-media-api.js';
import { PERSON, ROOM, startFakeCore, type FakeCore } from '../helpers/fake-core.js';

const MEGOLM = { algorithm: 'm.megolm.v1.aes-sha2' };

describe('core: encrypted attachments in encrypted rooms', () => {
  let core: FakeCore;
  let portal: Portal;
  let hs: FakeMediaApi;
  let encrypted: Set<string>;

  beforeEach(async () => {
    core = await startFakeCore();
    portal = await core.portal();
    hs = fakeMediaApi();
    (core.bridge as unknown as { media: MediaBridge }).media = new MediaBridge(hs.api, core.bridge.botMxid, 1 << 20);
    encrypted = new Set([ROOM]);
    const state = (roomId: string) => ({ encryption: encrypted.has(roomId) ? MEGOLM : null, historyVisibility: 'shared', members: new Map() });
    core.bridge.crypto = { rooms: { knownEncrypted: (roomId: string) => encrypted.has(roomId), get: async (roomId: string) => state(roomId) } } as unknown as BridgeCrypto;
  });
  afterEach(() => core.close());

  const sent = (type = 'm.room.message') => core.calls.filter((c) => c.method === 'sendEvent' && c.args[1] === type).map((c) => c.args[2] as Record<string, unknown>);
  const bytesOf = (b: Buffer) => ({ open: async () => Readable.from([b]), size: b.length });

  /** A remote image with a thumbnail and a link preview image, converted the way connectors do (plain `url`s). */
  function remoteImage(id: string, image: Buffer, thumb: Buffer, preview: Buffer): BackfillMessage {
    return {
      id: messageId(id), sender: { user: 'bob' as RemoteUserId, isFromMe: false }, timestamp: 1000,
      convert: async (ctx: ConvertContext) => {
        const up = await ctx.uploadMedia({ ...bytesOf(image), mimetype: 'image/png', filename: 'photo.png' });
        const th = await ctx.uploadMedia({ ...bytesOf(thumb), mimetype: 'image/jpeg', filename: 'thumb.jpg' });
        const pv = await ctx.uploadMedia({ ...bytesOf(preview), mimetype: 'image/jpeg', filename: 'preview.jpg' });
        return {
          parts: [{
            id: partId(''), type: 'm.room.message', content: {
              msgtype: 'm.image', body: 'photo.png', url: up.url,
              info: { mimetype: 'image/png', size: up.size, thumbnail_url: th.url, thumbnail_info: { mimetype: 'image/jpeg' } },
              'com.beeper.linkpreviews': [{ matched_url: 'https://example.com', 'og:image': pv.url, 'og:title': 'Example' }, { matched_url: 'https://other.example' }],
            },
          }],
        };
      },
    };
  }

  it('sends remote media in an encrypted portal as encrypted attachments a client can decrypt', async () => {
    const [image, thumb, preview] = [randomBytes(5000), randomBytes(300), randomBytes(200)];
    await sendConverted(portal, core.login, remoteImage('m1', image, thumb, preview));
    const [content] = sent();
    assert.ok(content, 'the image was sent');
    assert.equal(content.url, undefined, 'no plain url');
    const file = content.file as { url: string; key: { k: string }; iv: string; hashes: { sha256: string }; v: string };
    assert.equal(file.v, 'v2');
    assert.deepEqual(clientDecrypt(hs.uploads.get(file.url)!.bytes, file), image);
    const info = content.info as Record<string, unknown>;
    assert.equal(info.thumbnail_url, undefined);
    assert.equal(info.size, image.length, 'the size is the plaintext\'s');
    const thumbFile = info.thumbnail_file as typeof file;
    assert.deepEqual(clientDecrypt(hs.uploads.get(thumbFile.url)!.bytes, thumbFile), thumb);
    const [p1, p2] = content['com.beeper.linkpreviews'] as Array<Record<string, unknown>>;
    assert.equal(p1!['og:image'], undefined);
    assert.equal(p1!['og:title'], 'Example');
    const pvFile = p1!['beeper:image:encryption'] as typeof file;
    assert.deepEqual(clientDecrypt(hs.uploads.get(pvFile.url)!.bytes, pvFile), preview);
    assert.deepEqual(p2, { matched_url: 'https://other.example' });
    for (const u of hs.uploads.values()) {
      assert.equal(u.contentType, 'application/octet-stream');
      assert.equal(u.query?.filename, undefined);
    }
  });

  it('keeps plain media in an unencrypted portal, and without encryption at all', async () => {
    encrypted.clear();
    const image = randomBytes(100);
    await sendConverted(portal, core.login, remoteImage('m2', image, randomBytes(10), randomBytes(10)));
    core.bridge.crypto = undefined;
    await sendConverted(portal, core.login, remoteImage('m3', image, randomBytes(10), randomBytes(10)));
    for (const content of sent()) {
      assert.equal(content.file, undefined);
      assert.deepEqual(hs.uploads.get(content.url as string)!.bytes, image);
      assert.equal(hs.uploads.get(content.url as string)!.contentType, 'image/png');
    }
    assert.equal(sent().length, 2);
  });

  it('encrypts media for a portal that encryption.require will encrypt on its first send', async () => {
    encrypted.clear();
    (core.bridge.config.encryption as { require: boolean }).require = true;
    await sendConverted(portal, core.login, remoteImage('m4', randomBytes(100), randomBytes(10), randomBytes(10)));
    assert.ok(sent()[0]!.file, 'the image is an encrypted attachment');
  });

  it('gives an edit that brings new media the encrypted form, in m.new_content too', async () => {
    await sendConverted(portal, core.login, remoteImage('m5', randomBytes(100), randomBytes(10), randomBytes(10)));
    const replacement = randomBytes(700);
    await portal.runInQueue(async () => {
      const { handleRemoteEvent } = await import('../../shared/src/core/portal-remote.js');
      await handleRemoteEvent(portal, core.login, {
        type: 'edit', target: messageId('m5'), sender: { user: 'bob' as RemoteUserId, isFromMe: false }, timestamp: 2000, portal: portal.key,
        convert: async (ctx: ConvertContext) => {
          const up = await ctx.uploadMedia({ ...bytesOf(replacement), mimetype: 'image/png' });
          return { modifiedParts: [{ partId: partId(''), content: { msgtype: 'm.image', body: 'new.png', url: up.url, info: { mimetype: 'image/png' } } }] };
        },
      } as never);
    });
    const edit = sent().find((c) => (c['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type === 'm.replace')!;
    assert.ok(edit, 'the edit was sent');
    const inner = edit['m.new_content'] as Record<string, unknown>;
    assert.equal(edit.url, undefined);
    assert.equal(inner.url, undefined);
    const file = inner.file as { url: string; key: { k: string }; iv: string; hashes: { sha256: string } };
    assert.deepEqual(edit.file, file);
    assert.deepEqual(clientDecrypt(hs.uploads.get(file.url)!.bytes, file), replacement);
  });

  describe('Matrix -> network', () => {
    const imageEvent = (eventId: string, file: unknown): MatrixRoomEvent => ({
      type: 'm.room.message', room_id: ROOM, sender: PERSON, event_id: eventId, origin_server_ts: 1,
      content: { msgtype: 'm.image', body: 'mine.png', file, info: { mimetype: 'image/png', size: 1234 } },
    }) as MatrixRoomEvent;
    /** Uploads what a client encrypted and returns the event's `file`. */
    function clientUpload(plain: Buffer): Record<string, unknown> & { url: string } {
      const { ciphertext, info } = clientEncrypt(plain);
      const url = `mxc://example.org/client${hs.uploads.size}`;
      hs.uploads.set(url, { bytes: ciphertext });
      return { url, ...info };
    }
    let received: Array<{ msg: MatrixMessage; bytes?: Buffer; error?: Error }>;
    beforeEach(() => {
      received = [];
      core.client.handleMatrixMessage = async (msg: MatrixMessage) => {
        const r: (typeof received)[number] = { msg };
        received.push(r);
        try {
          const chunks: Buffer[] = [];
          for await (const c of await msg.media!.open()) chunks.push(c as Buffer);
          r.bytes = Buffer.concat(chunks);
        } catch (err) {
          r.error = err as Error;
          throw err;
        }
        return { id: messageId(`net-${received.length}`), timestamp: 5 };
      };
    });
    const statuses = () => sent('com.beeper.message_send_status');

    it('hands the connector the decrypted bytes of an encrypted attachment', async () => {
      const plain = randomBytes(1234);
      await handleMatrixEvent(portal, imageEvent('$img', clientUpload(plain)));
      assert.equal(received.length, 1);
      assert.deepEqual(received[0]!.bytes, plain);
      assert.equal(received[0]!.msg.media!.mimetype, 'image/png');
      assert.equal(received[0]!.msg.media!.kind, 'image');
      assert.equal(statuses()[0]?.status, 'SUCCESS');
    });

    it('refuses a malformed file object with a clear failure, without calling the network', async () => {
      const file = clientUpload(randomBytes(10));
      await handleMatrixEvent(portal, imageEvent('$bad', { ...file, key: { ...(file.key as object), k: 'c2hvcnQ' } }));
      assert.equal(received.length, 0);
      const [st] = statuses();
      assert.equal(st?.status, 'FAIL');
      assert.equal(st?.reason, 'M_BAD_FORMAT');
      assert.match(String(st?.message), /could not be read \(invalid encrypted file: key\.k is 5 bytes, not 32\)/);
    });

    it('fails the send when the downloaded ciphertext does not match its hash', async () => {
      const file = clientUpload(randomBytes(4000));
      hs.uploads.get(file.url)!.bytes[100]! ^= 1;
      await handleMatrixEvent(portal, imageEvent('$tampered', file));
      assert.equal(received[0]!.bytes, undefined, 'the connector never got a complete file');
      assert.match(String(received[0]!.error?.message), /does not match its sha256/);
      assert.equal(received.length, 1, 'not retried: the same bytes would fail again');
      assert.equal(statuses().at(-1)?.status, 'FAIL');
      assert.equal(statuses().at(-1)?.reason, 'M_BAD_FORMAT');
    });
  });

  it('sends the login QR code in an encrypted management room as an encrypted image, edited as it rotates', async () => {
    const mgmt = '!mgmt:example.org';
    encrypted.add(mgmt);
    const qr = (data: string): LoginStep => ({ type: 'display_and_wait', stepId: 'net.qr', instructions: 'Scan the code', display: { type: 'qr', data } });
    let waits = 0;
    const process: LoginProcess = {
      start: async () => qr('first code'),
      wait: () => (++waits === 1 ? Promise.resolve(qr('second code')) : new Promise<LoginStep>(() => undefined)),
      cancel: () => undefined,
    };
    const sessions = new LoginSessions(core.bridge);
    await sessions.start(PERSON, mgmt, process);
    for (let i = 0; i < 50 && sent().filter((c) => c.msgtype === 'm.image').length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const images = sent().filter((c) => c.msgtype === 'm.image');
    assert.equal(images.length, 2, 'the first image and its edit');
    const [first, edit] = images as [Record<string, unknown>, Record<string, unknown>];
    const png = (f: unknown) => {
      const file = f as { url: string; key: { k: string }; iv: string; hashes: { sha256: string } };
      return clientDecrypt(hs.uploads.get(file.url)!.bytes, file);
    };
    assert.equal(first.url, undefined);
    assert.equal(png(first.file).subarray(1, 4).toString(), 'PNG');
    assert.equal((edit['m.relates_to'] as { rel_type: string }).rel_type, 'm.replace');
    const inner = edit['m.new_content'] as Record<string, unknown>;
    assert.equal(inner.url, undefined);
    assert.equal(png(inner.file).subarray(1, 4).toString(), 'PNG');
    assert.notDeepEqual(png(inner.file), png(first.file), 'the rotated code is a new image');
    sessions.cancel(PERSON);
  });
});
