/**
 * The provisioning API's routes: method + path template (`/login/start/{flowID}`), matched per
 * segment with percent-decoding, and the request context handlers get.
 */
import type { IncomingMessage } from 'node:http';
import { readBody } from '../matrix/http-util.js';
import { ApiError } from './errors.js';
import type { Authenticated } from './auth.js';

export interface RequestContext {
  req: IncomingMessage;
  url: URL;
  caller: Authenticated;
  /** Decoded path parameters by template name. */
  params: Record<string, string>;
  /** The JSON body: undefined when the request has none. Read lazily, capped. */
  body(): Promise<unknown>;
}

export interface Reply {
  status: number;
  body: unknown;
}

export interface Route {
  method: 'GET' | 'POST';
  /** Relative to `<prefix>/v3`, e.g. `/login/start/{flowID}`. */
  path: string;
  handler(ctx: RequestContext): Promise<Reply>;
}

export type RouteMatch = { route: Route; params: Record<string, string> } | { methodNotAllowed: true } | undefined;

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ApiError(400, 'M_INVALID_PARAM', 'Malformed percent-encoding in the path');
  }
}

export class Router {
  private readonly compiled: Array<{ route: Route; segments: string[] }>;

  constructor(readonly routes: Route[]) {
    this.compiled = routes.map((route) => ({ route, segments: route.path.split('/').slice(1) }));
  }

  /** Matches a path below `<prefix>/v3` (starting with "/"). Literal segments win over parameters. */
  match(method: string, path: string): RouteMatch {
    const parts = path.split('/').slice(1);
    let best: { route: Route; params: Record<string, string>; literals: number } | undefined;
    let pathKnown = false;
    for (const { route, segments } of this.compiled) {
      if (segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let literals = 0;
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const seg = segments[i]!;
        const part = parts[i]!;
        if (seg.startsWith('{')) {
          if (!part) ok = false;
          else params[seg.slice(1, -1)] = part;
        } else if (seg === part) {
          literals++;
        } else {
          ok = false;
        }
      }
      if (!ok) continue;
      pathKnown = true;
      if (route.method !== method) continue;
      if (!best || literals > best.literals) best = { route, params, literals };
    }
    if (best) {
      const params = Object.fromEntries(Object.entries(best.params).map(([k, v]) => [k, decodeSegment(v)]));
      return { route: best.route, params };
    }
    return pathKnown ? { methodNotAllowed: true } : undefined;
  }
}

/** Reads a JSON body of any type (undefined when empty); 413 past `maxBytes`, M_NOT_JSON when unparsable. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const buf = await readBody(req, maxBytes);
  const text = buf.toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'M_NOT_JSON', 'The request body is not valid JSON');
  }
}
