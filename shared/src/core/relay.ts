/**
 * Relay mode: in a portal with a relay login, Matrix users without a login of their own are sent
 * through the relay account, with their name in front of the message so the network side knows who
 * spoke.
 */
import type { MatrixMessage } from '../network/index.js';
import type { Bridge } from './bridge.js';

export function applyRelayFormat(bridge: Bridge, msg: MatrixMessage, who: { mxid: string; displayName: string }): void {
  const template = bridge.config.bridge.relay.message_format;
  const original = msg.text ?? { text: '', entities: [] };
  const rendered = template.replace('{sender_displayname}', who.displayName).replace('{sender_mxid}', who.mxid);
  const at = rendered.indexOf('{message}');
  const prefix = at >= 0 ? rendered.slice(0, at) : `${rendered} `;
  const suffix = at >= 0 ? rendered.slice(at + '{message}'.length) : '';
  msg.text = {
    text: prefix + original.text + suffix,
    entities: original.entities.map((e) => ({ ...e, offset: e.offset + prefix.length })),
  };
}
