/** Command-line flags of `npm run bench` (after `--`). */

export interface BenchArgs {
  /** Soak length; 10 minutes unless given (`npm run bench` passes 2). */
  soakMinutes: number;
  /** Portals (each with its own new contact, so as many ghosts) created for the memory figure. */
  memoryPortals: number;
  /** Repetitions of each throughput and transaction run; the median is reported. */
  reps: number;
  /** Portals (rooms) in the many-portal runs, and messages per portal. */
  rooms: number;
  perRoom: number;
  /** Messages in the one-portal run and in the backfill. */
  single: number;
  backfill: number;
  /** Portals seeded for the startup figure. */
  startupPortals: number;
  /** Write CPU profiles of the bridge to bench/profiles/. */
  cpuProf: boolean;
  /** Keep the temporary directory (logs, databases) after the run. */
  keep: boolean;
  /** Output directory (bench/ in the repository). */
  out: string;
  /** Only these phases (comma list); all by default. */
  only: Set<string> | undefined;
  /** Bridge config overrides, `--set bridge.message_status_events=false` (dotted path = JSON value). */
  set: Record<string, unknown>;
}

export const PHASES = ['throughput', 'latency', 'transactions', 'backfill', 'memory', 'soak', 'startup', 'encryption'] as const;

const USAGE = `Usage: npm run bench -- [--soak-minutes N] [--memory-portals N] [--reps N] [--quick] [--cpu-prof] [--keep] [--only a,b] [--set bridge.key=value]
Phases: ${PHASES.join(', ')}. --quick shrinks every size for a smoke run (its figures are not comparable).`;

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const a: BenchArgs = {
    soakMinutes: 10, memoryPortals: 1000, reps: 3, rooms: 20, perRoom: 50, single: 300, backfill: 500,
    startupPortals: 10_000, cpuProf: false, keep: false, out: 'bench', only: undefined, set: {},
  };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number >= ${min}\n${USAGE}`);
    return n;
  };
  if (argv.includes('--quick')) {
    Object.assign(a, { soakMinutes: 0.5, memoryPortals: 20, reps: 1, rooms: 5, perRoom: 10, single: 30, backfill: 50, startupPortals: 500 });
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const next = () => argv[++i];
    switch (flag) {
      case '--soak-minutes': a.soakMinutes = num(flag, next(), 0.5); break;
      case '--memory-portals': a.memoryPortals = num(flag, next(), 10); break;
      case '--reps': a.reps = num(flag, next(), 1); break;
      case '--startup-portals': a.startupPortals = num(flag, next(), 1); break;
      case '--cpu-prof': a.cpuProf = true; break;
      case '--set': {
        const m = /^([a-z_][a-z0-9_.]*)=(.*)$/i.exec(next() ?? '');
        if (!m) throw new Error(`--set takes path.to.key=<JSON value>\n${USAGE}`);
        let value: unknown = m[2];
        try { value = JSON.parse(m[2]!); } catch { /* a plain string */ }
        a.set[m[1]!] = value;
        break;
      }
      case '--keep': a.keep = true; break;
      case '--out': a.out = next() ?? a.out; break;
      case '--only': {
        const list = (next() ?? '').split(',').filter(Boolean);
        const bad = list.filter((p) => !(PHASES as readonly string[]).includes(p));
        if (bad.length || !list.length) throw new Error(`--only takes phases from: ${PHASES.join(', ')}\n${USAGE}`);
        a.only = new Set(list);
        break;
      }
      case '--quick':
        break; // applied before the loop, so explicit flags win

      case '--help': case '-h':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  return a;
}

export function runs(args: BenchArgs, phase: (typeof PHASES)[number]): boolean {
  return !args.only || args.only.has(phase);
}
