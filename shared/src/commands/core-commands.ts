/** The commands every bridge has. Networks add their own through `CommandProcessor.register`. */
import type { RemoteUserId } from '../network/index.js';
import { ChatActionError, createGroupChat, listContacts, resolveContact } from '../core/chat-actions.js';
import type { Command, CommandContext, CommandProcessor } from './processor.js';
import { VERSION } from '../version.js';

export function coreCommands(proc: CommandProcessor): Command[] {
  const b = proc.bridge;
  return [
    {
      name: 'help', permission: 'commands', help: 'List the commands',
      async run(ctx) {
        const seen = new Set<Command>();
        const lines: string[] = [];
        for (const c of proc.commands.values()) {
          if (seen.has(c) || !b.permissions.can(ctx.sender, c.permission)) continue;
          seen.add(c);
          lines.push(`${c.name}${c.usage ? ' ' + c.usage : ''}: ${c.help}`);
        }
        const where = ctx.isManagementRoom ? '' : `\nIn other rooms, start commands with "${b.config.bridge.command_prefix}".`;
        await ctx.reply(`Commands:\n${lines.join('\n')}${where}`);
      },
    },
    {
      name: 'version', permission: 'commands', help: 'Show the bridge version',
      async run(ctx) {
        await ctx.reply(`Tributary ${b.connector.name.displayName} bridge ${VERSION}`);
      },
    },
    {
      name: 'login', permission: 'user', usage: '[flow]', help: 'Log in to your account (lists the ways to log in without a flow)',
      async run(ctx) {
        const flows = b.connector.getLoginFlows();
        const wanted = ctx.args[0];
        const flow = wanted ? flows.find((f) => f.id === wanted) : flows.length === 1 ? flows[0] : undefined;
        if (!flow) {
          const list = flows.map((f) => `• ${f.id}: ${f.name}. ${f.description}`).join('\n');
          await ctx.reply(`${wanted ? `There is no login flow "${wanted}". ` : ''}Ways to log in:\n${list}\nSend "login <flow>" to start.`);
          return;
        }
        if (!ctx.isManagementRoom) {
          await ctx.reply('Log in from your management room (a direct chat with me), so nothing secret is posted here.');
          return;
        }
        await proc.logins.start(ctx.sender, ctx.roomId, b.connector.createLogin(b.userHandle(ctx.sender), flow.id));
      },
    },
    {
      name: 'cancel', permission: 'user', help: 'Cancel the login in progress',
      async run(ctx) {
        await ctx.reply(proc.logins.cancel(ctx.sender) ? 'Login cancelled.' : 'No login is in progress.');
      },
    },
    {
      name: 'list-logins', aliases: ['logins'], permission: 'user', help: 'List your logins and their state',
      async run(ctx) {
        const logins = b.loginsOf(ctx.sender);
        if (!logins.length) return void (await ctx.reply('You have no logins. Send "login" to add one.'));
        const lines = logins.map((l) => `• ${l.id} (${l.remoteName}): ${b.states.get(l.id)?.stateEvent ?? 'UNKNOWN'}`);
        await ctx.reply(`Your logins:\n${lines.join('\n')}`);
      },
    },
    {
      name: 'logout', permission: 'user', usage: '<login id>', help: 'Log out of an account (on the network too)',
      async run(ctx) {
        const logins = b.loginsOf(ctx.sender);
        const login = ctx.args[0] ? logins.find((l) => l.id === ctx.args[0]) : logins.length === 1 ? logins[0] : undefined;
        if (!login) return void (await ctx.reply(ctx.args[0] ? `You have no login "${ctx.args[0]}".` : 'Say which login: "logout <login id>" (see "list-logins").'));
        await b.deleteLogin(login, true);
        await ctx.reply(`Logged out of ${login.remoteName}.`);
      },
    },
    {
      name: 'ping', permission: 'user', help: 'Check the connection of your logins',
      async run(ctx) {
        const logins = b.loginsOf(ctx.sender);
        if (!logins.length) return void (await ctx.reply('You are not logged in.'));
        const lines = logins.map((l) => {
          const s = b.states.get(l.id);
          return `• ${l.remoteName} (${l.id}): ${s?.stateEvent ?? 'UNKNOWN'}${s?.message ? ` (${s.message})` : ''}, logged in: ${l.client.isLoggedIn() ? 'yes' : 'no'}`;
        });
        await ctx.reply(lines.join('\n'));
      },
    },
    {
      name: 'sync', permission: 'user', help: 'Fetch chat info and missed messages again for this chat (or all your chats in the management room)',
      async run(ctx) {
        const logins = b.loginsOf(ctx.sender);
        if (!logins.length) return void (await ctx.reply('You are not logged in.'));
        if (ctx.portal) {
          const portal = ctx.portal;
          const login = logins.find((l) => !portal.row.receiver || l.id === portal.row.receiver) ?? logins[0]!;
          await login.queueRemoteEvent({ type: 'chat_resync', portal: portal.key, timestamp: Date.now(), latestMessage: { id: '' as never, timestamp: Date.now() } });
          await ctx.reply('Syncing this chat.');
        } else {
          for (const l of logins) await b.catchUpLogin(l);
          await ctx.reply('Syncing your chats.');
        }
      },
    },
    {
      name: 'set-relay', permission: 'user', portalOnly: true, help: 'Let Matrix users without a login talk here through your account',
      async run(ctx) {
        if (!b.config.bridge.relay.enabled) return void (await ctx.reply('Relay mode is disabled in the bridge config.'));
        if (b.config.bridge.relay.admin_only && !b.permissions.can(ctx.sender, 'admin')) return void (await ctx.reply('Only bridge admins may set a relay.'));
        const login = b.loginsOf(ctx.sender).find((l) => !ctx.portal!.row.receiver || l.id === ctx.portal!.row.receiver);
        if (!login) return void (await ctx.reply('You need a login in this chat to become its relay.'));
        await ctx.portal!.update({ relayLoginId: login.id });
        await ctx.reply(`Messages from users without a login will now be sent through ${login.remoteName}.`);
      },
    },
    {
      name: 'unset-relay', permission: 'user', portalOnly: true, help: 'Stop relaying in this chat',
      async run(ctx) {
        const relay = ctx.portal!.row.relayLoginId;
        if (!relay) return void (await ctx.reply('This chat has no relay.'));
        const owner = b.getLogin(relay)?.userMxid;
        if (owner !== ctx.sender && !b.permissions.can(ctx.sender, 'admin')) return void (await ctx.reply('Only the relay owner or an admin can unset it.'));
        await ctx.portal!.update({ relayLoginId: null });
        await ctx.reply('Relay removed.');
      },
    },
    {
      name: 'delete-portal', permission: 'admin', portalOnly: true, help: 'Forget this chat and make everyone leave the room',
      async run(ctx) {
        const portal = ctx.portal!;
        const roomId = portal.roomId!;
        await ctx.reply('Deleting this portal.');
        // Forget it first: anything the network sends from now on makes a fresh portal and room.
        await b.deletePortal(portal);
        for (const m of await b.api.joinedMembers(roomId, b.botMxid)) {
          if (m === b.botMxid) continue;
          if (b.isGhost(m)) await b.api.leave(roomId, m).catch(() => undefined);
          else await b.api.kick(roomId, m, b.botMxid, 'Portal deleted').catch(() => undefined);
        }
        await b.api.leave(roomId, b.botMxid).catch(() => undefined);
      },
    },
  ];
}

/** Commands that open chats on the network from Matrix (the same actions as the provisioning API). */
export function chatCommands(proc: CommandProcessor): Command[] {
  const b = proc.bridge;
  const firstLogin = (mxid: string) => b.loginsOf(mxid)[0];
  /** Runs a chat action, answering its "the network cannot" failure as a reply. */
  const attempt = async (ctx: CommandContext, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      if (err instanceof ChatActionError) return void (await ctx.reply(err.message));
      throw err;
    }
  };
  return [
    {
      name: 'start-chat', aliases: ['pm'], permission: 'user', usage: '<identifier>', help: 'Open a direct chat with someone (phone number, username, ...)',
      async run(ctx) {
        const login = firstLogin(ctx.sender);
        if (!login) return void (await ctx.reply('You are not logged in.'));
        if (!ctx.args[0]) return void (await ctx.reply('Usage: start-chat <identifier>'));
        const wanted = ctx.args[0];
        await attempt(ctx, async () => {
          const res = await resolveContact(b, login, wanted, true);
          if (!res?.roomId) return void (await ctx.reply(`Nobody found for "${wanted.slice(0, 100)}".`));
          await ctx.reply(`Direct chat with ${res.name ?? res.user}: https://matrix.to/#/${res.roomId}`);
        });
      },
    },
    {
      name: 'create-group', permission: 'user', usage: '<name> <member> [member...]', help: 'Create a group on the network with the given people',
      async run(ctx) {
        const login = firstLogin(ctx.sender);
        if (!login) return void (await ctx.reply('You are not logged in.'));
        const [name, ...members] = ctx.args;
        if (!name || !members.length) return void (await ctx.reply('Usage: create-group <name> <member> [member...]'));
        await attempt(ctx, async () => {
          const res = await createGroupChat(b, login, { name, members: members as RemoteUserId[] });
          await ctx.reply(`Created ${name}: https://matrix.to/#/${res.roomId}`);
        });
      },
    },
    {
      name: 'contacts', permission: 'user', help: 'List your contacts on the network',
      async run(ctx) {
        const login = firstLogin(ctx.sender);
        if (!login) return void (await ctx.reply('You are not logged in.'));
        await attempt(ctx, async () => {
          const list = await listContacts(b, login);
          await ctx.reply(list.length ? list.map((c) => `• ${c.name ?? c.user} (${c.user})`).join('\n') : 'No contacts.');
        });
      },
    },
  ];
}
