/**
 * Linking the bridge as a WhatsApp companion device, by QR code or by pairing code.
 *
 * The session is kept in memory until WhatsApp accepts it: a scan that never happens leaves
 * nothing behind. On 'open' the account is known (creds.me), so the login row is created through
 * `user.newLogin`, the creds and keys are copied into the SQL auth state of that login, and the
 * login socket is stopped; the new login's API connects with the stored session. The API waits
 * for the copy (the connector's handoff) because the core connects it inside `newLogin`.
 */
import { initAuthCreds, type AuthenticationCreds, type AuthenticationState, type SignalDataSet, type SignalDataTypeMap } from 'baileys';
import type { Database } from '@tributary/core/db/database';
import type { Logger } from '@tributary/core/logging';
import {
  BridgeError, type BridgeStateUpdate, type LoginFlow, type LoginProcess, type LoginStep, type UserHandle, type UserLoginId,
} from '@tributary/core/network/index';
import { WAConnection, type MakeWASocket } from '../client/connection.js';
import { useSqlAuthState } from '../db/auth-state.js';
import type { WhatsAppConfig } from './connector.js';
import { loginIdFromJid, phoneDigits } from './ids.js';
import { socketConfigOf } from './wa-api.js';
import { PHONE_SEEN_KEY } from './phone-watchdog.js';

export const LOGIN_FLOWS: LoginFlow[] = [
  { id: 'qr', name: 'QR code', description: 'Scan a QR code with WhatsApp on your phone (Linked devices > Link a device)' },
  {
    id: 'pairing-code', name: 'Pairing code',
    description: 'Type an 8-character code into WhatsApp on your phone (Linked devices > Link with phone number)',
  },
];

/** How long a login may take before it is given up (QR codes stop after about a minute anyway). */
export const LOGIN_TIMEOUT_MS = 5 * 60_000;

/** The in-memory Signal key store of a login in progress; `dump()` is what gets copied to SQL. */
export class MemoryKeyStore {
  private readonly data = new Map<string, Map<string, unknown>>();

  async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
    const out: { [id: string]: SignalDataTypeMap[T] } = {};
    const bucket = this.data.get(type);
    for (const id of ids) {
      const value = bucket?.get(id);
      if (value !== undefined) out[id] = value as SignalDataTypeMap[T];
    }
    return out;
  }

  async set(data: SignalDataSet): Promise<void> {
    for (const [type, entries] of Object.entries(data)) {
      let bucket = this.data.get(type);
      if (!bucket) this.data.set(type, (bucket = new Map()));
      for (const [id, value] of Object.entries(entries ?? {})) {
        if (value === null || value === undefined) bucket.delete(id);
        else bucket.set(id, value);
      }
    }
  }

  dump(): SignalDataSet {
    const out: Record<string, Record<string, unknown>> = {};
    for (const [type, bucket] of this.data) {
      if (bucket.size > 0) out[type] = Object.fromEntries(bucket);
    }
    return out as SignalDataSet;
  }
}

export interface WALoginDeps {
  user: UserHandle;
  db: Database;
  config: WhatsAppConfig;
  log: Logger;
  makeSocket?: MakeWASocket;
  socketUrl?: string;
  /** Makes the new login's API wait, in connect(), until `done()` (its auth state is written). */
  beginHandoff(id: UserLoginId): { done(): void };
  timeoutMs?: number;
}

type Pending = { step: LoginStep } | { error: Error };

const PHONE_STEP: LoginStep = {
  type: 'user_input', stepId: 'whatsapp.pairing_code.phone',
  instructions: 'Enter the phone number of your WhatsApp account, with its country code.',
  fields: [{ id: 'phone', type: 'phone_number', name: 'phone number', description: 'For example +15551234567', pattern: '^\\+?[0-9]{7,15}$' }],
};

export class WALoginProcess implements LoginProcess {
  private readonly keys = new MemoryKeyStore();
  private readonly auth: AuthenticationState;
  private conn: WAConnection | undefined;
  private next: Pending | undefined;
  private waiters: Array<() => void> = [];
  private finished = false;
  private paired = false;
  private phone: string | undefined;
  private codeRequested = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: WALoginDeps, readonly flow: 'qr' | 'pairing-code') {
    this.auth = { creds: initAuthCreds(), keys: this.keys };
  }

  async start(): Promise<LoginStep> {
    if (this.flow === 'pairing-code') return PHONE_STEP;
    this.open();
    return this.take();
  }

  async submitUserInput(values: Record<string, string>): Promise<LoginStep> {
    if (this.flow !== 'pairing-code' || this.conn) throw new BridgeError('no input is expected now', { reason: 'm_bad_format' });
    const digits = phoneDigits(values.phone ?? '');
    if (!digits) {
      throw new BridgeError('invalid phone number', { reason: 'm_bad_format', userMessage: 'Give the phone number with its country code, like +15551234567' });
    }
    this.phone = digits;
    this.open();
    return this.take();
  }

  wait(): Promise<LoginStep> {
    return this.take();
  }

  cancel(): void {
    this.fail(new BridgeError('login cancelled', { userMessage: 'The login was cancelled' }));
  }

  private open(): void {
    const cfg = this.deps.config;
    const conn = new WAConnection({
      auth: this.auth,
      // Baileys has already merged the update into auth.creds, which is all the storage a login needs.
      saveCreds: () => undefined,
      logger: this.deps.log,
      backoff: { minMs: cfg.reconnect.min_ms, maxMs: cfg.reconnect.max_ms },
      socketConfig: socketConfigOf(cfg),
      ...(this.deps.makeSocket ? { makeSocket: this.deps.makeSocket } : {}),
      ...(this.deps.socketUrl !== undefined ? { socketUrl: this.deps.socketUrl } : {}),
    });
    this.conn = conn;
    conn.on('qr', (qr) => this.onQr(qr));
    conn.on('paired', () => {
      this.paired = true;
    });
    conn.on('open', () => void this.onOpen());
    conn.on('state', (state) => this.onState(state));
    for (const ev of ['logged_out', 'replaced', 'fatal'] as const) {
      conn.on(ev, (state) => this.fail(new BridgeError(`login failed: ${state.error ?? ev}`, { userMessage: state.message ?? 'WhatsApp refused the login' })));
    }
    this.timer = setTimeout(() => this.fail(new BridgeError('login timed out', { reason: 'm_timeout', userMessage: 'The login timed out; start again' })), this.deps.timeoutMs ?? LOGIN_TIMEOUT_MS);
    this.timer.unref();
    conn.start();
  }

  private onQr(qr: string): void {
    if (this.flow === 'qr') {
      this.push({
        step: {
          type: 'display_and_wait', stepId: 'whatsapp.qr',
          instructions: 'Scan this QR code with WhatsApp on your phone: Settings > Linked devices > Link a device. It changes every 20 seconds or so.',
          display: { type: 'qr', data: qr },
        },
      });
      return;
    }
    // Pairing code: Baileys needs the socket up and waiting, which the first QR shows.
    if (this.codeRequested || !this.phone) return;
    this.codeRequested = true;
    const sock = this.conn?.current();
    if (!sock) {
      this.fail(new BridgeError('no WhatsApp socket for the pairing code', { status: 'retriable', reason: 'm_network_error' }));
      return;
    }
    sock.requestPairingCode(this.phone).then(
      (code) => this.push({
        step: {
          type: 'display_and_wait', stepId: 'whatsapp.pairing_code',
          instructions: `On your phone, open WhatsApp > Settings > Linked devices > Link a device > Link with phone number instead, and enter ${code.slice(0, 4)}-${code.slice(4)}.`,
          display: { type: 'code', data: code },
        },
      }),
      (err: unknown) => this.fail(new BridgeError(`pairing code request failed: ${(err as Error).message}`, {
        status: 'retriable', reason: 'm_network_error', userMessage: 'WhatsApp did not give a pairing code; check the number and try again',
      })),
    );
  }

  private onState(state: BridgeStateUpdate): void {
    // Before pairing, a lost connection means the QR codes ran out or the network failed; after
    // pairing, WAConnection reconnects (the 515 restart is not even reported as a state).
    if (!this.paired && state.stateEvent === 'TRANSIENT_DISCONNECT') {
      this.fail(new BridgeError(`login connection lost: ${state.error ?? 'unknown'}`, {
        status: 'retriable', reason: 'm_network_error', userMessage: 'The connection to WhatsApp was lost or the code expired; start again',
      }));
    }
  }

  private async onOpen(): Promise<void> {
    if (this.finished) return;
    const creds: AuthenticationCreds = this.auth.creds;
    const id = creds.me?.id ? loginIdFromJid(creds.me.id) : undefined;
    if (!id) {
      this.fail(new BridgeError('WhatsApp opened a session without an account id', { userMessage: 'WhatsApp did not say which account logged in' }));
      return;
    }
    // Stop first: the stored session must not be used by two sockets at once.
    await this.stopConnection();
    const handoff = this.deps.beginHandoff(id);
    try {
      // The phone just paired: the first sign of it for the phone-offline watchdog.
      const login = await this.deps.user.newLogin({ id, remoteName: `+${id}`, metadata: { [PHONE_SEEN_KEY]: Date.now() } });
      const sql = await useSqlAuthState(this.deps.db, id);
      await sql.clear(); // a re-login replaces the old device's keys
      for (const key of Object.keys(sql.state.creds)) delete (sql.state.creds as unknown as Record<string, unknown>)[key];
      Object.assign(sql.state.creds, creds);
      await sql.saveCreds();
      await sql.state.keys.set(this.keys.dump());
      this.deps.log.info({ loginId: id }, 'WhatsApp login stored');
      this.push({
        step: {
          type: 'complete', stepId: 'whatsapp.complete', instructions: `Logged in to WhatsApp as +${id}.`,
          complete: { userLoginId: login.id, remoteName: login.remoteName },
        },
      }, true);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      handoff.done();
    }
  }

  private async stopConnection(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const conn = this.conn;
    conn?.removeAllListeners();
    await conn?.stop();
  }

  private fail(error: Error): void {
    if (this.finished) return;
    this.deps.log.info({ reason: error.message }, 'WhatsApp login ended');
    void this.stopConnection();
    this.push({ error }, true);
  }

  private push(item: Pending, final = false): void {
    if (this.finished) return;
    if (final) this.finished = true;
    this.next = item;
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** The newest step not yet handed out (a QR that rotated unseen is skipped), or the final one. */
  private async take(): Promise<LoginStep> {
    while (!this.next) {
      if (this.finished) throw new BridgeError('the login has already finished', { reason: 'm_bad_format' });
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const item = this.next;
    this.next = undefined;
    if ('error' in item) throw item.error;
    return item.step;
  }
}

export function createWALogin(deps: WALoginDeps, flowId: string): LoginProcess {
  if (flowId === 'qr' || flowId === 'pairing-code') return new WALoginProcess(deps, flowId);
  throw new BridgeError(`unknown login flow ${flowId}`, { reason: 'm_bad_format' });
}
