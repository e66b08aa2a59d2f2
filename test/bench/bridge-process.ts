/**
 * The sandbox bridge as its own process, started the way an operator starts it (`main.ts -c
 * config.yaml`), plus `--inspect=127.0.0.1:0` so the benchmark can force a GC and read the heap
 * (inspector.ts), and optionally `--cpu-prof`. Logs go straight to a file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, appendFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { measureAfterGc, parseInspectorUrl, type MemorySample } from './inspector.js';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface BridgeProcessOptions {
  configPath: string;
  asPort: number;
  logFile: string;
  /** Directory for `--cpu-prof` output; no profiling when unset. */
  cpuProfDir?: string;
  /** More node options for the bridge (diagnostics, e.g. `--import` of an instrumenting module). */
  nodeArgs?: string[];
}

export class BridgeProcess {
  private proc: ChildProcess | undefined;
  private inspectorUrl: string | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly killOnExit = () => this.proc?.kill('SIGKILL');

  constructor(readonly opts: BridgeProcessOptions) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Spawns the bridge and resolves with the milliseconds from spawn to the first 200 of /_matrix/mau/ready. */
  async start(): Promise<number> {
    if (this.proc) throw new Error('bridge already running');
    const out = openSync(this.opts.logFile, 'a');
    const nodeArgs = ['--inspect=127.0.0.1:0'];
    if (this.opts.cpuProfDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${this.opts.cpuProfDir}`);
    nodeArgs.push(...(this.opts.nodeArgs ?? []));
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.TRIBUTARY_LOG_LEVEL;
    delete env.NODE_OPTIONS;
    const t0 = performance.now();
    const proc = spawn(process.execPath, [...nodeArgs, '--conditions=source', '--import', 'tsx', join(ROOT, 'bridges/sandbox/src/main.ts'), '-c', this.opts.configPath], {
      cwd: ROOT, stdio: ['ignore', out, 'pipe'], env,
    });
    closeSync(out);
    this.proc = proc;
    this.inspectorUrl = undefined;
    let stderr = '';
    proc.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      appendFileSync(this.opts.logFile, text);
      if (!this.inspectorUrl) {
        stderr += text;
        this.inspectorUrl = parseInspectorUrl(stderr);
      }
    });
    this.exited = new Promise<void>((r) => proc.once('exit', () => {
      process.off('exit', this.killOnExit);
      if (this.proc === proc) this.proc = undefined;
      r();
    }));
    process.on('exit', this.killOnExit);
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`bridge exited during start-up:\n${this.logTail()}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.opts.asPort}/_matrix/mau/ready`);
        await res.arrayBuffer();
        if (res.status === 200) return performance.now() - t0;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`bridge not ready after 120 s:\n${this.logTail()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** SIGTERM (clean stop; a CPU profile is written) and wait for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }

  async memory(): Promise<MemorySample> {
    if (!this.inspectorUrl) throw new Error('the bridge inspector URL is unknown');
    return measureAfterGc(this.inspectorUrl);
  }

  /** VmRSS from /proc, in bytes (no GC; for the record beside the heap). */
  vmRss(): number | undefined {
    try {
      const status = readFileSync(`/proc/${this.proc?.pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      return kb ? Number(kb) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.opts.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
