/**
 * A UserLoginHandle that records what a connector reports, and a ConvertContext that records
 * uploads: for connector-tier tests that run the real connector code without the core.
 */
import type { Readable } from 'node:stream';
import { getLogger } from '../../shared/src/logging.js';
import type {
  BridgeStateUpdate, ConvertContext, MediaSource, MessageId, PartId, PortalKey, QueuedEvent, RemoteEvent, RemotePresence,
  RemoteUserId, UserInfo, UserLoginHandle, UserLoginId,
} from '../../shared/src/network/index.js';

/**
 * Message part metadata as the core's message table keeps it, by portal, message and part. Share
 * one between two RecordingLogins to simulate a restart over the same database.
 */
export type RecordedMessageStore = Map<string, Record<string, unknown>>;

function partKey(portal: PortalKey, id: string, part: string): string {
  return JSON.stringify([portal.id, portal.receiver, id, part]);
}

export class RecordingLogin implements UserLoginHandle {
  readonly log = getLogger('test-connector');
  readonly metadata: Record<string, unknown> = {};
  readonly queued: RemoteEvent[] = [];
  readonly presence: RemotePresence[] = [];
  readonly states: BridgeStateUpdate[] = [];
  readonly logouts: string[] = [];
  readonly ghostUpdates: Array<{ user: RemoteUserId; info: UserInfo }> = [];
  readonly progress: Array<{ key: string; text: string }> = [];

  constructor(
    readonly id: UserLoginId, readonly remoteName = `+${id}`, readonly userMxid = '@alice:example.org',
    readonly messages: RecordedMessageStore = new Map(),
  ) {}

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
  async updateGhost(user: RemoteUserId, info: UserInfo): Promise<void> {
    this.ghostUpdates.push({ user, info });
  }
  async sendProgressNotice(key: string, text: string): Promise<void> {
    this.progress.push({ key, text });
  }
  async getMessageMetadata(portal: PortalKey, id: MessageId, part = '' as PartId): Promise<Record<string, unknown> | undefined> {
    return this.messages.get(partKey(portal, id, part));
  }
  /**
   * Converts an event the way the core would bridge it and keeps the parts' metadata as the core's
   * message table does (a new message stores each part's, an edit replaces the modified parts').
   */
  async bridge(evt: RemoteEvent, ctx: ConvertContext): Promise<void> {
    const store = (id: string, parts: Array<{ id: PartId; metadata?: Record<string, unknown> }>) => {
      for (const p of parts) this.messages.set(partKey(evt.portal, id, p.id), p.metadata ?? {});
    };
    if (evt.type === 'message') store(evt.id, (await evt.convert(ctx)).parts);
    if (evt.type === 'backfill') for (const m of evt.messages) store(m.id, (await m.convert(ctx)).parts);
    if (evt.type === 'edit') {
      const existing = [...this.messages.keys()].map((k) => JSON.parse(k) as string[])
        .filter(([p, r, id]) => p === evt.portal.id && r === evt.portal.receiver && id === evt.target).map((k) => k[3] as PartId);
      for (const mod of (await evt.convert(ctx, existing)).modifiedParts) {
        if (mod.metadata !== undefined) this.messages.set(partKey(evt.portal, evt.target, mod.partId), mod.metadata);
      }
    }
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
