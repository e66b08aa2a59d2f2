/**
 * What encryption needs to know of each room the bridge sends into: whether (and how) it is
 * encrypted, its history visibility, and who is in it. Read once from the room's state (as the user
 * about to send, who is joined), then kept current from the state events of appservice
 * transactions. Encryption, once on, is never turned off (the Matrix spec forbids it), so a cached
 * "encrypted" can never be wrong; "not encrypted" is corrected by the transaction that turns it on.
 */
import type { MatrixApi } from '../matrix/matrix-api.js';
import { enc } from '../matrix/matrix-api.js';
import type { MatrixRoomEvent } from '../matrix/transaction.js';

export interface RoomEncryption {
  algorithm: string;
  rotation_period_ms?: number;
  rotation_period_msgs?: number;
}

export interface RoomCryptoState {
  encryption: RoomEncryption | null;
  historyVisibility: string;
  /** membership by user id (join, invite, leave, ban, knock) */
  members: Map<string, string>;
}

interface StateEvent { type: string; state_key?: string; content?: Record<string, unknown> }

const MEGOLM = 'm.megolm.v1.aes-sha2';

function encryptionOf(content: Record<string, unknown> | undefined): RoomEncryption | null {
  if (!content || typeof content.algorithm !== 'string') return null;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
  return { algorithm: content.algorithm, rotation_period_ms: num(content.rotation_period_ms), rotation_period_msgs: num(content.rotation_period_msgs) };
}

export class RoomStates {
  private readonly rooms = new Map<string, RoomCryptoState>();
  private readonly loading = new Map<string, Promise<RoomCryptoState>>();

  constructor(private readonly api: MatrixApi) {}

  /** The room's state, read from the homeserver as `asUser` the first time. */
  async get(roomId: string, asUser: string): Promise<RoomCryptoState> {
    const known = this.rooms.get(roomId);
    if (known) return known;
    let p = this.loading.get(roomId);
    if (!p) {
      p = this.load(roomId, asUser).finally(() => this.loading.delete(roomId));
      this.loading.set(roomId, p);
    }
    return p;
  }

  /** Whether the bridge knows the room to be encrypted, without asking the homeserver. */
  knownEncrypted(roomId: string): boolean {
    return !!this.rooms.get(roomId)?.encryption;
  }

  private async load(roomId: string, asUser: string): Promise<RoomCryptoState> {
    const events = await this.api.request<StateEvent[]>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state`, { asUser });
    // Events that arrived while the state was being read are newer than it: apply the read first.
    const state: RoomCryptoState = { encryption: null, historyVisibility: 'shared', members: new Map() };
    for (const ev of Array.isArray(events) ? events : []) applyState(state, ev);
    const raced = this.rooms.get(roomId);
    if (raced) return raced;
    this.rooms.set(roomId, state);
    return state;
  }

  /** Keeps a known room current from an event of a transaction. */
  observe(ev: MatrixRoomEvent): void {
    const state = this.rooms.get(ev.room_id);
    if (!state || ev.state_key === undefined) return;
    applyState(state, ev);
  }

  /** Marks a room the bridge itself created encrypted (its state needs no read). */
  created(roomId: string, encryption: RoomEncryption | null, members: Record<string, string>): void {
    this.rooms.set(roomId, { encryption, historyVisibility: 'shared', members: new Map(Object.entries(members)) });
  }

  /** Forgets a room (the bridge left it); the next send reads its state again. */
  forget(roomId: string): void {
    this.rooms.delete(roomId);
  }
}

function applyState(state: RoomCryptoState, ev: StateEvent): void {
  if (ev.type === 'm.room.encryption' && ev.state_key === '') {
    // Never downgraded: a later event without an algorithm does not turn encryption off.
    state.encryption = encryptionOf(ev.content) ?? state.encryption;
  } else if (ev.type === 'm.room.history_visibility' && ev.state_key === '') {
    const v = ev.content?.history_visibility;
    if (typeof v === 'string') state.historyVisibility = v;
  } else if (ev.type === 'm.room.member' && typeof ev.state_key === 'string') {
    const m = ev.content?.membership;
    if (typeof m === 'string') state.members.set(ev.state_key, m);
  }
}

/**
 * Who must get the room key: joined members, and invited ones unless history is visible to joined
 * members only (an invited person may then read what is sent before they join, as Element does).
 */
export function keyRecipients(state: RoomCryptoState, skip: (mxid: string) => boolean): string[] {
  const withInvited = state.historyVisibility !== 'joined';
  const out: string[] = [];
  for (const [mxid, m] of state.members) {
    if (skip(mxid)) continue;
    if (m === 'join' || (withInvited && m === 'invite')) out.push(mxid);
  }
  return out;
}

export const MEGOLM_ALGORITHM = MEGOLM;
