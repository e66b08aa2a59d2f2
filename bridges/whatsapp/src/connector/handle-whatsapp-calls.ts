/**
 * Baileys `call` events -> notices in the chat's portal, from the caller's ghost: an offer becomes
 * "Incoming call", a timeout nobody answered becomes "Missed call". The bridge cannot take calls.
 *
 * Baileys caches an offer's video/group flags for the later updates of the same call but not its
 * group JID, so the portal of each offer is remembered here for its timeout. Baileys also upserts
 * a message of its own for group offers (`call` content) and missed calls (a stub without content);
 * the message handler skips the first and never bridges the second, so each call shows once.
 */
import { partId, type PortalKey, type RemoteEvent, type RemoteSender } from '@tributary/core/network/index';
import type { BaileysEventMap } from 'baileys';
import type { WAEventHandler } from './handle-whatsapp.js';
import { makeMessageId } from './ids.js';

type Handler = Pick<WAEventHandler, 'portalOf' | 'senderOf' | 'recent' | 'calls'>;
type WACall = BaileysEventMap['call'][number];

export const INCOMING_CALL_NOTICE = '📞 Incoming call. Answer it on your phone.';
export const INCOMING_VIDEO_CALL_NOTICE = '📞 Incoming video call. Answer it on your phone.';
export const MISSED_CALL_NOTICE = 'Missed call';
export const MISSED_VIDEO_CALL_NOTICE = 'Missed video call';

interface CallSeen { portal: PortalKey; sender: RemoteSender; isVideo: boolean; answered: boolean }

/** Calls in progress, by call id (bounded: a call that never ends must not stay forever). */
export class CallLog {
  private readonly calls = new Map<string, CallSeen>();
  constructor(private readonly max = 256) {}
  get(id: string): CallSeen | undefined {
    return this.calls.get(id);
  }
  set(id: string, seen: CallSeen): void {
    this.calls.set(id, seen);
    if (this.calls.size > this.max) this.calls.delete(this.calls.keys().next().value as string);
  }
  delete(id: string): void {
    this.calls.delete(id);
  }
}

function notice(h: Handler, portal: PortalKey, sender: RemoteSender, waId: string, timestamp: number, body: string): RemoteEvent[] {
  const id = makeMessageId(portal.id, sender.user, waId);
  if (!h.recent.first(`call|${id}`)) return [];
  return [{
    type: 'message', portal, id, sender, timestamp,
    convert: async () => ({ parts: [{ id: partId(''), type: 'm.room.message', content: { msgtype: 'm.notice', body } }] }),
  }];
}

async function fromCall(h: Handler, call: WACall): Promise<RemoteEvent[]> {
  if (!call.id) return [];
  const timestamp = call.date instanceof Date && !Number.isNaN(call.date.getTime()) ? call.date.getTime() : Date.now();
  if (call.status === 'offer') {
    const portal = call.isGroup && call.groupJid ? await h.portalOf(call.groupJid) : await h.portalOf(call.from, call.callerPn);
    const sender = await h.senderOf(call.from, call.callerPn);
    // Our own outgoing calls (made on the phone) need no notice.
    if (!portal || !sender || sender.isFromMe) return [];
    const isVideo = call.isVideo === true;
    h.calls.set(call.id, { portal, sender, isVideo, answered: false });
    return notice(h, portal, sender, call.id, timestamp, isVideo ? INCOMING_VIDEO_CALL_NOTICE : INCOMING_CALL_NOTICE);
  }
  const seen = h.calls.get(call.id);
  if (call.status === 'accept' || call.status === 'reject') {
    // Answered or declined on one of the person's devices: not missed.
    if (seen) seen.answered = true;
    return [];
  }
  if (call.status === 'timeout') {
    h.calls.delete(call.id);
    if (seen?.answered) return [];
    const portal = seen?.portal ?? (call.isGroup ? undefined : await h.portalOf(call.from, call.callerPn));
    const sender = seen?.sender ?? await h.senderOf(call.from, call.callerPn);
    if (!portal || !sender || sender.isFromMe) return [];
    const isVideo = seen?.isVideo ?? call.isVideo === true;
    return notice(h, portal, sender, `${call.id}-missed`, timestamp, isVideo ? MISSED_VIDEO_CALL_NOTICE : MISSED_CALL_NOTICE);
  }
  if (call.status === 'terminate') h.calls.delete(call.id);
  return [];
}

async function fromCalls(h: Handler, calls: BaileysEventMap['call']): Promise<RemoteEvent[]> {
  const out: RemoteEvent[] = [];
  for (const call of calls) out.push(...(await fromCall(h, call)));
  return out;
}

export const callEvents = { fromCalls };
