/**
 * Portals inside other portals: a chat whose ChatInfo names a `parent` (a WhatsApp group linked to
 * a community, say) is linked to the parent portal's room, which is a Matrix space when the
 * parent's ChatInfo says type 'space'. The link is the pair the spec asks for: `m.space.child` in
 * the parent (state key = child room) and a canonical `m.space.parent` in the child (state key =
 * parent room), both sent by the bot. The parent portal has the child's receiver.
 *
 * Rooms stay in the login's personal space as well (spaces.ts): a room may sit in several spaces,
 * and the personal space then keeps listing every chat of the account even when the person never
 * joins the community space, and no room has to move between spaces when its parent changes.
 */
import type { PortalKey } from '../network/index.js';
import type { Bridge } from './bridge.js';
import type { Portal } from './portal.js';
import type { UserLogin } from './user-login.js';
import { ensureRoom } from './portal-room.js';

/** Adds (or, with linked=false, removes) the space link between two rooms. */
async function setLink(b: Bridge, childRoom: string, parentRoom: string, linked: boolean): Promise<void> {
  const via = [b.serverName];
  // Empty content is how a space link is removed (the state key stays, without `via`).
  await b.api.sendState(parentRoom, 'm.space.child', childRoom, linked ? { via } : {}, b.botMxid);
  await b.api.sendState(childRoom, 'm.space.parent', parentRoom, linked ? { via, canonical: true } : {}, b.botMxid);
}

async function trySetLink(portal: Portal, childRoom: string, parentRoom: string, linked: boolean): Promise<void> {
  await setLink(portal.bridge, childRoom, parentRoom, linked).catch((err: unknown) => {
    portal.log.warn({ err: (err as Error).message, child: childRoom, parent: parentRoom, linked }, 'could not change a space link');
  });
}

/**
 * Records the portal's parent (null or undefined: none) and moves its room there: the old
 * parent's link is removed and the new one added. When the parent has no room yet, its room is
 * created in the parent's own queue from its ChatInfo (NetworkAPI.getChatInfo), and linkChildren
 * links this room once it exists. That creation is not awaited: a portal queue waiting on
 * another could deadlock when two chats name each other as parent.
 *
 * `fresh`: the portal's room was just created, so it is linked even if the row already had this
 * parent (the row may have learnt it before the room existed).
 */
export async function setParent(portal: Portal, login: UserLogin, parentId: string | null | undefined, fresh = false): Promise<void> {
  const b = portal.bridge;
  const next = parentId && parentId !== portal.row.id ? parentId : null;
  const old = portal.row.parentId;
  if (next === old && !fresh) return;
  if (next !== old) await portal.update({ parentId: next });
  const roomId = portal.roomId;
  if (!roomId) return;
  if (old && old !== next) {
    const oldRow = await b.db.portals.get({ id: old, receiver: portal.row.receiver });
    if (oldRow?.mxid) await trySetLink(portal, roomId, oldRow.mxid, false);
  }
  if (!next) return;
  const parent = await b.getPortal({ id: next, receiver: portal.row.receiver } as PortalKey);
  if (parent.roomId) return trySetLink(portal, roomId, parent.roomId, true);
  portal.log.info({ parent: next }, 'creating the room of the parent space');
  void parent.runInQueue(() => ensureRoom(parent, login)).catch((err: unknown) => {
    parent.log.warn({ err: (err as Error).message, child: portal.row.id }, 'could not create the room of a parent space');
  });
}

/** Links the rooms of the portals that name this one as parent (called once its room exists). */
export async function linkChildren(portal: Portal): Promise<void> {
  const roomId = portal.roomId;
  if (!roomId) return;
  for (const child of await portal.bridge.db.portals.listByParent(portal.row.id)) {
    if (child.receiver !== portal.row.receiver || !child.mxid || child.mxid === roomId) continue;
    await trySetLink(portal, child.mxid, roomId, true);
  }
}
