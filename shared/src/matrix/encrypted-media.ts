/**
 * Encrypted attachments (client-server API, "Sending encrypted attachments"): AES-256-CTR with a
 * random 256-bit key (a JWK) and a 16-byte IV whose counter half starts at zero, the sha256 of the
 * ciphertext in unpadded base64, `v: 'v2'`. Both directions stream: memory stays flat whatever
 * the size. CTR keeps sizes unchanged, so a known plaintext size is also the upload's length.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BridgeError } from '../network/errors.js';

/** The key as a JSON Web Key, exactly as the spec describes it. */
export interface AttachmentKey {
  kty: 'oct';
  key_ops: string[];
  alg: 'A256CTR';
  /** The key, base64url without padding. */
  k: string;
  ext: true;
}

/** The `file` object of an event (`content.file`, `info.thumbnail_file`). */
export interface EncryptedFile {
  url: string;
  key: AttachmentKey;
  /** unpadded base64 */
  iv: string;
  hashes: { sha256: string };
  v: 'v2';
}

/** What encryption yields: the `file` object before the upload gives it a URL. */
export type EncryptedFileInfo = Omit<EncryptedFile, 'url'>;

export type EncryptedMediaErrorCode = 'bad_file' | 'hash_mismatch' | 'incomplete';

/**
 * A bad `file` object, or ciphertext that does not match its hash. The message says which. A
 * final failure of the send it breaks (retrying gets the same bytes), whoever passes it on.
 */
export class EncryptedMediaError extends BridgeError {
  constructor(readonly code: EncryptedMediaErrorCode, message: string) {
    super(message, { status: 'fail', reason: 'm_bad_format', userMessage: `The file could not be read (${message})` });
    this.name = 'EncryptedMediaError';
  }
}

export function isEncryptedMediaError(err: unknown): err is EncryptedMediaError {
  return err instanceof EncryptedMediaError;
}

const unpadded = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
const MXC = /^mxc:\/\/[^/\s]+\/[A-Za-z0-9_-]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

export interface AttachmentEncryptor {
  /** Plaintext in, ciphertext out. */
  stream: Transform;
  /** The `file` object minus url; resolves when the stream has ended, rejects if it failed. */
  result: Promise<EncryptedFileInfo>;
}

/** A fresh key and IV (its last 8 bytes zero: the counter cannot wrap within 2^64 blocks). */
export function encryptAttachment(): AttachmentEncryptor {
  const key = randomBytes(32);
  const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  const hash = createHash('sha256');
  let resolve!: (v: EncryptedFileInfo) => void;
  let reject!: (e: Error) => void;
  const result = new Promise<EncryptedFileInfo>((res, rej) => { resolve = res; reject = rej; });
  // A failed stream also fails the pipeline that carries it; nobody need await `result` then.
  result.catch(() => undefined);
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      const out = cipher.update(chunk);
      hash.update(out);
      cb(null, out);
    },
    flush(cb: TransformCallback) {
      const tail = cipher.final();
      if (tail.length) {
        hash.update(tail);
        this.push(tail);
      }
      resolve({
        key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: key.toString('base64url'), ext: true },
        iv: unpadded(iv),
        hashes: { sha256: unpadded(hash.digest()) },
        v: 'v2',
      });
      cb();
    },
  });
  stream.once('error', reject);
  stream.once('close', () => reject(new EncryptedMediaError('incomplete', 'the stream to encrypt closed before its end')));
  return { stream, result };
}

/**
 * Ciphertext in, plaintext out, for a validated `file` (see parseEncryptedFile). The sha256 of
 * the ciphertext is checked at the end; on a mismatch the stream errors. The last chunk is held
 * back until the check passes, so a consumer never receives the whole plaintext unverified (an
 * upload of known length cannot complete on tampered bytes).
 */
export function decryptAttachment(file: EncryptedFileInfo): Transform {
  const key = Buffer.from(file.key.k, 'base64url');
  const iv = Buffer.from(file.iv, 'base64');
  const decipher = createDecipheriv('aes-256-ctr', key, iv);
  const hash = createHash('sha256');
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      const out = decipher.update(chunk);
      const previous = held;
      held = out;
      cb(null, previous);
    },
    flush(cb: TransformCallback) {
      const tail = decipher.final();
      const mismatch = hashMismatch(file, hash.digest());
      if (mismatch) {
        cb(mismatch);
        return;
      }
      if (held?.length) this.push(held);
      if (tail.length) this.push(tail);
      cb();
    },
  });
}

/** The error for ciphertext whose sha256 is `digest`, or undefined when it is the file's. */
export function hashMismatch(file: EncryptedFileInfo, digest: Buffer): EncryptedMediaError | undefined {
  if (digest.equals(Buffer.from(file.hashes.sha256, 'base64'))) return undefined;
  return new EncryptedMediaError('hash_mismatch', 'the encrypted file does not match its sha256 hash (corrupted or tampered with)');
}

function fail(what: string): never {
  throw new EncryptedMediaError('bad_file', `invalid encrypted file: ${what}`);
}

function bytesOf(value: unknown, name: string, alphabet: RegExp, encoding: 'base64' | 'base64url', length: number): string {
  if (typeof value !== 'string') fail(`${name} is not a string`);
  if (!alphabet.test(value)) fail(`${name} is not ${encoding}`);
  const n = Buffer.from(value, encoding).length;
  if (n !== length) fail(`${name} is ${n} bytes, not ${length}`);
  return value;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a `file` object from the wire and returns it typed. Anything that would make decryption
 * impossible or unverifiable is refused with an EncryptedMediaError (code 'bad_file') naming the
 * field; nothing else is thrown.
 */
export function parseEncryptedFile(raw: unknown): EncryptedFile {
  if (!isRecord(raw)) fail('not an object');
  if (typeof raw.url !== 'string' || !MXC.test(raw.url)) fail('url is not an mxc:// URI');
  if (raw.v !== 'v2') fail(`unsupported version ${JSON.stringify(raw.v)?.slice(0, 20) ?? 'undefined'} (only v2 is supported)`);
  const key = raw.key;
  if (!isRecord(key)) fail('key is not an object');
  if (key.kty !== 'oct') fail('key.kty is not "oct"');
  if (key.alg !== 'A256CTR') fail('key.alg is not "A256CTR"');
  if (!Array.isArray(key.key_ops) || !key.key_ops.includes('decrypt')) fail('key.key_ops does not allow "decrypt"');
  const k = bytesOf(key.k, 'key.k', BASE64URL, 'base64url', 32);
  const iv = bytesOf(raw.iv, 'iv', BASE64, 'base64', 16);
  if (!isRecord(raw.hashes)) fail('hashes is not an object');
  const sha256 = bytesOf(raw.hashes.sha256, 'hashes.sha256', BASE64, 'base64', 32);
  return {
    url: raw.url,
    key: { kty: 'oct', key_ops: key.key_ops.filter((o): o is string => typeof o === 'string'), alg: 'A256CTR', k, ext: true },
    iv, hashes: { sha256 }, v: 'v2',
  };
}
