/**
 * The narrow port the connector uses to talk to the sandbox network. SandboxClient implements it
 * over the real WebSocket; tests may substitute their own.
 */
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { MediaUploadResult, Op, OpArgs, OpResult } from '../wire.js';

export interface SandboxPort extends EventEmitter {
  connect(): Promise<unknown>;
  close(): Promise<void>;
  request<K extends Op>(op: K, args: OpArgs<K>): Promise<OpResult<K>>;
  /** Tells the server every event up to `seq` is durably handled. */
  ack(seq: number): void;
  uploadMedia(body: Buffer | Readable, mimetype: string): Promise<MediaUploadResult>;
  downloadMedia(id: string): Promise<{ stream: Readable; size: number; mimetype: string }>;
}
