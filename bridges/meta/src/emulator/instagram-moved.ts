/**
 * The LightSpeed tasks the emulator's Instagram flavour refuses, because Instagram's own client
 * carries them over GraphQL or mqttbypass (see docs/meta-emulator.md): refusing them here proves
 * the client took the new path. Real Instagram may no longer accept them at all; which ones it
 * still does is not known, so the list follows what Tributary has moved (ours).
 * A text-only send and a send of one attachment without text are refused; a sticker, a caption
 * or several attachments still go as a LightSpeed SendMessage.
 */
type Payload = Record<string, unknown>;

/** The task's GraphQL (or mqttbypass) replacement, by task name. */
const MOVED: Record<string, string> = {
  sendReaction: 'IGDirectReactionSendMutation',
  threadMarkRead: 'useIGDMarkThreadAsReadMutation',
  fetchMessages: 'IGDMessageListOffMsysQuery',
  renameThread: 'IGDEditThreadNameDialogOffMsysMutation',
  createGroup: 'useCreateOpenGroupThreadOffMsysMutation',
  fetchThreads: 'IGDThreadListOffMsysPaginationQuery',
  acceptMessageRequest: 'useIGDirectAcceptMessageRequestMutation',
  deleteThread: 'IGDInboxInfoDeleteThreadDialogOffMsysMutation',
  updatePresence: '/ws/mqttbypass',
};

function sendReplacement(p: Payload): string | undefined {
  if (p.sticker_id !== undefined && p.sticker_id !== null) return undefined;
  const attachments = Array.isArray(p.attachment_fbids) ? p.attachment_fbids.length : 0;
  const hasText = typeof p.text === 'string' && p.text !== '';
  if (attachments === 0) return hasText ? 'IGDirectTextSendMutation' : undefined;
  return attachments === 1 && !hasText ? 'IGDirectMediaSendMutation' : undefined;
}

/** Why Instagram refuses this LightSpeed task, or undefined when it still takes it. */
export function instagramRefusal(name: string, payload: Payload): string | undefined {
  const replacement = name === 'sendMessage' ? sendReplacement(payload) : MOVED[name];
  return replacement ? `Instagram takes ${name} through ${replacement}, not as a LightSpeed task` : undefined;
}
