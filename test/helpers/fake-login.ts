/**
 * A UserLoginHandle that records what a connector reports, and a ConvertContext that records
 * uploads: for connector-tier tests that run the real connector code without the core.
 */
import type { Readable } from 'node:stream';
import { getLogger } from '../../shared/src/logging.js';
import type {
  BridgeStateUpdate, ConvertContext, MediaSource, PortalKey, QueuedEvent, RemoteEvent, RemotePresence,
  UserLoginHandle, UserLoginId,
} from '../../shared/src/network/index.js';

export class RecordingLogin implements UserLoginHandle {
  readonly log = getLogger('test-connector');
  readonly metadata: Record<string, unknown> = {};
  readonly queued: RemoteEvent[] = [];
  readonly presence: RemotePresence[] = [];
  readonly states: BridgeStateUpdate[] = [];
  readonly logouts: string[] = [];

  constructor(readonly id: UserLoginId, readonly remoteName = `+${id}`, readonly userMxid = '@alice:example.org') {}

  async saveMetadata(patch: Record<string, unknown>): Promise<void> {
    Object.assign(this.metadata, patch);
  }
  async queueRemoteEvent(evt: RemoteEvent): Promise<QueuedEvent> {
    this.queued.push(evt);
    return { handled: Promise.resolve() };
  }
  updatePresence(p: RemotePresence): void {
    this.presence.push(p);
  }
  setBridgeState(state: BridgeStateUpdate): void {
    this.states.push(state);
  }
  async handleRemoteLogout(reason: string): Promise<void> {
    this.logouts.push(reason);
  }
  lastState(): string | undefined {
    return this.states.at(-1)?.stateEvent;
  }
}

export interface RecordedUpload { bytes: Buffer; mimetype: string; filename: string | undefined }

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** Uploads are read to the end and kept; text content keeps its entities for assertions. */
export function recordingConvertContext(key: PortalKey, isDm: boolean): ConvertContext & { uploads: RecordedUpload[] } {
  const uploads: RecordedUpload[] = [];
  return {
    uploads,
    portal: { key, roomId: '!room:example.org', isDm },
    async uploadMedia(src: MediaSource) {
      const bytes = await readAll(await src.open());
      uploads.push({ bytes, mimetype: src.mimetype, filename: src.filename });
      return { url: `mxc://example.org/${uploads.length}`, size: bytes.length, mimetype: src.mimetype };
    },
    matrixUserIdFor: (u) => `@wa_${u}:example.org`,
    textContent: (text, msgtype = 'm.text') => ({ msgtype, body: text.text, entities: text.entities }),
  };
}
