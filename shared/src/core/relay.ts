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
  // Split the template before filling it in, and fill with a function: a display name containing
  // `{message}` or `$&` must stay literal text.
  const render = (part: string) =>
    part.replace(/\{sender_displayname\}|\{sender_mxid\}/g, (m) => (m === '{sender_mxid}' ? who.mxid : who.displayName));
  const at = template.indexOf('{message}');
  const prefix = at >= 0 ? render(template.slice(0, at)) : `${render(template)} `;
  const suffix = at >= 0 ? render(template.slice(at + '{message}'.length)) : '';
  msg.text = {
    text: prefix + original.text + suffix,
    entities: original.entities.map((e) => ({ ...e, offset: e.offset + prefix.length })),
  };
}
