/** Who may do what: relay < commands < user < admin, by exact mxid, then domain, then `*`. */
export type PermissionLevel = 'none' | 'relay' | 'commands' | 'user' | 'admin';

const ORDER: Record<PermissionLevel, number> = { none: 0, relay: 1, commands: 2, user: 3, admin: 4 };

export class Permissions {
  constructor(private readonly table: Record<string, string>) {}

  levelOf(mxid: string): PermissionLevel {
    const domain = mxid.slice(mxid.indexOf(':') + 1);
    const level = this.table[mxid] ?? this.table[domain] ?? this.table['*'];
    return (level && Object.hasOwn(ORDER, level) ? level : 'none') as PermissionLevel;
  }

  can(mxid: string, needed: Exclude<PermissionLevel, 'none'>): boolean {
    return ORDER[this.levelOf(mxid)] >= ORDER[needed];
  }
}
