/**
 * The narrow port between the WhatsApp connector and Baileys: exactly the part of `WASocket` the
 * connector calls. It is derived from Baileys' own type with `Pick`, so a Baileys upgrade that
 * changes a signature breaks the build here rather than at run time. Tests substitute a fake built
 * from Baileys' own pieces (test/helpers/wa-fake-port.ts).
 */
import type { WASocket } from 'baileys';

/** The socket methods the connector uses. */
export type WAClientMethod =
  | 'sendMessage'
  | 'readMessages'
  | 'sendPresenceUpdate'
  | 'presenceSubscribe'
  | 'groupMetadata'
  | 'groupFetchAllParticipating'
  | 'groupCreate'
  | 'groupUpdateSubject'
  | 'groupUpdateDescription'
  | 'groupParticipantsUpdate'
  | 'groupLeave'
  | 'updateProfilePicture'
  | 'removeProfilePicture'
  | 'profilePictureUrl'
  | 'onWhatsApp'
  | 'requestPairingCode'
  | 'updateMediaMessage'
  | 'fetchMessageHistory'
  | 'logout'
  | 'end';

/** Subscribing to Baileys events; emitting is the library's business. */
export type WAClientEvents = Pick<WASocket['ev'], 'on' | 'off'>;

export type WAClientPort = Pick<WASocket, WAClientMethod | 'user'> & { readonly ev: WAClientEvents };

/** The names of the port's methods, for fakes and for checks that the port stays complete. */
export const WA_CLIENT_METHODS: readonly WAClientMethod[] = [
  'sendMessage', 'readMessages', 'sendPresenceUpdate', 'presenceSubscribe', 'groupMetadata',
  'groupFetchAllParticipating', 'groupCreate', 'groupUpdateSubject', 'groupUpdateDescription',
  'groupParticipantsUpdate', 'groupLeave', 'updateProfilePicture', 'removeProfilePicture', 'profilePictureUrl', 'onWhatsApp',
  'requestPairingCode', 'updateMediaMessage', 'fetchMessageHistory', 'logout', 'end',
];
