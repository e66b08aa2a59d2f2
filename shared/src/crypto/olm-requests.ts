/**
 * Sends what an OlmMachine asks for (key uploads, queries, claims, to-device messages, signature
 * uploads) to the homeserver as that machine's own device: the appservice token plus `user_id` and
 * `device_id` (device masquerading, MSC4326, stable in Synapse since 1.141), and hands each answer
 * back with `markRequestAsSent` so the machine's state moves on.
 */
import type { RequestType} from './wasm.js';
import {
  KeysClaimRequest, KeysQueryRequest, KeysUploadRequest, RoomMessageRequest, SignatureUploadRequest,
  ToDeviceRequest, type OlmMachine,
} from './wasm.js';
import { enc, type MatrixApi } from '../matrix/matrix-api.js';

/** The machine's outgoing requests, as the wasm returns them. */
type Outgoing = Awaited<ReturnType<OlmMachine['outgoingRequests']>>[number];

export interface DeviceCaller {
  api: MatrixApi;
  userId: string;
  deviceId: string;
}

/** One HTTP call as the device; returns the raw JSON answer the machine wants. */
export async function callAsDevice(d: DeviceCaller, method: string, path: string, body: unknown): Promise<string> {
  const res = await d.api.raw(method, path, { asUser: d.userId, query: { device_id: d.deviceId }, body });
  return (await res.text()) || '{}';
}

/** The HTTP form of one outgoing request, or undefined for kinds a bridge never sends. */
function route(req: Outgoing): { method: string; path: string; body: unknown } | undefined {
  const body = JSON.parse(req.body) as Record<string, unknown>;
  if (req instanceof KeysUploadRequest) return { method: 'POST', path: '/_matrix/client/v3/keys/upload', body };
  if (req instanceof KeysQueryRequest) return { method: 'POST', path: '/_matrix/client/v3/keys/query', body };
  if (req instanceof KeysClaimRequest) return { method: 'POST', path: '/_matrix/client/v3/keys/claim', body };
  if (req instanceof SignatureUploadRequest) return { method: 'POST', path: '/_matrix/client/v3/keys/signatures/upload', body };
  if (req instanceof ToDeviceRequest) {
    return { method: 'PUT', path: `/_matrix/client/v3/sendToDevice/${enc(req.event_type)}/${enc(req.txn_id)}`, body };
  }
  if (req instanceof RoomMessageRequest) {
    return { method: 'PUT', path: `/_matrix/client/v3/rooms/${enc(req.room_id)}/send/${enc(req.event_type)}/${enc(req.txn_id)}`, body };
  }
  // Key backup is never enabled on bridge devices.
  return undefined;
}

/** Sends one request and reports the answer to the machine. */
export async function sendRequest(machine: OlmMachine, d: DeviceCaller, req: Outgoing): Promise<void> {
  const r = route(req);
  if (!r) return;
  const answer = await callAsDevice(d, r.method, r.path, r.body);
  if (req.id !== undefined) await machine.markRequestAsSent(req.id, req.type as RequestType, answer);
}

/**
 * Drains the machine's outgoing requests (new ones may appear as answers come in). `beforeUpload`
 * runs before each key upload: keys must be durable before the homeserver hands them out.
 */
export async function flushOutgoing(machine: OlmMachine, d: DeviceCaller, beforeUpload?: () => Promise<void>): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const reqs = await machine.outgoingRequests();
    if (reqs.length === 0) return;
    for (const req of reqs) {
      if (beforeUpload && req instanceof KeysUploadRequest) await beforeUpload();
      await sendRequest(machine, d, req);
    }
  }
}
