import type { Op, OpArgs, OpResult } from '../wire.js';
import type { SandboxNetwork } from './network.js';

type Handlers = { [K in Op]: (net: SandboxNetwork, me: string, args: OpArgs<K>) => OpResult<K> };

/**
 * One handler per wire op, acting as the authenticated account `me`. Args arrive already
 * validated against `argsSchemas`. `logout` is finished by the wire server (it must answer
 * before the connection closes).
 */
export const wireOps: Handlers = {
  get_self: (n, me) => n.publicAccount(n.account(me)),
  get_contacts: (n, me) => n.listAccounts().filter((a) => a.id !== me).map((a) => n.publicAccount(a)),
  get_user: (n, _me, a) => n.publicAccount(n.account(a.user)),
  resolve_identifier: (n, _me, a) => n.publicAccount(n.resolveIdentifier(a.identifier)),
  get_chats: (n, me) => n.listChats(me).map((c) => n.wireChat(c)),
  get_chat: (n, me, a) => n.getChat(me, a.chat),
  get_messages: (n, me, a) => n.getMessages(me, a.chat, a),
  send: (n, me, a) => n.send(me, a.chat, a.content, { replyTo: a.reply_to, clientTxnId: a.client_txn_id }).message,
  edit: (n, me, a) => n.edit(me, a.message, a.content),
  delete: (n, me, a) => n.deleteMessage(me, a.message),
  react: (n, me, a) => n.react(me, a.message, a.emoji),
  unreact: (n, me, a) => n.unreact(me, a.message),
  mark_read: (n, me, a) => {
    n.markRead(me, a.chat, a.message);
    return {};
  },
  typing: (n, me, a) => {
    n.setTyping(me, a.chat, a.typing);
    return {};
  },
  set_presence: (n, me, a) => n.setPresence(me, a.online),
  create_dm: (n, me, a) => n.createDm(me, a.user).chat,
  create_group: (n, me, a) => n.createGroup(me, a.name, a.members, a.topic),
  invite: (n, me, a) => n.invite(me, a.chat, a.user),
  kick: (n, me, a) => n.kick(me, a.chat, a.user),
  set_role: (n, me, a) => n.setRole(me, a.chat, a.user, a.role),
  leave: (n, me, a) => {
    n.leave(me, a.chat);
    return {};
  },
  set_chat_name: (n, me, a) => n.updateChat(me, a.chat, { name: a.name }),
  set_chat_topic: (n, me, a) => n.updateChat(me, a.chat, { topic: a.topic }),
  set_chat_avatar: (n, me, a) => n.updateChat(me, a.chat, { avatar: a.media }),
  logout: () => ({}),
};
