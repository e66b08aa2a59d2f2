/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof`, in bench/profiles/): self time
 * by function and by file, so the cause of a missed goal can be read without DevTools.
 *   node --conditions=source --import tsx test/bench/profile-summary.ts bench/profiles/X.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface Summary { totalMs: number; idleMs: number; byFunction: Array<[string, number]>; byFile: Array<[string, number]> }

function shortUrl(url: string): string {
  const m = /\/(node_modules\/(?:@[^/]+\/)?[^/]+|shared\/src|bridges\/[^/]+\/src)\/(.*)$/.exec(url);
  if (m) return m[1]!.startsWith('node_modules') ? m[1]! : `${m[1]}/${m[2]}`;
  return url.replace(/^file:\/\//, '') || '(native)';
}

export function summarise(profile: Profile): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let idleMs = 0;
  let totalMs = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    totalMs += ms;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') { idleMs += ms; continue; }
    const where = shortUrl(n.callFrame.url);
    const key = `${name} ${where}:${n.callFrame.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + ms);
    file.set(where, (file.get(where) ?? 0) + ms);
  }
  const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs, idleMs, byFunction: top(fn), byFile: top(file) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [path, topArg] = process.argv.slice(2);
  if (!path) {
    console.error('usage: profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  const s = summarise(JSON.parse(readFileSync(path, 'utf8')) as Profile);
  const top = Number(topArg ?? 25);
  const busy = s.totalMs - s.idleMs;
  console.log(`total ${(s.totalMs / 1000).toFixed(1)} s, busy ${(busy / 1000).toFixed(1)} s (${((100 * busy) / s.totalMs).toFixed(0)}%)`);
  console.log('\nself time by file:');
  for (const [k, ms] of s.byFile.slice(0, top)) console.log(`${((100 * ms) / busy).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(7)} ms  ${k}`);
  console.log('\nself time by function:');
  for (const [k, ms] of s.byFunction.slice(0, top)) console.log(`${((100 * ms) / busy).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(7)} ms  ${k}`);
}
