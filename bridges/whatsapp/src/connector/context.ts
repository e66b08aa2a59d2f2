import type { PortalKey, UserLoginHandle } from '@tributary/core/network/index';
import type { WAClientPort } from '../client/port.js';
import type { LidResolver } from './ids.js';

/** What the Matrix -> WhatsApp handlers need from the login's API object. */
export interface WAMatrixContext {
  login: UserLoginHandle;
  lids: LidResolver;
  /** The open socket; throws a BridgeError (m_network_error, retriable) when there is none. */
  socket(): WAClientPort;
  /** The account's own JID (phone-number form). */
  ownJid(): string;
  /**
   * Records the id of something the bridge itself sent, so the echo Baileys emits for it is not
   * bridged back (edits, reactions and deletes have no other way to be recognised).
   */
  noteOwnSend?(waId: string): void;
  /** The chat's disappearing timer in seconds (undefined: off); messages sent there carry it. */
  disappearingTimer?(portal: PortalKey): number | undefined;
  /** The person acted in this chat from Matrix (message, typing, read): it is an open chat. */
  chatActive?(portal: PortalKey): void;
}
