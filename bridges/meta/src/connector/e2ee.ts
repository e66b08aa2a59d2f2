/**
 * End-to-end encrypted Meta chats, which Tributary cannot bridge yet: Messenger's E2EE chats
 * travel over the WhatsApp protocol (web-chat-e2ee.facebook.com, a CAT token), not LightSpeed, and
 * the bridge has no Meta E2EE transport. Such a chat still gets its portal, so the person sees it,
 * and the bridge bot says once, in the room, why nothing comes through; a send from Matrix fails
 * with the same words, and a message row that does arrive for it becomes that notice.
 */
import { BridgeError, partId, type PortalKey, type RemoteMessage, type RemoteSender } from '@tributary/core/network/index';
import { makeMetaMessageId, makeMetaUserId, platformName, type MetaPlatform } from '../msgconv/meta-ids.js';

export function e2eeNoticeText(platform: MetaPlatform): string {
  return `This chat is end-to-end encrypted on ${platformName(platform)} and cannot be bridged yet.`;
}

/** What a message row of an encrypted chat becomes (its content is not ours to show). */
export function e2eeMessageNoticeText(platform: MetaPlatform): string {
  return `A message arrived in this chat on ${platformName(platform)}. ${e2eeNoticeText(platform)}`;
}

/**
 * The notice's message id: one per thread and stable, so the core's duplicate check keeps it to
 * one notice per portal, across reconnects and restarts. Not a Meta id shape ("mid.$…").
 */
export function e2eeNoticeId(threadKey: string): ReturnType<typeof makeMetaMessageId> {
  return makeMetaMessageId(`tributary.e2ee.${threadKey}`);
}

/** The bridge bot speaks; the login's own id stands as the recorded author. */
export function botSender(selfId: string): RemoteSender {
  return { user: makeMetaUserId(selfId), isFromMe: false, isBridgeBot: true };
}

export function e2eeNoticeMessage(opts: {
  id: ReturnType<typeof makeMetaMessageId>; portal: PortalKey; selfId: string; timestamp: number; text: string;
  /** The metadata flag naming the notice (default `e2ee_notice`). */
  kind?: string;
}): RemoteMessage {
  return {
    type: 'message', id: opts.id, portal: opts.portal, sender: botSender(opts.selfId), timestamp: opts.timestamp,
    convert: async () => ({
      parts: [{ id: partId(''), type: 'm.room.message', content: { msgtype: 'm.notice', body: opts.text }, metadata: { [opts.kind ?? 'e2ee_notice']: true } }],
    }),
  };
}

/** The failure of anything sent from Matrix into an encrypted chat: FAIL, and a notice saying why. */
export function e2eeSendError(platform: MetaPlatform): BridgeError {
  return new BridgeError('the Meta thread is end-to-end encrypted', {
    reason: 'm_unsupported', status: 'fail', certain: true, sendNotice: true, userMessage: e2eeNoticeText(platform),
  });
}
