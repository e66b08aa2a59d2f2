import { open, readFile, rename } from 'node:fs/promises';
import { z } from 'zod';
import { getLogger } from '@tributary/core/logging';
import type { NetworkSnapshot } from './model-types.js';

const log = getLogger('sandbox');

// Only the envelope is checked: the file is ours, but a truncated or foreign file must give a
// clear error instead of a half-loaded network.
const snapshotEnvelope = z.looseObject({
  version: z.literal(1),
  next_group: z.number().int(),
  next_phone: z.number().int(),
  accounts: z.array(z.looseObject({ id: z.string(), token: z.string() })),
  chats: z.array(z.looseObject({ id: z.string(), messages: z.array(z.unknown()) })),
  event_logs: z.record(z.string(), z.unknown()),
  media: z.array(z.looseObject({ id: z.string() })),
});

/** Reads a snapshot; undefined when the file does not exist yet. */
export async function loadSnapshot(file: string): Promise<NetworkSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = snapshotEnvelope.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${file} is not a sandbox state file: ${parsed.error.message}`);
  return parsed.data as unknown as NetworkSnapshot;
}

/** Writes atomically: temp file, fsync, rename. */
export async function writeSnapshot(file: string, snapshot: NetworkSnapshot): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(JSON.stringify(snapshot));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

/**
 * Debounced saver: `schedule()` after every change; at most one write in flight, and a change
 * during a write triggers one more write after it.
 */
export class SnapshotWriter {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private dirty = false;

  constructor(private readonly file: string, private readonly take: () => NetworkSnapshot, private readonly delayMs = 100) {}

  schedule(): void {
    this.dirty = true;
    if (this.timer || this.writing) return;
    this.timer = setTimeout(() => void this.run(), this.delayMs);
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    if (!this.dirty) return;
    this.dirty = false;
    this.writing = writeSnapshot(this.file, this.take()).catch((err: unknown) => {
      log.error({ err, file: this.file }, 'saving sandbox state failed');
    });
    await this.writing;
    this.writing = undefined;
    if (this.dirty) this.schedule();
  }

  /** Writes any pending change now (used at shutdown and by tests). */
  async flush(): Promise<void> {
    for (;;) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      if (this.writing) await this.writing;
      else if (this.dirty) await this.run();
      else return;
    }
  }
}
