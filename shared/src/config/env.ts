import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import type { ConfigProblem } from './errors.js';
import { formatPath } from './issues.js';
import { objectShape, recordValue, isStringLike } from './walk.js';

/**
 * Environment overrides: `TRIBUTARY_APPSERVICE__PORT=29333` sets `appservice.port`.
 * `__` separates path parts; parts match schema keys case-insensitively; record entries
 * (permissions) take the part as written. Values are read as YAML scalars (`true`, `42`)
 * unless the target is a string field, which keeps the text as is. A name under the prefix
 * that matches no key is a problem, so a typo cannot silently do nothing.
 */

export const ENV_PREFIX = 'TRIBUTARY_';

/**
 * Names under the prefix that are not config overrides. TRIBUTARY_LOG_LEVEL is read by
 * logging.ts before any config is loaded.
 */
export const RESERVED_ENV_NAMES: ReadonlySet<string> = new Set(['TRIBUTARY_LOG_LEVEL']);

export interface EnvOverride {
  name: string;
  path: string[];
  value: unknown;
}

/** Resolves one variable name to a schema path, or a problem naming the variable. */
function resolvePath(schema: z.core.$ZodType, name: string): { path: string[]; leaf: z.core.$ZodType } | ConfigProblem {
  const parts = name.slice(ENV_PREFIX.length).split('__');
  const path: string[] = [];
  let current = schema;
  for (const part of parts) {
    if (part === '') return { path: name, message: 'empty path part (use "__" only between keys)' };
    const shape = objectShape(current);
    const valueSchema = recordValue(current);
    if (shape) {
      const key = Object.keys(shape).find((k) => k.toLowerCase() === part.toLowerCase());
      const field = key === undefined ? undefined : shape[key];
      if (key === undefined || field === undefined) {
        const at = path.length ? `${formatPath(path)}.${part.toLowerCase()}` : part.toLowerCase();
        return { path: name, message: `unknown config key "${at}"` };
      }
      path.push(key);
      current = field;
    } else if (valueSchema) {
      path.push(part);
      current = valueSchema;
    } else {
      return { path: name, message: `"${formatPath(path)}" has no key "${part.toLowerCase()}"` };
    }
  }
  return { path, leaf: current };
}

function readValue(leaf: z.core.$ZodType, text: string): unknown {
  if (isStringLike(leaf)) return text;
  try {
    return parseYaml(text) as unknown;
  } catch {
    return text;
  }
}

/** Every TRIBUTARY_* variable as an override, in name order, plus the problems found. */
export function collectEnvOverrides(schema: z.core.$ZodType, env: NodeJS.ProcessEnv): { overrides: EnvOverride[]; problems: ConfigProblem[] } {
  const overrides: EnvOverride[] = [];
  const problems: ConfigProblem[] = [];
  const names = Object.keys(env).filter((n) => n.startsWith(ENV_PREFIX) && !RESERVED_ENV_NAMES.has(n)).sort();
  for (const name of names) {
    const text = env[name];
    if (text === undefined) continue;
    const resolved = resolvePath(schema, name);
    // A variable without a section separator that names no top-level key belongs to something
    // else (tooling such as TRIBUTARY_CACHE); only section paths are held to the schema.
    if ('message' in resolved && !name.slice(ENV_PREFIX.length).includes('__')) continue;
    if ('message' in resolved) problems.push(resolved);
    else overrides.push({ name, path: resolved.path, value: readValue(resolved.leaf, text) });
  }
  return { overrides, problems };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Applies overrides to a copy of the raw config. Returns the copy, problems (a parent that is
 * set but is not a mapping), and which formatted path each variable set, for error notes.
 */
export function applyEnvOverrides(raw: unknown, overrides: readonly EnvOverride[]): { value: unknown; problems: ConfigProblem[]; sources: Map<string, string> } {
  const problems: ConfigProblem[] = [];
  const sources = new Map<string, string>();
  if (overrides.length === 0) return { value: raw, problems, sources };
  if (raw !== undefined && raw !== null && !isMapping(raw)) return { value: raw, problems, sources };
  const root: Record<string, unknown> = raw ? structuredClone(raw) : {};
  for (const { name, path, value } of overrides) {
    let target = root;
    let ok = true;
    for (const [i, key] of path.entries()) {
      if (i === path.length - 1) break;
      const next = target[key];
      if (next === undefined || next === null) {
        const created: Record<string, unknown> = {};
        target[key] = created;
        target = created;
      } else if (isMapping(next)) {
        target = next;
      } else {
        problems.push({ path: name, message: `cannot set ${formatPath(path)}: ${formatPath(path.slice(0, i + 1))} is not a mapping` });
        ok = false;
        break;
      }
    }
    const last = path[path.length - 1];
    if (!ok || last === undefined) continue;
    target[last] = value;
    sources.set(formatPath(path), `from ${name}`);
  }
  return { value: root, problems, sources };
}
