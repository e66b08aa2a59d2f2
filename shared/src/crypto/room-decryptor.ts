/**
 * Decrypts Megolm room events with the bot's machine (the bot is in every portal and management
 * room, so every sender shares room keys with its device). A missing key is waited for: room keys
 * travel as to-device messages, which can arrive after the event (another transaction, a slow
 * federation path, a client that shares late); the waiter wakes as soon as the machine reports a
 * new or withheld key for the event's session.
 */
import {
  DecryptionErrorCode, MegolmDecryptionError, RoomId, type DecryptionSettings, type OlmMachine,
  type RoomKeyInfo, type RoomKeyWithheldInfo,
} from './wasm.js';
import type { MatrixRoomEvent } from '../matrix/transaction.js';

export type DecryptOutcome =
  | { ok: true; event: MatrixRoomEvent }
  /** `waitable`: the key may still come (missing key or index); otherwise final. */
  | { ok: false; waitable: boolean; code: string; reason: string; withheld?: string };

const WAITABLE = new Set([DecryptionErrorCode.MissingRoomKey, DecryptionErrorCode.UnknownMessageIndex]);

/** One attempt. The decrypted event keeps the outer event's id, sender, time and unsigned data. */
export async function decryptOnce(machine: OlmMachine, ev: MatrixRoomEvent, settings: DecryptionSettings): Promise<DecryptOutcome> {
  try {
    const res = await machine.decryptRoomEvent(JSON.stringify(ev), new RoomId(ev.room_id), settings);
    const inner = JSON.parse(res.event) as { type?: unknown; content?: unknown; room_id?: unknown };
    res.free();
    if (typeof inner.type !== 'string' || !inner.content || typeof inner.content !== 'object' || Array.isArray(inner.content)) {
      return { ok: false, waitable: false, code: 'M_BAD_JSON', reason: 'the decrypted payload has no type or content' };
    }
    // A payload claiming another room is a replay from elsewhere (the spec says to check it).
    if (inner.room_id !== undefined && inner.room_id !== ev.room_id) {
      return { ok: false, waitable: false, code: 'M_ROOM_MISMATCH', reason: 'the decrypted payload belongs to another room' };
    }
    const content = inner.content as Record<string, unknown>;
    // m.relates_to travels in the clear beside the ciphertext (so servers can aggregate); the
    // encrypted payload's own relation wins when both exist.
    const outerRel = ev.content['m.relates_to'];
    if (outerRel !== undefined && content['m.relates_to'] === undefined) content['m.relates_to'] = outerRel;
    return { ok: true, event: { ...ev, type: inner.type, content, decrypted: true } };
  } catch (err) {
    if (err instanceof MegolmDecryptionError) {
      const withheld = err.withheldCode ?? undefined;
      return {
        ok: false, waitable: WAITABLE.has(err.code) && !withheld, code: DecryptionErrorCode[err.code] ?? String(err.code),
        reason: err.description, withheld,
      };
    }
    return { ok: false, waitable: false, code: 'UnableToDecrypt', reason: (err as Error).message };
  }
}

/** Wakes waiters when a key for their session arrives or is withheld. */
export class KeyWaiters {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Resolves when a key for `sessionId` is reported, or after `ms` (whichever first). */
  wait(sessionId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiters.get(sessionId) ?? new Set();
      this.waiters.set(sessionId, set);
      const wake = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0) this.waiters.delete(sessionId);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      set.add(wake);
    });
  }

  notify(sessionIds: Iterable<string>): void {
    for (const id of sessionIds) for (const wake of [...(this.waiters.get(id) ?? [])]) wake();
  }

  /** Hooks the machine's key callbacks to this. */
  attach(machine: OlmMachine): void {
    machine.registerRoomKeyUpdatedCallback(async (info: RoomKeyInfo[]) => this.notify(info.map((i) => i.sessionId)));
    machine.registerRoomKeysWithheldCallback(async (info: RoomKeyWithheldInfo[]) => this.notify(info.map((i) => i.sessionId)));
  }

  get size(): number {
    return this.waiters.size;
  }
}

/** The Megolm session an encrypted event needs, if it names one. */
export function sessionIdOf(ev: MatrixRoomEvent): string | undefined {
  const id = ev.content.session_id;
  return typeof id === 'string' ? id : undefined;
}
