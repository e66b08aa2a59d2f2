/**
 * The 32-byte key that encrypts every crypto store (`StoreHandle.openWithKey`). It is generated once
 * and kept as base64 text in a file of its own (mode 0600). Losing or changing it makes every
 * snapshot unreadable, so a damaged file is an error, never a reason to make a new key.
 *
 * Creation is atomic and exclusive: the key is written and fsynced under a temporary name, then
 * hard-linked to the final name (which fails if the file exists), so a crash never leaves a
 * half-written key file and two processes starting together end up with the same key.
 * Errors name the file, never the key.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export const STORE_KEY_BYTES = 32;

export class StoreKeyError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`crypto store key file ${file}: ${problem}`);
    this.name = 'StoreKeyError';
  }
}

function errno(err: unknown): string | undefined {
  return err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
}

async function syncDir(dir: string): Promise<void> {
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Parses the file's text; the returned array does not share memory with a pooled Buffer. */
function parseKey(file: string, text: string): Uint8Array {
  const b64 = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new StoreKeyError(file, 'is not base64 text');
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.toString('base64') !== b64) throw new StoreKeyError(file, 'is not base64 text');
  if (bytes.length !== STORE_KEY_BYTES) {
    throw new StoreKeyError(file, `must hold ${STORE_KEY_BYTES} bytes, holds ${bytes.length}`);
  }
  const key = new Uint8Array(STORE_KEY_BYTES);
  key.set(bytes);
  bytes.fill(0);
  return key;
}

async function readKey(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new StoreKeyError(file, `cannot be read (${errno(err) ?? 'error'})`);
  }
  return parseKey(file, text);
}

/** Writes a new key under a temporary name and links it into place; false if `file` appeared meanwhile. */
async function createKey(file: string): Promise<boolean> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const key = randomBytes(STORE_KEY_BYTES);
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const fh = await fs.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(`${key.toString('base64')}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fs.link(tmp, file);
    } catch (err) {
      if (errno(err) === 'EEXIST') return false;
      throw err;
    }
    await syncDir(dir);
    return true;
  } catch (err) {
    throw new StoreKeyError(file, `cannot be created (${errno(err) ?? 'error'})`);
  } finally {
    key.fill(0);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/**
 * Reads the store key from `file`, creating it first (32 random bytes) when it does not exist.
 * A file that is unreadable, not base64 or not 32 bytes long is refused with a StoreKeyError.
 */
export async function loadOrCreateStoreKey(file: string): Promise<Uint8Array> {
  try {
    await fs.stat(file);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw new StoreKeyError(file, `cannot be read (${errno(err) ?? 'error'})`);
    await createKey(file);
  }
  // Read back even after creating it, so the caller always gets what is on disk.
  return readKey(file);
}
