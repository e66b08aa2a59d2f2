/**
 * Checks provisioning API responses against docs/provisioning.openapi.yaml: finds the operation by
 * method and path template, the response by status (exact, then `4XX`/`5XX`), and validates the
 * JSON body with ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses). A path or method the file does not
 * list is checked against its `x-unknown-endpoint` response. Any mismatch throws with the details.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';

const SPEC_PATH = resolve(import.meta.dirname, '../../docs/provisioning.openapi.yaml');
const SPEC_ID = 'provisioning.openapi.json';

// Both are CommonJS modules; under NodeNext their default import is the module object, whose
// `default` is the class / function.
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

type Json = Record<string, unknown>;

export interface CheckedResponse {
  method: string;
  /** The request path with or without the query, including the server prefix. */
  path: string;
  status: number;
  contentType: string | null;
  body: unknown;
}

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

export class OpenApiSpec {
  readonly doc: Json;
  readonly basePath: string;
  private readonly ajv: InstanceType<typeof Ajv2020>;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly templates: Array<{ template: string; re: RegExp; literals: number }>;

  constructor(file = SPEC_PATH) {
    this.doc = parse(readFileSync(file, 'utf8')) as Json;
    const server = ((this.doc.servers as Json[])[0]!.url as string);
    this.basePath = new URL(server).pathname.replace(/\/$/, '');
    // Strict about schema keywords (a typo in the file fails), not about OpenAPI's untyped branches.
    this.ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, validateFormats: true });
    addFormats(this.ajv);
    // The document is added whole (its $refs are document-relative); its OpenAPI-level keys are
    // declared so ajv accepts the root, and only the fragments we point into are validated against.
    this.ajv.addVocabulary(Object.keys(this.doc).filter((k) => !['$id', '$schema'].includes(k)));
    this.ajv.addSchema({ ...this.doc, $id: SPEC_ID }, undefined, undefined, false);
    this.templates = Object.keys(this.doc.paths as Json).map((template) => {
      const parts = template.split('/');
      const re = new RegExp(`^${parts.map((p) => (p.startsWith('{') ? '[^/]+' : p.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('/')}$`);
      return { template, re, literals: parts.filter((p) => p && !p.startsWith('{')).length };
    });
  }

  /** Every method + path template the file documents. */
  operations(): Array<{ method: string; path: string }> {
    const out: Array<{ method: string; path: string }> = [];
    for (const [path, item] of Object.entries(this.doc.paths as Json)) {
      for (const method of Object.keys(item as Json)) out.push({ method: method.toUpperCase(), path });
    }
    return out;
  }

  /** Compiles the schema of every documented response, so a broken schema fails one test, not a random one. */
  compileAll(): number {
    let n = 0;
    const responses = (this.doc.components as Json).responses as Json;
    for (const name of Object.keys(responses)) {
      this.validator(`/components/responses/${escapePointer(name)}/content/application~1json/schema`);
      n++;
    }
    for (const [path, item] of Object.entries(this.doc.paths as Json)) {
      for (const [method, op] of Object.entries(item as Json)) {
        for (const [code, entry] of Object.entries((op as Json).responses as Json)) {
          if ((entry as Json).$ref) continue;
          this.validator(`/paths/${escapePointer(path)}/${method}/responses/${escapePointer(code)}/content/application~1json/schema`);
          n++;
        }
      }
    }
    return n;
  }

  /** The documented path template for a concrete path below the base path, if any. */
  templateFor(method: string, relPath: string): string | undefined {
    const hits = this.templates
      .filter((t) => t.re.test(relPath) && (this.doc.paths as Json)[t.template] && ((this.doc.paths as Json)[t.template] as Json)[method.toLowerCase()])
      .sort((a, b) => b.literals - a.literals);
    return hits[0]?.template;
  }

  /** Throws unless the response is documented and its body matches the documented schema. */
  check(r: CheckedResponse): void {
    const where = `${r.method} ${r.path} → ${r.status}`;
    if (!/^application\/json\b/.test(r.contentType ?? '')) throw new Error(`${where}: content type ${r.contentType}, expected application/json`);
    const path = r.path.split('?')[0]!;
    if (!path.startsWith(`${this.basePath}/`)) throw new Error(`${where}: not below ${this.basePath}`);
    const rel = path.slice(this.basePath.length);
    const template = this.templateFor(r.method, rel);
    let pointer: string;
    if (!template) {
      if (r.status !== 404 && r.status !== 405) throw new Error(`${where}: undocumented endpoint answered ${r.status}`);
      pointer = this.responsePointer((this.doc['x-unknown-endpoint'] as Json).$ref as string);
    } else {
      const base = `/paths/${escapePointer(template)}/${r.method.toLowerCase()}/responses`;
      const responses = (((this.doc.paths as Json)[template] as Json)[r.method.toLowerCase()] as Json).responses as Json;
      const key = [String(r.status), `${String(r.status)[0]}XX`, 'default'].find((k) => k in responses);
      if (!key) throw new Error(`${where}: status not documented for ${r.method} ${template} (documented: ${Object.keys(responses).join(', ')})`);
      const entry = responses[key] as Json;
      pointer = typeof entry.$ref === 'string' ? this.responsePointer(entry.$ref) : `${base}/${escapePointer(key)}/content/application~1json/schema`;
    }
    const validate = this.validator(pointer);
    if (!validate(r.body)) {
      throw new Error(`${where}: body does not match ${pointer}:\n${this.ajv.errorsText(validate.errors, { separator: '\n' })}\nbody: ${JSON.stringify(r.body).slice(0, 2000)}`);
    }
  }

  private responsePointer(ref: string): string {
    if (!ref.startsWith('#/components/responses/')) throw new Error(`unexpected response $ref ${ref}`);
    return `${ref.slice(1)}/content/application~1json/schema`;
  }

  private validator(pointer: string): ValidateFunction {
    const cached = this.validators.get(pointer);
    if (cached) return cached;
    const v = this.ajv.compile({ $ref: `${SPEC_ID}#${pointer}` });
    this.validators.set(pointer, v);
    return v;
  }
}

let shared: OpenApiSpec | undefined;

/** The spec, loaded once per test process. */
export function provisioningSpec(): OpenApiSpec {
  return (shared ??= new OpenApiSpec());
}

export interface ApiReply<T = Json> {
  status: number;
  body: T;
}

/**
 * Calls the provisioning API and validates the answer against the spec before returning it.
 * `body` is sent as JSON unless it is a string (sent as is, for malformed-JSON tests).
 */
export async function callProvisioning<T = Json>(
  baseUrl: string, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiReply<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let payload: string | undefined;
  if (opts.body !== undefined) {
    payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path} → ${res.status}: body is not JSON: ${text.slice(0, 200)}`);
  }
  provisioningSpec().check({ method, path, status: res.status, contentType: res.headers.get('content-type'), body });
  return { status: res.status, body: body as T };
}
