/**
 * A LightSpeed response (facts): `{request_id, payload, sp, target}`, where `payload` is a JSON
 * string `{name, step}` holding the step program and `sp` names the stored procedures it uses.
 */
import { runSteps, type LSStepResult, type StepOptions } from './steps.js';
import { DEFAULT_STEP_LIMITS } from './steps.js';
import { LSStepError } from './values.js';

export interface LSResponse {
  requestId: number | undefined;
  /** Stored procedure names the server declared. */
  sp: string[];
  target: number | undefined;
  /** The payload's `name` (which query or push produced it), when present. */
  name: string | undefined;
  result: LSStepResult;
}

function parseJSON(text: string, what: string, maxChars: number): unknown {
  if (text.length > maxChars) throw new LSStepError('too-large', `${what} is longer than ${maxChars} characters`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new LSStepError('bad-json', `${what} is not JSON`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a response (the data of a one-off stream, or a push) and runs its program. */
export function parseLSResponse(data: Uint8Array | string, opts: StepOptions = {}): LSResponse {
  const maxChars = opts.limits?.maxChars ?? DEFAULT_STEP_LIMITS.maxChars;
  let text: string;
  if (typeof data === 'string') text = data;
  else {
    if (data.length > maxChars * 4) throw new LSStepError('too-large', 'response is too large');
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      throw new LSStepError('bad-json', 'response is not UTF-8');
    }
  }
  const outer = parseJSON(text, 'response', maxChars);
  if (!isObject(outer)) throw new LSStepError('bad-json', 'response is not a JSON object');
  const { request_id: requestId, payload, sp, target } = outer;
  if (requestId !== undefined && (typeof requestId !== 'number' || !Number.isInteger(requestId))) throw new LSStepError('bad-json', 'response request_id is not an integer');
  if (typeof payload !== 'string') throw new LSStepError('bad-json', 'response payload is not a string');
  if (sp !== undefined && (!Array.isArray(sp) || !sp.every((s) => typeof s === 'string'))) throw new LSStepError('bad-json', 'response sp is not a list of names');
  if (target !== undefined && typeof target !== 'number') throw new LSStepError('bad-json', 'response target is not a number');
  const inner = parseJSON(payload, 'response payload', maxChars);
  if (!isObject(inner)) throw new LSStepError('bad-json', 'response payload is not a JSON object');
  // Pages and pushes write `"name":null` when there is no name.
  if (inner.name !== undefined && inner.name !== null && typeof inner.name !== 'string') throw new LSStepError('bad-json', 'payload name is not a string');
  if (!('step' in inner)) throw new LSStepError('bad-json', 'payload has no step program');
  return {
    requestId,
    sp: (sp as string[] | undefined) ?? [],
    target,
    name: inner.name ?? undefined,
    result: runSteps(inner.step, opts),
  };
}
