/**
 * Starting chats: contacts, resolving an identifier, opening a DM, creating a group. Each runs
 * through the login `?login_id=` names (the caller's own) or the caller's first login, and through
 * the same chat actions as the bot's contacts / start-chat / create-group commands.
 */
import { z } from 'zod';
import type { Bridge } from '../core/bridge.js';
import { createGroupChat, listContacts, resolveContact } from '../core/chat-actions.js';
import type { RemoteUserId } from '../network/index.js';
import { ApiError, notFound } from './errors.js';
import type { RequestContext, Route } from './router.js';
import { createGroupBody, groupType, identifier, loginIdQuery, emptyBody, parseBody, parseParams } from './schemas.js';
import { contactJson, loginFor } from './views.js';

const identifierParams = z.object({ identifier });
const typeParams = z.object({ type: groupType });

function requestLogin(bridge: Bridge, ctx: RequestContext) {
  const { login_id } = parseParams(loginIdQuery, { login_id: ctx.url.searchParams.get('login_id') ?? undefined });
  return loginFor(bridge, ctx.caller.userId, login_id);
}

export function chatRoutes(bridge: Bridge): Route[] {
  const createGroup = async (ctx: RequestContext) => {
    if (ctx.params.type !== undefined) parseParams(typeParams, ctx.params);
    const body = parseBody(createGroupBody, await ctx.body());
    const login = requestLogin(bridge, ctx);
    // Members may be given as their ghosts' Matrix ids.
    const members = body.members.map((m) => (bridge.parseGhostMxid(m) ?? m) as RemoteUserId);
    const res = await createGroupChat(bridge, login, {
      members, ...(body.name !== undefined ? { name: body.name } : {}), ...(body.topic ? { topic: body.topic } : {}),
    });
    return { status: 200, body: { id: res.portal.id, mxid: res.roomId, ...(res.name ? { name: res.name } : {}) } };
  };
  return [
    {
      method: 'GET', path: '/contacts',
      async handler(ctx) {
        const login = requestLogin(bridge, ctx);
        const contacts = await listContacts(bridge, login);
        return { status: 200, body: { contacts: contacts.map(contactJson) } };
      },
    },
    {
      method: 'GET', path: '/resolve_identifier/{identifier}',
      async handler(ctx) {
        const p = parseParams(identifierParams, ctx.params);
        const login = requestLogin(bridge, ctx);
        const res = await resolveContact(bridge, login, p.identifier, false);
        if (!res) throw notFound('Identifier not found');
        return { status: 200, body: contactJson(res) };
      },
    },
    {
      method: 'POST', path: '/create_dm/{identifier}',
      async handler(ctx) {
        const p = parseParams(identifierParams, ctx.params);
        parseBody(emptyBody, (await ctx.body()) ?? {});
        const login = requestLogin(bridge, ctx);
        const res = await resolveContact(bridge, login, p.identifier, true);
        if (!res) throw notFound('Identifier not found');
        if (!res.roomId) throw new ApiError(502, 'M_UNKNOWN', 'The network did not open a chat with them');
        return { status: res.justCreated ? 201 : 200, body: contactJson(res) };
      },
    },
    { method: 'POST', path: '/create_group', handler: createGroup },
    { method: 'POST', path: '/create_group/{type}', handler: createGroup },
  ];
}
