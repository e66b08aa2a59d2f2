/** WhatsApp location and live location -> m.location with a geo: URI. */
import { partId, type ConvertedPart, type MatrixContent } from '@tributary/core/network/index';
import type { proto } from 'baileys';

function coord(n: number | null | undefined): string {
  return Number.isFinite(n) ? String(Math.round((n as number) * 1e6) / 1e6) : '0';
}

export function convertWALocation(loc: proto.Message.ILocationMessage | proto.Message.ILiveLocationMessage, live: boolean): ConvertedPart {
  const lat = coord(loc.degreesLatitude);
  const lon = coord(loc.degreesLongitude);
  const l = loc as proto.Message.ILocationMessage & proto.Message.ILiveLocationMessage;
  const label = [l.name, l.address].filter((s): s is string => typeof s === 'string' && s.length > 0).join('\n');
  const head = live ? 'Live location' : 'Location';
  const lines = [label || `${head}: ${lat}, ${lon}`];
  if (live && label) lines.unshift(head);
  if (live && l.caption) lines.push(l.caption);
  if (!live && l.url) lines.push(l.url);
  const content: MatrixContent = {
    msgtype: 'm.location', body: lines.join('\n'), geo_uri: `geo:${lat},${lon}`,
    'org.matrix.msc3488.location': { uri: `geo:${lat},${lon}`, ...(label ? { description: label } : {}) },
  };
  if (live) content['net.tributary.live_location'] = true;
  return { id: partId(''), type: 'm.room.message', content };
}
