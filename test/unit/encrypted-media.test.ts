/**
 * Encrypted attachments (issue 4): the streaming encryptor and decryptor against an independent
 * implementation and a published AES-256-CTR vector, hash verification, validation of `file`
 * objects from the wire, flat memory on large streams, and MediaBridge's encrypted upload and
 * download against an in-memory homeserver.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  decryptAttachment, encryptAttachment, parseEncryptedFile, EncryptedMediaError, type EncryptedFileInfo,
} from '../../shared/src/matrix/encrypted-media.js';
import { MediaBridge } from '../../shared/src/matrix/media.js';
import { clientDecrypt, clientEncrypt } from '../helpers/attachment-crypto.js';
import { fakeMediaApi } from '../helpers/fake-media-api.js';

/** `bytes` as a stream of `chunk`-sized pieces. */
const chunked = (bytes: Buffer, chunk = 1000) => Readable.from((function* () {
  for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
})());

async function collect(stream: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c as Buffer);
  return Buffer.concat(out);
}

async function encrypt(plain: Buffer): Promise<{ ciphertext: Buffer; info: EncryptedFileInfo }> {
  const e = encryptAttachment();
  const ciphertext = await collect(chunked(plain).pipe(e.stream));
  return { ciphertext, info: await e.result };
}

const decrypt = (ciphertext: Buffer, info: EncryptedFileInfo, chunk = 1000) => collect(chunked(ciphertext, chunk).pipe(decryptAttachment(info)));

const unpadded = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

describe('encrypted attachments: streaming AES-256-CTR with sha256', () => {
  it('round-trips bytes through the encryptor and the decryptor', async () => {
    const plain = randomBytes(10_001);
    const { ciphertext, info } = await encrypt(plain);
    assert.equal(ciphertext.length, plain.length, 'CTR keeps the size');
    assert.notDeepEqual(ciphertext, plain);
    assert.deepEqual(await decrypt(ciphertext, info), plain);
    assert.deepEqual(await decrypt(ciphertext, info, 7), plain, 'chunking does not matter');
    assert.deepEqual(await decrypt(Buffer.alloc(0), (await encrypt(Buffer.alloc(0))).info, 1), Buffer.alloc(0), 'an empty file');
  });

  it('produces the spec\'s file object, readable by an independent client implementation', async () => {
    const plain = randomBytes(4096);
    const { ciphertext, info } = await encrypt(plain);
    assert.deepEqual({ ...info.key, k: undefined }, { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: undefined, ext: true });
    assert.equal(info.v, 'v2');
    assert.equal(Buffer.from(info.key.k, 'base64url').length, 32);
    assert.match(info.key.k, /^[A-Za-z0-9_-]{43}$/, 'k is unpadded base64url');
    assert.match(info.iv, /^[A-Za-z0-9+/]{22}$/, 'the IV is unpadded base64');
    const iv = Buffer.from(info.iv, 'base64');
    assert.deepEqual(iv.subarray(8), Buffer.alloc(8), 'the counter half of the IV starts at zero');
    assert.equal(info.hashes.sha256, unpadded(createHash('sha256').update(ciphertext).digest()));
    assert.deepEqual(clientDecrypt(ciphertext, info), plain);
    // And the other way: what a client encrypted, the bridge decrypts.
    const fromClient = clientEncrypt(plain);
    assert.deepEqual(await decrypt(fromClient.ciphertext, fromClient.info as EncryptedFileInfo), plain);
    // Two uploads never share a key or an IV.
    const again = await encrypt(plain);
    assert.notEqual(again.info.key.k, info.key.k);
    assert.notEqual(again.info.iv, info.iv);
  });

  it('decrypts the NIST SP 800-38A CTR-AES256 vector (F.5.5)', async () => {
    const key = Buffer.from('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4', 'hex');
    const counter = Buffer.from('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', 'hex');
    const plain = Buffer.from('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710', 'hex');
    const cipher = Buffer.from('601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c52b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6', 'hex');
    const info = parseEncryptedFile({
      url: 'mxc://example.org/nist', v: 'v2', iv: unpadded(counter),
      key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: key.toString('base64url'), ext: true },
      hashes: { sha256: unpadded(createHash('sha256').update(cipher).digest()) },
    });
    assert.deepEqual(await decrypt(cipher, info, 5), plain);
  });

  describe('a ciphertext that does not match its hash makes the stream fail', () => {
    for (const [name, tamper] of [
      ['one flipped byte', (c: Buffer) => { const t = Buffer.from(c); t[1234] = t[1234]! ^ 1; return t; }],
      ['a truncated file', (c: Buffer) => c.subarray(0, c.length - 10)],
      ['an extra byte', (c: Buffer) => Buffer.concat([c, Buffer.from([0])])],
    ] as const) {
      it(name, async () => {
        const plain = randomBytes(5000);
        const { ciphertext, info } = await encrypt(plain);
        let received = 0;
        const sink = new Writable({ write(chunk: Buffer, _e, cb) { received += chunk.length; cb(); } });
        await assert.rejects(pipeline(chunked(tamper(ciphertext)), decryptAttachment(info), sink), (err: unknown) => {
          assert.ok(err instanceof EncryptedMediaError);
          assert.equal(err.code, 'hash_mismatch');
          assert.match(err.message, /does not match its sha256/);
          return true;
        });
        // The last chunk is held back until the hash is checked: never all of what came in.
        assert.ok(received < tamper(ciphertext).length, `everything was passed on unverified (${received} bytes)`);
      });
    }

    it('the wrong key or IV also fails (the hash covers the ciphertext, so this is the hash of another file)', async () => {
      const { ciphertext, info } = await encrypt(randomBytes(100));
      const other = await encrypt(randomBytes(100));
      await assert.rejects(decrypt(ciphertext, { ...info, hashes: other.info.hashes }), EncryptedMediaError);
    });
  });

  describe('file objects from the wire', () => {
    const good = () => ({
      url: 'mxc://example.org/abc_DEF-1', v: 'v2', iv: unpadded(Buffer.concat([randomBytes(8), Buffer.alloc(8)])),
      key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: randomBytes(32).toString('base64url'), ext: true },
      hashes: { sha256: unpadded(randomBytes(32)) },
    });

    it('accepts a valid one (padded base64 too) and returns it typed', () => {
      const f = good();
      assert.deepEqual(parseEncryptedFile(f), f);
      const padded = { ...f, iv: Buffer.from(f.iv, 'base64').toString('base64'), hashes: { sha256: Buffer.from(f.hashes.sha256, 'base64').toString('base64') } };
      assert.equal(parseEncryptedFile(padded).iv, padded.iv);
    });

    const cases: Array<[string, (f: ReturnType<typeof good>) => unknown, RegExp]> = [
      ['null', () => null, /not an object/],
      ['a string', () => 'mxc://example.org/x', /not an object/],
      ['an array', () => [], /not an object/],
      ['no url', (f) => ({ ...f, url: undefined }), /url is not an mxc/],
      ['an http url', (f) => ({ ...f, url: 'https://example.org/x' }), /url is not an mxc/],
      ['version v1', (f) => ({ ...f, v: 'v1' }), /unsupported version "v1"/],
      ['no version', (f) => ({ ...f, v: undefined }), /unsupported version/],
      ['no key', (f) => ({ ...f, key: undefined }), /key is not an object/],
      ['kty rsa', (f) => ({ ...f, key: { ...f.key, kty: 'RSA' } }), /key\.kty/],
      ['alg A128CTR', (f) => ({ ...f, key: { ...f.key, alg: 'A128CTR' } }), /key\.alg/],
      ['key_ops without decrypt', (f) => ({ ...f, key: { ...f.key, key_ops: ['encrypt'] } }), /key_ops/],
      ['a 16-byte key', (f) => ({ ...f, key: { ...f.key, k: randomBytes(16).toString('base64url') } }), /key\.k is 16 bytes, not 32/],
      ['a key that is not base64url', (f) => ({ ...f, key: { ...f.key, k: `${f.key.k.slice(0, 40)}+/!` } }), /key\.k is not base64url/],
      ['a numeric key', (f) => ({ ...f, key: { ...f.key, k: 42 } }), /key\.k is not a string/],
      ['an 8-byte iv', (f) => ({ ...f, iv: unpadded(randomBytes(8)) }), /iv is 8 bytes, not 16/],
      ['an iv with junk', (f) => ({ ...f, iv: `${f.iv.slice(0, 20)}*$` }), /iv is not base64/],
      ['no hashes', (f) => ({ ...f, hashes: undefined }), /hashes is not an object/],
      ['no sha256', (f) => ({ ...f, hashes: { sha512: f.hashes.sha256 } }), /hashes\.sha256 is not a string/],
      ['a short sha256', (f) => ({ ...f, hashes: { sha256: unpadded(randomBytes(20)) } }), /hashes\.sha256 is 20 bytes, not 32/],
    ];
    for (const [name, mutate, message] of cases) {
      it(`refuses ${name} with a clear error`, () => {
        assert.throws(() => parseEncryptedFile(mutate(good())), (err: unknown) => {
          assert.ok(err instanceof EncryptedMediaError, `threw ${String(err)}`);
          assert.equal(err.code, 'bad_file');
          assert.match(err.message, /^invalid encrypted file: /);
          assert.match(err.message, message);
          return true;
        });
      });
    }
  });

  it('streams 20 MiB through encryption and decryption without buffering it', async function () {
    this.timeout(60_000);
    const total = 20 * 1024 * 1024;
    const piece = randomBytes(64 * 1024);
    let produced = 0;
    let consumed = 0;
    let maxInFlight = 0;
    /** 20 MiB made on demand (never held), each piece passed through `map`. */
    const source = (map: (b: Buffer) => Buffer) => {
      produced = 0;
      consumed = 0;
      maxInFlight = 0;
      return Readable.from((function* () {
        while (produced < total) {
          produced += piece.length;
          yield map(piece);
        }
      })());
    };
    /** A slow consumer: what the pipeline buffers shows as produced - consumed. */
    const slowSink = (hash: ReturnType<typeof createHash>) => new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _e, cb) {
        consumed += chunk.length;
        maxInFlight = Math.max(maxInFlight, produced - consumed);
        hash.update(chunk);
        setImmediate(cb);
      },
    });
    const e = encryptAttachment();
    const ctHash = createHash('sha256');
    await pipeline(source((b) => b), e.stream, slowSink(ctHash));
    const info = await e.result;
    assert.equal(consumed, total);
    assert.equal(unpadded(ctHash.digest()), info.hashes.sha256);
    assert.ok(maxInFlight < 2 * 1024 * 1024, `encryption held ${maxInFlight} bytes`);

    // The same ciphertext again (made by a client-side cipher with the key), decrypted by the bridge.
    const cipher = createCipheriv('aes-256-ctr', Buffer.from(info.key.k, 'base64url'), Buffer.from(info.iv, 'base64'));
    const plainHash = createHash('sha256');
    for (let i = 0; i < total / piece.length; i++) plainHash.update(piece);
    const outHash = createHash('sha256');
    await pipeline(source((b) => cipher.update(b)), decryptAttachment(info), slowSink(outHash));
    assert.equal(consumed, total);
    assert.equal(outHash.digest('hex'), plainHash.digest('hex'), 'decrypted bytes equal the plaintext');
    assert.ok(maxInFlight < 2 * 1024 * 1024, `decryption held ${maxInFlight} bytes`);
  });
});

describe('MediaBridge: encrypted upload and download', () => {
  const source = (bytes: Buffer, size: number | undefined) => ({
    open: async () => chunked(bytes, 777), mimetype: 'image/png', filename: 'secret-name.png', ...(size !== undefined ? { size } : {}),
  });

  for (const known of [true, false]) {
    it(`uploads ciphertext as application/octet-stream without the file name (size ${known ? 'known' : 'unknown: spooled'})`, async () => {
      const hs = fakeMediaApi();
      const media = new MediaBridge(hs.api, '@bot:example.org', 1000);
      const plain = randomBytes(12_345);
      const up = await media.uploadEncrypted(source(plain, known ? plain.length : undefined), '@ghost:example.org');
      assert.equal(up.size, plain.length);
      assert.equal(up.mimetype, 'image/png');
      assert.equal(up.file.url, up.url);
      const stored = hs.uploads.get(up.url)!;
      assert.equal(stored.contentType, 'application/octet-stream');
      assert.equal(stored.contentLength, plain.length);
      assert.equal(stored.query?.filename, undefined, 'the file name is not told to the homeserver');
      assert.equal(stored.bytes.length, plain.length);
      assert.notDeepEqual(stored.bytes, plain);
      assert.deepEqual(clientDecrypt(stored.bytes, up.file), plain, 'a client decrypts it');
      const down = await media.downloadEncrypted(up.file);
      assert.deepEqual(await collect(down.stream), plain);
    });
  }

  it('refuses a file over the homeserver limit before reading it, and counts an unknown size', async () => {
    const media = new MediaBridge(fakeMediaApi(1000).api, '@bot:example.org', 1000);
    let opened = false;
    await assert.rejects(media.uploadEncrypted({ open: async () => { opened = true; return chunked(randomBytes(10)); }, mimetype: 'x/y', size: 5000 }, '@a:b'), /file too large/);
    assert.equal(opened, false);
    await assert.rejects(media.uploadEncrypted(source(randomBytes(5000), undefined), '@a:b'), /file too large/);
  });

  it('a download whose bytes were altered on the server errors instead of ending', async () => {
    const hs = fakeMediaApi();
    const media = new MediaBridge(hs.api, '@bot:example.org', 1000);
    const up = await media.uploadEncrypted(source(randomBytes(3000), 3000), '@a:b');
    hs.uploads.get(up.url)!.bytes[10]! ^= 0xff;
    const down = await media.downloadEncrypted(up.file);
    await assert.rejects(collect(down.stream), (err: unknown) => err instanceof EncryptedMediaError && err.code === 'hash_mismatch');
    // verifyFirst: the check happens before any stream is handed out.
    await assert.rejects(media.downloadEncrypted(up.file, { verifyFirst: true }), (err: unknown) => err instanceof EncryptedMediaError && err.code === 'hash_mismatch');
  });

  it('verifyFirst hands out the verified plaintext as a stream', async () => {
    const hs = fakeMediaApi();
    const media = new MediaBridge(hs.api, '@bot:example.org', 1000);
    const plain = randomBytes(70_000);
    const up = await media.uploadEncrypted(source(plain, undefined), '@a:b');
    const down = await media.downloadEncrypted(up.file, { verifyFirst: true });
    assert.equal(down.size, plain.length);
    assert.deepEqual(await collect(down.stream), plain);
  });
});
