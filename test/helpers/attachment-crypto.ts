/**
 * A tiny independent implementation of Matrix encrypted attachments (AES-256-CTR, JWK key,
 * sha256 of the ciphertext, v2) for tests: what a Matrix client does, written from the spec and
 * sharing no code with shared/src/matrix/encrypted-media.ts, so each checks the other.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export interface TestFileInfo {
  key: { kty: 'oct'; key_ops: string[]; alg: 'A256CTR'; k: string; ext: true };
  iv: string;
  hashes: { sha256: string };
  v: 'v2';
}

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

/** Encrypts `plain` as a Matrix client would; `key` and `iv` may be fixed for known answers. */
export function clientEncrypt(plain: Buffer, key = randomBytes(32), iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)])): { ciphertext: Buffer; info: TestFileInfo } {
  const c = createCipheriv('aes-256-ctr', key, iv);
  const ciphertext = Buffer.concat([c.update(plain), c.final()]);
  return {
    ciphertext,
    info: {
      key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: key.toString('base64url'), ext: true },
      iv: b64(iv), hashes: { sha256: b64(createHash('sha256').update(ciphertext).digest()) }, v: 'v2',
    },
  };
}

/** Checks the hash and decrypts, as a Matrix client would; throws on a mismatch. */
export function clientDecrypt(ciphertext: Buffer, info: { key: { k: string }; iv: string; hashes: { sha256: string } }): Buffer {
  const hash = b64(createHash('sha256').update(ciphertext).digest());
  if (hash !== info.hashes.sha256.replace(/=+$/, '')) throw new Error(`sha256 mismatch: ${hash} != ${info.hashes.sha256}`);
  const d = createDecipheriv('aes-256-ctr', Buffer.from(info.key.k, 'base64url'), Buffer.from(info.iv, 'base64'));
  return Buffer.concat([d.update(ciphertext), d.final()]);
}
