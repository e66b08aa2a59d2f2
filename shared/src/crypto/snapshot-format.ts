/**
 * The on-disk format of one crypto store snapshot:
 *
 *   magic "TRBCSNAP" (8 bytes) | format version u32 BE | payload length u64 BE | sha256(payload) (32)
 *   | payload = v8.serialize(Snapshot)
 *
 * v8.serialize is the structured-clone format, which is what IndexedDB itself stores, so every
 * key and value (typed arrays, Dates, nested objects) comes back as it went in. The length and
 * digest turn a truncated or damaged file into a clear error instead of a half-read store; the
 * version makes a future format change detectable. Errors name the file, never its contents.
 */
import { createHash } from 'node:crypto';
import v8 from 'node:v8';
import type { DatabaseDump, IndexDump, KeyPath, StoreDump } from './idb-dump.js';

export const SNAPSHOT_MAGIC = Buffer.from('TRBCSNAP', 'latin1');
export const SNAPSHOT_FORMAT_VERSION = 1;
const HEADER_LENGTH = 8 + 4 + 8 + 32;

export interface Snapshot {
  /** The store name the snapshot was taken of (checked on restore). */
  store: string;
  databases: DatabaseDump[];
}

export class CryptoSnapshotError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`crypto store snapshot ${file}: ${problem}`);
    this.name = 'CryptoSnapshotError';
  }
}

export function encodeSnapshot(snap: Snapshot): Buffer {
  const payload = v8.serialize(snap);
  const header = Buffer.alloc(HEADER_LENGTH);
  SNAPSHOT_MAGIC.copy(header, 0);
  header.writeUInt32BE(SNAPSHOT_FORMAT_VERSION, 8);
  header.writeBigUInt64BE(BigInt(payload.length), 12);
  createHash('sha256').update(payload).digest().copy(header, 20);
  return Buffer.concat([header, payload]);
}

/** Decodes and checks a snapshot file's bytes; `file` is only used in error messages. */
export function decodeSnapshot(file: string, bytes: Buffer, expectedStore: string): Snapshot {
  if (bytes.length < SNAPSHOT_MAGIC.length || !bytes.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
    throw new CryptoSnapshotError(file, 'not a Tributary crypto snapshot (wrong magic)');
  }
  if (bytes.length < HEADER_LENGTH) throw new CryptoSnapshotError(file, 'truncated (incomplete header)');
  const version = bytes.readUInt32BE(8);
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new CryptoSnapshotError(file, `format version ${version} is not supported (this build reads version ${SNAPSHOT_FORMAT_VERSION})`);
  }
  const length = bytes.readBigUInt64BE(12);
  const actual = BigInt(bytes.length - HEADER_LENGTH);
  if (actual < length) throw new CryptoSnapshotError(file, `truncated (${actual} of ${length} payload bytes)`);
  if (actual > length) throw new CryptoSnapshotError(file, `corrupt (${actual - length} bytes after the payload)`);
  const payload = bytes.subarray(HEADER_LENGTH);
  const digest = createHash('sha256').update(payload).digest();
  if (!digest.equals(bytes.subarray(20, HEADER_LENGTH))) throw new CryptoSnapshotError(file, 'corrupt (checksum mismatch)');
  let value: unknown;
  try {
    value = v8.deserialize(payload);
  } catch {
    throw new CryptoSnapshotError(file, 'corrupt (payload cannot be decoded)');
  }
  const problem = snapshotProblem(value, expectedStore);
  if (problem) throw new CryptoSnapshotError(file, `corrupt (${problem})`);
  return value as Snapshot;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isKeyPath(v: unknown): v is KeyPath {
  return typeof v === 'string' || (Array.isArray(v) && v.every((p) => typeof p === 'string'));
}

function isIndex(v: unknown): v is IndexDump {
  return isObject(v) && typeof v.name === 'string' && isKeyPath(v.keyPath)
    && typeof v.unique === 'boolean' && typeof v.multiEntry === 'boolean';
}

function storeProblem(v: unknown): string | undefined {
  if (!isObject(v) || typeof v.name !== 'string') return 'an object store has no name';
  const s = v as Partial<StoreDump>;
  if (!(s.keyPath === null || isKeyPath(s.keyPath)) || typeof s.autoIncrement !== 'boolean') return `store ${s.name} has a bad key path`;
  if (!Array.isArray(s.indexes) || !s.indexes.every(isIndex)) return `store ${s.name} has bad indexes`;
  if (!Array.isArray(s.values)) return `store ${s.name} has no records`;
  if (s.keyPath === null ? !(Array.isArray(s.keys) && s.keys.length === s.values.length) : s.keys !== null) {
    return `store ${s.name} has keys that do not match its records`;
  }
  return undefined;
}

/** Why `v` is not a snapshot of `store`, or undefined when it is one. */
function snapshotProblem(v: unknown, store: string): string | undefined {
  if (!isObject(v) || typeof v.store !== 'string' || !Array.isArray(v.databases)) return 'bad structure';
  if (v.store !== store) return 'it belongs to another store';
  for (const db of v.databases as unknown[]) {
    if (!isObject(db) || typeof db.name !== 'string' || !Array.isArray(db.stores)) return 'a database has a bad structure';
    if (!db.name.startsWith(`${store}::`)) return 'a database belongs to another store';
    if (typeof db.version !== 'number' || !Number.isSafeInteger(db.version) || db.version < 1) return `database ${db.name} has a bad version`;
    for (const s of db.stores as unknown[]) {
      const p = storeProblem(s);
      if (p) return p;
    }
  }
  return undefined;
}
