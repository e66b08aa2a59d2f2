/**
 * The benchmark's own Matrix calls, as plain fetch (no SDK in the measuring process, so its CPU
 * cost stays small and equal for the bridge and the baseline runs).
 */
const enc = encodeURIComponent;

export class MatrixHttpError extends Error {
  constructor(readonly status: number, readonly errcode: string, message: string) {
    super(message);
  }
}

export interface MatrixRequest {
  token: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  signal?: AbortSignal;
}

export async function matrixRequest<T = Record<string, unknown>>(baseUrl: string, method: string, path: string, r: MatrixRequest): Promise<T> {
  const url = new URL(baseUrl + path);
  for (const [k, v] of Object.entries(r.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const res = await fetch(url, {
    method,
    headers: { Authorization: `Bearer ${r.token}`, ...(r.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: r.body === undefined ? undefined : JSON.stringify(r.body),
    signal: r.signal,
  });
  const text = await res.text();
  if (!res.ok) {
    let errcode = 'M_UNKNOWN';
    try { errcode = String((JSON.parse(text) as { errcode?: string }).errcode ?? errcode); } catch { /* not JSON */ }
    throw new MatrixHttpError(res.status, errcode, `${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  }
  return (text ? JSON.parse(text) : {}) as T;
}

/** The content the sandbox bridge produces for plain text, so raw sends carry the same bytes. */
export function textContent(body: string): Record<string, unknown> {
  return { msgtype: 'm.text', body, 'm.mentions': {} };
}

let txnCounter = 0;
export function benchTxnId(): string {
  return `bench.${process.pid}.${Date.now()}.${++txnCounter}`;
}

/**
 * The raw path the bridge is compared with: one appservice `/send` as a ghost (as_token +
 * `user_id=`), optionally with a massaged timestamp like a backfill send.
 */
export async function appserviceSend(baseUrl: string, asToken: string, roomId: string, userId: string, content: Record<string, unknown>, ts?: number): Promise<string> {
  const path = `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${enc(benchTxnId())}`;
  const r = await matrixRequest<{ event_id: string }>(baseUrl, 'PUT', path, { token: asToken, query: { user_id: userId, ts }, body: content });
  return r.event_id;
}

/** A person's own client send (their access token), as Element would do it. */
export async function clientSend(baseUrl: string, token: string, roomId: string, content: Record<string, unknown>): Promise<string> {
  const path = `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${enc(benchTxnId())}`;
  return (await matrixRequest<{ event_id: string }>(baseUrl, 'PUT', path, { token, body: content })).event_id;
}

export async function createRoom(baseUrl: string, token: string, body: Record<string, unknown>): Promise<string> {
  return (await matrixRequest<{ room_id: string }>(baseUrl, 'POST', '/_matrix/client/v3/createRoom', { token, body })).room_id;
}

export async function joinedMembers(baseUrl: string, token: string, roomId: string): Promise<string[]> {
  const r = await matrixRequest<{ joined: Record<string, unknown> }>(baseUrl, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`, { token });
  return Object.keys(r.joined ?? {});
}

/** Bodies of the newest `limit` m.room.message events of a room, oldest first. */
export async function recentBodies(baseUrl: string, token: string, roomId: string, limit: number): Promise<string[]> {
  const r = await matrixRequest<{ chunk: Array<{ type: string; content: { body?: unknown } }> }>(
    baseUrl, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages`,
    { token, query: { dir: 'b', limit, filter: JSON.stringify({ types: ['m.room.message'] }) } },
  );
  return r.chunk.filter((e) => typeof e.content.body === 'string').map((e) => e.content.body as string).reverse();
}
