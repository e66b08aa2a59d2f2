/**
 * Bot commands of the Meta bridges, typed in a portal with the command prefix: `accept` and
 * `decline` answer a message request (see requests.ts). The login that owns the portal acts; a
 * portal that is not a request gets a plain answer and nothing is sent to Meta.
 */
import type { Command, CommandContext } from '@tributary/core/commands/processor';
import type { UserLogin } from '@tributary/core/core/user-login';
import { handlesMessageRequests, type MessageRequestHandling } from './requests.js';

/** The sender's login that owns this portal, when it can answer message requests. */
function requestLogin(ctx: CommandContext): { login: UserLogin; api: MessageRequestHandling } | undefined {
  const receiver = ctx.portal?.row.receiver;
  const login = ctx.bridge.loginsOf(ctx.sender).find((l) => !receiver || l.id === receiver);
  return login && handlesMessageRequests(login.client) ? { login, api: login.client } : undefined;
}

async function answer(ctx: CommandContext, how: 'accept' | 'decline'): Promise<void> {
  const portal = ctx.portal!;
  const found = requestLogin(ctx);
  if (!found) return void (await ctx.reply('You have no login in this chat.'));
  if (!found.api.isMessageRequest(portal.key)) return void (await ctx.reply('This chat is not a message request.'));
  if (how === 'accept') {
    await found.api.acceptMessageRequest(portal.key);
    await ctx.reply('Accepted: the chat is in your inbox now.');
  } else {
    await found.api.declineMessageRequest(portal.key);
    await ctx.reply('Declined: the request is deleted. You can leave this room.');
  }
}

export function metaCommands(): Command[] {
  return [
    {
      name: 'accept', permission: 'user', portalOnly: true, help: 'Accept the message request of this chat',
      run: (ctx) => answer(ctx, 'accept'),
    },
    {
      name: 'decline', permission: 'user', portalOnly: true, help: 'Decline (delete) the message request of this chat',
      run: (ctx) => answer(ctx, 'decline'),
    },
  ];
}
