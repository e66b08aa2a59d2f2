/**
 * A location Meta sends -> `m.location`. Facts (mautrix-meta's converter): a shared location is an
 * XMA attachment whose call-to-action has the type "xma_live_location_sharing"; a pinned location
 * carries "<latitude>,<longitude>" as the CTA's native URL, which becomes the `geo:` URI, and its
 * title and subtitle (the place and its address) become the body. A live location has no native
 * URL while it is being shared: it becomes a notice with its title and subtitle, never dropped.
 */
import { cleanText } from '@tributary/core/matrix/format/index';
import { partId, type ConvertContext, type ConvertedPart } from '@tributary/core/network/index';
import type { MetaAttachmentRow } from './meta-message.js';
import { unsupportedPart, type MetaConvertDeps } from './to-matrix-common.js';

export const LOCATION_CTA_TYPE = 'xma_live_location_sharing';

const COORDS = /^\s*(-?\d{1,3}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$/;

export function isLocationXma(att: MetaAttachmentRow): boolean {
  return att.cta?.type === LOCATION_CTA_TYPE;
}

/** `geo:lat,long` from the CTA's native URL, or undefined when it holds no valid coordinates. */
export function geoUriOf(nativeUrl: string | undefined): string | undefined {
  const m = COORDS.exec(nativeUrl ?? '');
  if (!m) return undefined;
  const lat = Number(m[1]);
  const lon = Number(m[2]);
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) return undefined;
  return `geo:${m[1]},${m[2]}`;
}

function line(s: string | undefined): string | undefined {
  const clean = s === undefined ? undefined : cleanText(s).replace(/\s+/g, ' ').trim().slice(0, 500);
  return clean ? clean : undefined;
}

export function convertMetaLocation(att: MetaAttachmentRow, ctx: ConvertContext, deps: MetaConvertDeps): ConvertedPart {
  const xma = att as { titleText?: string; subtitleText?: string };
  const lines = [line(xma.titleText) ?? line(att.cta?.title), line(xma.subtitleText)].filter((l): l is string => !!l);
  const geoUri = geoUriOf(att.cta?.nativeUrl);
  if (!geoUri) return unsupportedPart(ctx, deps, 'A live location', lines, { location: 'live' });
  const body = lines.length ? lines.join('\n') : `Location: ${geoUri}`;
  return {
    id: partId(''), type: 'm.room.message', metadata: { location: 'pin' },
    content: { msgtype: 'm.location', body, geo_uri: geoUri, 'org.matrix.msc3488.location': { uri: geoUri, ...(lines.length ? { description: lines.join('\n') } : {}) } },
  };
}
