/** What every answer of a Tributary HTTP listener must look like, whatever was sent. */
import type { RawReply, RawRequest } from '../helpers/raw-http.js';

export interface StoreSnapshot {
  events: number;
  transactions: number;
  maxSeq: number;
}

/** Matrix errcodes: M_ plus capitals, or a namespaced one (FI.MAU.NOT_LOGGED_IN). */
const ERRCODE = /^(M_[A-Z_]+|[A-Z][A-Za-z0-9]*(\.[A-Za-z0-9_]+)+)$/;

/**
 * Problems with one answer: a 5xx, a status that is no status, a non-2xx answer that is not a
 * JSON object with a Matrix `errcode` and an `error` string, a 2xx answer that is not JSON.
 * A HEAD answer has no body, so only its Content-Type is checked; a 204 has neither.
 */
export function replyProblems(req: RawRequest, reply: RawReply): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(reply.status) || reply.status < 200 || reply.status > 599) problems.push(`status ${reply.status}`);
  if (reply.status >= 500) problems.push(`server error ${reply.status}`);
  if (reply.status === 204) return problems; // No Content (a CORS preflight): nothing to check
  const json = /^application\/json/.test(reply.headers['content-type'] ?? '');
  if (!json) problems.push(`content-type ${JSON.stringify(reply.headers['content-type'])}`);
  if (req.method === 'HEAD') return problems;
  let body: unknown;
  try {
    body = JSON.parse(reply.body.toString('utf8'));
  } catch {
    problems.push(`body is not JSON: ${JSON.stringify(reply.body.subarray(0, 200).toString('latin1'))}`);
    return problems;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    problems.push('body is not a JSON object');
    return problems;
  }
  if (reply.status >= 300) {
    const { errcode, error } = body as { errcode?: unknown; error?: unknown };
    if (typeof errcode !== 'string' || !ERRCODE.test(errcode)) problems.push(`errcode ${JSON.stringify(errcode)}`);
    if (typeof error !== 'string') problems.push('no error message');
  }
  return problems;
}
