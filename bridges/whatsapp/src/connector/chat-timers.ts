/**
 * The disappearing-message timer of each chat, as WhatsApp last told us (in seconds, by portal
 * id). Messages sent from Matrix carry it (Baileys' `ephemeralExpiration`, which becomes
 * `contextInfo.expiration`): WhatsApp clients expect every message in such a chat to have it and
 * otherwise keep ours forever. Sources: EPHEMERAL_SETTING protocol messages, group metadata and
 * group updates (`ephemeralDuration`), and history-sync conversations (`ephemeralExpiration`).
 * Memory only: after a restart a DM's timer is known again from the next history sync or setting.
 */
export class ChatTimers {
  private readonly timers = new Map<string, number>();

  /** Records a chat's timer; 0, null or undefined turns it off. */
  set(portalId: string, seconds: number | null | undefined): void {
    const s = typeof seconds === 'number' && Number.isFinite(seconds) ? Math.floor(seconds) : 0;
    if (s > 0) this.timers.set(portalId, s);
    else this.timers.delete(portalId);
  }

  /** The chat's timer in seconds, or undefined when its messages do not disappear. */
  get(portalId: string): number | undefined {
    return this.timers.get(portalId);
  }
}
