/**
 * Bot commands, typed in the management room (no prefix needed) or in any room with the command
 * prefix. Each command declares the permission it needs; an ongoing login owns the management
 * room's next messages until it completes or is cancelled.
 */
import type { Bridge } from '../core/bridge.js';
import type { Portal } from '../core/portal.js';
import type { PermissionLevel } from '../core/permissions.js';
import type { MatrixRoomEvent } from '../matrix/transaction.js';
import { getLogger } from '../logging.js';
import { chatCommands, coreCommands } from './core-commands.js';
import { LoginSessions } from './login-session.js';

const log = getLogger('commands');

export interface CommandContext {
  bridge: Bridge;
  sender: string;
  roomId: string;
  eventId: string;
  args: string[];
  /** Raw text after the command name. */
  rawArgs: string;
  portal?: Portal;
  isManagementRoom: boolean;
  reply(text: string, html?: string): Promise<string>;
}

export interface Command {
  name: string;
  aliases?: string[];
  help: string;
  usage?: string;
  permission: Exclude<PermissionLevel, 'none'>;
  /** Only meaningful inside a portal room. */
  portalOnly?: boolean;
  run(ctx: CommandContext): Promise<void>;
}

export class CommandProcessor {
  readonly commands = new Map<string, Command>();
  readonly logins: LoginSessions;

  constructor(readonly bridge: Bridge, extra: Command[] = []) {
    this.logins = new LoginSessions(bridge);
    for (const c of [...coreCommands(this), ...chatCommands(this), ...extra]) this.register(c);
  }

  register(cmd: Command): void {
    this.commands.set(cmd.name, cmd);
    for (const a of cmd.aliases ?? []) this.commands.set(a, cmd);
  }

  async handle(ev: MatrixRoomEvent, where: { portal?: Portal; isManagementRoom: boolean }): Promise<void> {
    const b = this.bridge;
    let text = String(ev.content.body ?? '').trim();
    const prefix = b.config.bridge.command_prefix;
    if (text === prefix || text.startsWith(prefix + ' ')) text = text.slice(prefix.length).trim();
    const reply = (t: string, html?: string) => b.sendNotice(ev.room_id, t, html);
    if (!b.permissions.can(ev.sender, 'commands')) {
      await reply('You are not allowed to use this bridge.');
      return;
    }
    // An ongoing login consumes the management room's messages.
    if (where.isManagementRoom && this.logins.has(ev.sender) && !/^(cancel|help)\b/i.test(text)) {
      await this.logins.submit(ev.sender, ev.room_id, text, ev.event_id);
      return;
    }
    const [name = '', ...args] = text.split(/\s+/);
    const cmd = this.commands.get(name.toLowerCase());
    if (!cmd) {
      await reply(`Unknown command "${name.slice(0, 50)}". Send "help" for the list of commands.`);
      return;
    }
    if (!b.permissions.can(ev.sender, cmd.permission)) {
      await reply(`The "${cmd.name}" command needs the ${cmd.permission} permission level.`);
      return;
    }
    if (cmd.portalOnly && !where.portal) {
      await reply(`"${cmd.name}" only works in a bridged chat.`);
      return;
    }
    const ctx: CommandContext = {
      bridge: b, sender: ev.sender, roomId: ev.room_id, eventId: ev.event_id, args,
      rawArgs: text.slice(name.length).trim(), portal: where.portal, isManagementRoom: where.isManagementRoom, reply,
    };
    try {
      await cmd.run(ctx);
    } catch (err) {
      log.warn({ err, command: cmd.name }, 'command failed');
      await reply(`The command failed: ${(err as Error).message}`);
    }
  }
}
