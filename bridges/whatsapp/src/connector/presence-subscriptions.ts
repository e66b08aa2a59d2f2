/**
 * Presence subscriptions for open chats. WhatsApp sends a person's online / last-seen presence and
 * their typing only to a device that subscribed to it (`presenceSubscribe`), per connection. The
 * bridge subscribes to the other person of a DM:
 * - when a connection opens, for the DMs with the most recent activity (messages either way, or
 *   history) seen by this login since the bridge started: the connector cannot list portals;
 * - when history sync dispatches DMs while a connection is open (they are the phone's open chats);
 * - whenever the person acts in a DM from Matrix (sends a message, types, reads): the chat is open.
 * Each JID at most once per socket. Automatic subscriptions (the first two) are capped per
 * socket, so a large account does not send hundreds at once; the person's own actions are not.
 */
import { isLidUser, isPnUser } from 'baileys';
import type { PortalKey, UserLoginHandle } from '@tributary/core/network/index';
import type { WAClientPort } from '../client/port.js';

/** Most automatic subscriptions per socket. */
export const PRESENCE_RECENT_MAX = 50;
/** Most DMs remembered as recently active. */
const RECENT_KEPT = 500;

export class PresenceSubscriptions {
  private sock: Pick<WAClientPort, 'presenceSubscribe'> | undefined;
  private readonly subscribed = new Set<string>();
  private automatic = 0;
  /** DM partner JID -> newest activity (ms); a Map keeps insertion order, oldest first. */
  private readonly recent = new Map<string, number>();

  constructor(private readonly log: UserLoginHandle['log'], private readonly max = PRESENCE_RECENT_MAX) {}

  /** A new socket: nothing is subscribed on it yet, and it is not open. */
  reset(): void {
    this.sock = undefined;
    this.subscribed.clear();
    this.automatic = 0;
  }

  /** The socket opened: subscribes to the most recently active DMs. */
  opened(sock: Pick<WAClientPort, 'presenceSubscribe'>): void {
    this.sock = sock;
    // Newest first; among equal times, the one active last (the Map is in order of activity).
    const newest = [...this.recent.entries()].reverse().sort((a, b) => b[1] - a[1]).map(([jid]) => jid);
    for (const jid of newest) this.subscribe(jid, true);
  }

  closed(): void {
    this.sock = undefined;
  }

  /** A DM had activity (a message, history); remembered for the next open. */
  seen(portal: PortalKey, at: number): void {
    const jid = dmPartner(portal);
    if (!jid) return;
    const prev = this.recent.get(jid);
    this.recent.delete(jid);
    this.recent.set(jid, Math.max(at, prev ?? 0));
    if (this.recent.size > RECENT_KEPT) this.recent.delete(this.recent.keys().next().value as string);
  }

  /** History sync dispatched these chats: their DMs are open chats, subscribed now if connected. */
  dispatched(portals: Array<{ portal: PortalKey; at: number }>): void {
    for (const { portal, at } of portals) this.seen(portal, at);
    for (const { portal } of [...portals].sort((a, b) => b.at - a.at)) {
      const jid = dmPartner(portal);
      if (jid) this.subscribe(jid, true);
    }
  }

  /** The person acted in a chat from Matrix: subscribes to its DM partner now. */
  active(portal: PortalKey): void {
    const jid = dmPartner(portal);
    if (!jid) return;
    this.seen(portal, Date.now());
    this.subscribe(jid, false);
  }

  private subscribe(jid: string, automatic: boolean): void {
    const sock = this.sock;
    if (!sock || this.subscribed.has(jid) || (automatic && this.automatic >= this.max)) return;
    this.subscribed.add(jid);
    if (automatic) this.automatic++;
    sock.presenceSubscribe(jid).catch((err: unknown) => {
      // Not subscribed after all: the next action or connection tries again.
      if (this.sock === sock) this.subscribed.delete(jid);
      this.log.debug({ err: (err as Error).message }, 'WhatsApp presence subscription failed');
    });
  }
}

/** The other person of a DM portal (its id), or undefined for groups and the status broadcast. */
function dmPartner(portal: PortalKey): string | undefined {
  if (!portal.receiver) return undefined;
  return isPnUser(portal.id) || isLidUser(portal.id) ? portal.id : undefined;
}
