/**
 * Heap measurement of the bridge process without touching its code: the benchmark starts it with
 * `--inspect=127.0.0.1:0` and, through the inspector protocol, forces a full garbage collection
 * (HeapProfiler.collectGarbage) and reads `process.memoryUsage()`. Nothing is attached between
 * measurements, so the bridge runs as it would in production.
 */
import WebSocket from 'ws';

export interface MemorySample {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

/** The inspector URL Node prints on stderr ("Debugger listening on ws://…"). */
export function parseInspectorUrl(stderrText: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(stderrText)?.[1];
}

export async function measureAfterGc(inspectorUrl: string): Promise<MemorySample> {
  const ws = new WebSocket(inspectorUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    const p = msg.id === undefined ? undefined : pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id!);
    if (msg.error) p.reject(new Error(msg.error.message));
    else p.resolve(msg.result);
  });
  const call = (method: string, params: Record<string, unknown> = {}) => new Promise<unknown>((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
  try {
    // Twice: the first pass can leave objects whose finalizers free more on the second.
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const r = (await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as {
      result: { value: string };
    };
    return JSON.parse(r.result.value) as MemorySample;
  } finally {
    ws.close();
  }
}
