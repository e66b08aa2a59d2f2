/**
 * Routes what the intake hands over: a Matrix event to its portal's queue (keeping room order), a
 * command to the command processor, an invite of the bot to the management-room logic, and a
 * person's own presence to their logins.
 */
import { isPresenceHandling } from '../network/index.js';
import type { InboundItem, IntakeDispatcher } from '../matrix/intake.js';
import type { Bridge } from './bridge.js';
import { handleGhostInvite, isGhostInvite } from './ghost-invite.js';

export class MatrixRouter implements IntakeDispatcher {
  constructor(private readonly bridge: Bridge) {}

  async dispatch(item: InboundItem, done: () => Promise<void>): Promise<void> {
    if (item.kind === 'ephemeral') {
      await done();
      if (item.event.type === 'm.presence') return this.handleMatrixPresence(item.event);
      const roomId = item.event.room_id;
      if (roomId) {
        const portal = await this.bridge.getPortalByRoom(roomId);
        if (portal) await portal.queue.push({ kind: 'ephemeral', event: item.event });
      }
      return;
    }
    let ev = item.event;
    const crypto = this.bridge.crypto;
    if (crypto && ev.type === 'm.room.encrypted') {
      // Most keys are here already (to-device travels in the same transaction): decrypt now, so
      // commands in encrypted rooms are seen as commands. A missing key is waited for later: in
      // the portal's queue (keeping the chat's order), or beside everything for other rooms.
      const out = await crypto.tryDecrypt(ev);
      if (out.ok) ev = out.event;
      else if (!(await this.bridge.getPortalByRoom(ev.room_id))) {
        const waitMs = this.bridge.config.encryption.undecryptable_notice_after_seconds * 1000;
        void crypto.decrypt(ev, waitMs).then((late) => (late.ok ? this.dispatch({ ...item, event: late.event }, done) : done()))
          .catch(() => done());
        return;
      }
    }
    crypto?.observe(ev);
    if (isGhostInvite(this.bridge, ev) && !(await this.bridge.getPortalByRoom(ev.room_id))) {
      // A person starting a DM by inviting a contact: beside the loop (it talks to the network).
      void handleGhostInvite(this.bridge, ev).catch((err) => this.bridge.log.warn({ err, room: ev.room_id }, 'ghost invite handling failed')).finally(() => void done());
      return;
    }
    if (ev.type === 'm.room.member' && ev.state_key === this.bridge.botMxid) {
      await this.handleBotMembership(ev).catch((err) => this.bridge.log.warn({ err, room: ev.room_id }, 'bot membership handling failed'));
      return done();
    }
    const portal = await this.bridge.getPortalByRoom(ev.room_id);
    const body = ev.type === 'm.room.message' && typeof ev.content.body === 'string' ? ev.content.body : undefined;
    if (this.bridge.commands && body !== undefined && !this.bridge.isGhost(ev.sender) && ev.sender !== this.bridge.botMxid) {
      // A portal room is never a management room (handleBotMembership only picks rooms that are
      // not portals), so portal messages skip the lookup: this loop dispatches one event at a
      // time, and a database read per message here capped Matrix -> network throughput.
      const user = portal ? undefined : await this.bridge.db.users.getByManagementRoom(ev.room_id);
      const prefixed = body.startsWith(this.bridge.config.bridge.command_prefix + ' ') || body === this.bridge.config.bridge.command_prefix;
      if ((user && user.mxid === ev.sender) || prefixed) {
        const run = () => this.bridge.commands!.handle(ev, { portal, isManagementRoom: !!user }).catch((err) => this.bridge.log.error({ err }, 'command failed'));
        // Commands in a portal run in its queue (they may change it); elsewhere in the background.
        if (portal) await portal.queue.push({ kind: 'task', run: async () => { await run(); await done(); } });
        else void run().finally(() => void done());
        return;
      }
    }
    if (!portal) return done();
    await portal.queue.push({ kind: 'matrix', event: ev, done });
  }

  /** A person's own Matrix presence goes to each of their logins that can take it. */
  private async handleMatrixPresence(ev: { sender?: string; content: Record<string, unknown> }): Promise<void> {
    const presence = ev.content.presence;
    if (!ev.sender || (presence !== 'online' && presence !== 'offline' && presence !== 'unavailable')) return;
    for (const login of this.bridge.loginsOf(ev.sender)) {
      if (!isPresenceHandling(login.client)) continue;
      await login.client.handleMatrixPresence(presence).catch((err) => login.log.debug({ err }, 'presence not sent'));
    }
  }

  private async handleBotMembership(ev: InboundItem['event'] & { state_key?: string; sender: string; room_id: string; content: Record<string, unknown> }): Promise<void> {
    // The bridge's own invites (a ghost bringing the bot into a DM it was invited to) need nothing.
    if (ev.content.membership !== 'invite' || this.bridge.isGhost(ev.sender)) return;
    if (!this.bridge.permissions.can(ev.sender, 'commands')) {
      await this.bridge.api.leave(ev.room_id, this.bridge.botMxid, 'You are not allowed to use this bridge').catch(() => undefined);
      return;
    }
    await this.bridge.api.join(ev.room_id, this.bridge.botMxid);
    const user = await this.bridge.db.users.getOrCreate(ev.sender);
    const members = await this.bridge.api.joinedMembers(ev.room_id, this.bridge.botMxid);
    // A direct chat with the bot becomes the management room (the newest one, if there are several).
    if (members.length <= 2 && !(await this.bridge.getPortalByRoom(ev.room_id))) {
      if (user.managementRoom !== ev.room_id) await this.bridge.db.users.setManagementRoom(ev.sender, ev.room_id);
      await this.bridge.sendNotice(ev.room_id, `Hello! This is your management room for the ${this.bridge.connector.name.displayName} bridge. Send "help" to see what I can do, or "login" to connect your account.`);
    }
  }

}
