/**
 * Baileys' auth state (creds + Signal key store) in the bridge database instead of files.
 *
 * Values are Baileys' own JSON encoding (`BufferJSON`: Buffers become `{type:'Buffer', data:
 * <base64>}`), so a row is exactly what Baileys would write to a file, one row per key. The
 * creds row carries `format_version`: the Baileys auth-state format it holds. A build refuses a
 * row newer than it knows, so a downgrade never feeds a newer format to an older Baileys; a
 * future format (Baileys v8) gets a conversion step that checks and bumps it.
 *
 * Nothing here logs a value: only the login id, key types and counts.
 */
import {
  BufferJSON,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from 'baileys';
import type { Database } from '@tributary/core/db/database';
import { getLogger } from '@tributary/core/logging';

/** The Baileys auth-state format this build reads and writes (Baileys 7.x). */
export const AUTH_FORMAT_VERSION = 7;

export type WAKeyType = keyof SignalDataTypeMap;

/** Exhaustive by construction: a key type Baileys adds or drops is a compile error here. */
const KEY_TYPES: Record<WAKeyType, true> = {
  'pre-key': true,
  session: true,
  'sender-key': true,
  'sender-key-memory': true,
  'app-state-sync-key': true,
  'app-state-sync-version': true,
  'lid-mapping': true,
  'device-list': true,
  tctoken: true,
  'identity-key': true,
};

/** Every Signal key type Baileys stores. */
export const WA_KEY_TYPES: readonly WAKeyType[] = Object.freeze(Object.keys(KEY_TYPES) as WAKeyType[]);

export class AuthStateTooNewError extends Error {
  constructor(readonly loginId: string, readonly storedVersion: number) {
    super(
      `WhatsApp auth state of login ${loginId} is in format ${storedVersion}, but this build reads up to ` +
        `format ${AUTH_FORMAT_VERSION}; upgrade Tributary (the stored state is left untouched)`,
    );
    this.name = 'AuthStateTooNewError';
  }
}

/** Baileys' SignalKeyStore, always asynchronous, with `clear` (this login's keys only). */
export interface SqlKeyStore extends SignalKeyStore {
  get<T extends WAKeyType>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }>;
  set(data: SignalDataSet): Promise<void>;
  clear(): Promise<void>;
}

export interface SqlAuthState {
  /** Hand to makeWASocket (through wrapCacheable). `creds` is mutated in place by Baileys. */
  state: { creds: AuthenticationCreds; keys: SqlKeyStore };
  /** Writes the current `state.creds`; call on every `creds.update`. */
  saveCreds(): Promise<void>;
  /** Deletes this login's creds and keys (after a logout). */
  clear(): Promise<void>;
}

const CREDS_TABLE = 'wa_auth_creds';
const KEYS_TABLE = 'wa_auth_keys';
/** Ids per `IN (...)` list and rows per multi-row insert: well under every engine's bind limit. */
const CHUNK = 250;

type KeyRow = { login_id: string; type: string; id: string; value: string };

function chunked<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function encode(value: unknown): string {
  const text = JSON.stringify(value, BufferJSON.replacer) as string | undefined;
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

function decode(text: string): unknown {
  return JSON.parse(text, BufferJSON.reviver) as unknown;
}

/** Encodes one key value; the error names the key, never the value. */
function encodeKey(type: string, id: string, value: unknown): string {
  try {
    return encode(value);
  } catch (err) {
    throw new Error(`cannot serialise WhatsApp ${type} key ${id}: ${(err as Error).message}`);
  }
}

function reviveKey(type: string, value: unknown): unknown {
  // Baileys reads app-state keys as protobuf objects (keyData as bytes, fingerprint nested).
  if (type === 'app-state-sync-key') return proto.Message.AppStateSyncKeyData.fromObject(value as Record<string, unknown>);
  return value;
}

async function loadCreds(db: Database, loginId: string): Promise<AuthenticationCreds | undefined> {
  const row = (await db.knex(CREDS_TABLE).where({ login_id: loginId }).first('format_version', 'value')) as
    | { format_version: unknown; value: string }
    | undefined;
  if (!row) return undefined;
  const version = Number(row.format_version);
  if (!Number.isInteger(version)) throw new Error(`WhatsApp auth state of login ${loginId} has no valid format_version`);
  if (version > AUTH_FORMAT_VERSION) throw new AuthStateTooNewError(loginId, version);
  return decode(row.value) as AuthenticationCreds;
}

/**
 * Opens the auth state of one login: its stored creds, or fresh ones from `initAuthCreds()`
 * (not written until `saveCreds()`). The login's `user_logins` row must exist before anything
 * is written (the tables reference it and cascade its deletion).
 *
 * `keys.set` writes everything it is given in one transaction: either all of a call's
 * upserts and deletions (null values) land, or none do.
 */
export async function useSqlAuthState(db: Database, loginId: string): Promise<SqlAuthState> {
  const log = getLogger('whatsapp-auth', { loginId });
  const stored = await loadCreds(db, loginId);
  const creds = stored ?? initAuthCreds();
  log.debug({ stored: stored !== undefined }, stored ? 'loaded WhatsApp auth state' : 'new WhatsApp auth state');

  const keys: SqlKeyStore = {
    async get<T extends WAKeyType>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
      const out: Record<string, unknown> = {};
      for (const part of chunked([...new Set(ids)])) {
        const rows = (await db.knex(KEYS_TABLE)
          .where({ login_id: loginId, type })
          .whereIn('id', part)
          .select('id', 'value')) as Array<Pick<KeyRow, 'id' | 'value'>>;
        for (const row of rows) out[row.id] = reviveKey(type, decode(row.value));
      }
      return out as { [id: string]: SignalDataTypeMap[T] };
    },

    async set(data: SignalDataSet): Promise<void> {
      // Sorted, so concurrent writers on PostgreSQL lock rows in the same order.
      const types = (Object.keys(data) as WAKeyType[]).sort();
      let written = 0;
      let deleted = 0;
      await db.transaction(async (tx) => {
        for (const type of types) {
          const entries = (data[type] ?? {}) as Record<string, unknown>;
          const upserts: KeyRow[] = [];
          const deletions: string[] = [];
          for (const id of Object.keys(entries).sort()) {
            const value = entries[id];
            if (value === null || value === undefined) deletions.push(id);
            else upserts.push({ login_id: loginId, type, id, value: encodeKey(type, id, value) });
          }
          for (const part of chunked(deletions)) {
            await tx.knex(KEYS_TABLE).where({ login_id: loginId, type }).whereIn('id', part).delete();
          }
          for (const part of chunked(upserts)) {
            await tx.knex(KEYS_TABLE).insert(part).onConflict(['login_id', 'type', 'id']).merge(['value']);
          }
          written += upserts.length;
          deleted += deletions.length;
        }
      });
      log.trace({ types, written, deleted }, 'stored signal keys');
    },

    async clear(): Promise<void> {
      await db.knex(KEYS_TABLE).where({ login_id: loginId }).delete();
      log.debug('cleared signal keys');
    },
  };

  return {
    state: { creds, keys },
    async saveCreds() {
      const value = encode(creds);
      await db.knex(CREDS_TABLE)
        .insert({ login_id: loginId, format_version: AUTH_FORMAT_VERSION, value })
        .onConflict('login_id')
        .merge(['format_version', 'value']);
      log.trace('saved creds');
    },
    async clear() {
      await db.transaction(async (tx) => {
        await tx.knex(KEYS_TABLE).where({ login_id: loginId }).delete();
        await tx.knex(CREDS_TABLE).where({ login_id: loginId }).delete();
      });
      log.debug('cleared WhatsApp auth state');
    },
  };
}

/** The logger type Baileys takes (pino-compatible; our loggers fit). */
export type BaileysLogger = NonNullable<Parameters<typeof makeCacheableSignalKeyStore>[1]>;

/**
 * Puts Baileys' in-memory cache (5 minute TTL) in front of the SQL key store: reads hit the
 * database once per key, writes go to both. Baileys' cache logs only counts.
 */
export function wrapCacheable(state: AuthenticationState, logger: BaileysLogger = getLogger('whatsapp-auth')): AuthenticationState {
  return { creds: state.creds, keys: makeCacheableSignalKeyStore(state.keys, logger) };
}
