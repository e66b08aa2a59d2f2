/**
 * Calls in a Meta chat -> a notice. Facts (Meta's web client): a call shows in the thread as an XMA
 * whose call-to-action type starts with "xma_rtc" (xma_rtc_audio, xma_rtc_video,
 * xma_rtc_missed_audio, xma_rtc_missed_video, xma_rtc_ended_audio, xma_rtc_ended_video, and group
 * variants), its title the call's state ("Missed Audio Call") and its subtitle the time or length.
 * Matrix cannot join a Meta call, so the person is told where to answer it, as the WhatsApp bridge
 * does.
 */
import { cleanText } from '@tributary/core/matrix/format/index';
import type { ConvertedPart } from '@tributary/core/network/index';
import { platformName, type MetaPlatform } from './meta-ids.js';
import type { MetaAttachmentRow } from './meta-message.js';
import { noticePart } from './to-matrix-common.js';

const CALL_CTA = /^xma_rtc_/;

export function isCallXma(att: MetaAttachmentRow): boolean {
  return CALL_CTA.test(att.cta?.type ?? '');
}

function line(s: string | undefined): string | undefined {
  const clean = s === undefined ? undefined : cleanText(s).replace(/\s+/g, ' ').trim().slice(0, 200);
  return clean ? clean : undefined;
}

/** The call's state in words, from the CTA type when Meta sent no title. */
function fallbackTitle(ctaType: string): string {
  const video = ctaType.includes('video');
  const kind = video ? 'video call' : 'audio call';
  if (ctaType.includes('missed')) return `Missed ${kind}`;
  if (ctaType.includes('ended')) return `${video ? 'Video' : 'Audio'} call ended`;
  return `${video ? 'Video' : 'Audio'} call`;
}

export function convertMetaCall(att: MetaAttachmentRow, platform: MetaPlatform): ConvertedPart {
  const type = att.cta?.type ?? '';
  const xma = att as { titleText?: string; subtitleText?: string };
  // The CTA's own title is its button ("Call back"), not the call's state.
  const title = line(xma.titleText) ?? fallbackTitle(type);
  const subtitle = line(xma.subtitleText);
  const missed = type.includes('missed');
  const ongoing = !missed && !type.includes('ended');
  const lines = [`📞 ${title}${subtitle ? ` (${subtitle})` : ''}`];
  if (ongoing) lines.push(`Answer it in ${platformName(platform)}: calls are not bridged.`);
  return noticePart(lines.join('\n'), { call: type });
}
