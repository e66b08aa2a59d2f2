/**
 * Matrix power-level changes to the network: when a person with a login changes a ghost's level
 * in a group portal (making a contact admin or taking it back), the connector is told the new
 * level of each ghost whose level changed. Levels of Matrix users, of the bot and of events are
 * Matrix-only and not bridged. The bridge's own power-level writes come from the bot and never
 * reach this code (handleMatrixEvent drops the bot's events).
 */
import { isPowerLevelHandling, type MatrixEventBase, type RemoteUserId } from '../network/index.js';
import type { MatrixRoomEvent } from '../matrix/transaction.js';
import type { Portal } from './portal.js';
import type { UserLogin } from './user-login.js';

type Levels = Record<string, number>;

function usersOf(content: unknown): Levels {
  const users = (content as { users?: unknown } | undefined)?.users;
  if (!users || typeof users !== 'object') return {};
  const out: Levels = {};
  for (const [mxid, level] of Object.entries(users as Record<string, unknown>)) {
    if (typeof level === 'number' && Number.isFinite(level)) out[mxid] = level;
  }
  return out;
}

function defaultOf(content: unknown): number {
  const d = (content as { users_default?: unknown } | undefined)?.users_default;
  return typeof d === 'number' && Number.isFinite(d) ? d : 0;
}

/** Ghosts whose effective level differs between the previous and the new power levels. */
export function changedGhostLevels(portal: Portal, ev: MatrixRoomEvent): Array<{ user: RemoteUserId; level: number }> {
  const prev = ev.unsigned?.prev_content;
  if (!prev) return []; // the room's first power levels: nothing changed on the network's side
  const [before, after] = [usersOf(prev), usersOf(ev.content)];
  const [defBefore, defAfter] = [defaultOf(prev), defaultOf(ev.content)];
  const out: Array<{ user: RemoteUserId; level: number }> = [];
  for (const mxid of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const user = portal.bridge.parseGhostMxid(mxid);
    if (!user) continue;
    const level = after[mxid] ?? defAfter;
    if (level !== (before[mxid] ?? defBefore)) out.push({ user, level });
  }
  return out;
}

/** Hands ghost level changes to the connector; false when there is nothing to bridge. */
export async function handlePowerLevels(
  portal: Portal, login: UserLogin, ev: MatrixRoomEvent, base: MatrixEventBase, unsupported: (what: string) => Error,
): Promise<boolean> {
  if (portal.isDm) return false;
  const users = changedGhostLevels(portal, ev);
  if (users.length === 0) return false;
  const api = login.client;
  if (!isPowerLevelHandling(api)) throw unsupported('Changing admins');
  await api.handleMatrixPowerLevels({ ...base, users });
  return true;
}
