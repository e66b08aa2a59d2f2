import type { z } from 'zod';
import type { ConfigProblem } from './errors.js';

/**
 * Turning zod issues into "<path>: expected X, got Y" lines. `configErrorMap` is passed per
 * parse (never installed globally: other code in the process may use zod too) and words the
 * "expected" half where a schema did not give its own message; `toProblems` adds the path
 * and what was found.
 */

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

const TYPE_NAMES: Record<string, string> = {
  string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false',
  object: 'a mapping', array: 'a list', record: 'a mapping', bigint: 'a number', null: 'null',
};

export const configErrorMap: z.core.$ZodErrorMap = (iss: RawIssue) => {
  switch (iss.code) {
    case 'invalid_type': return `expected ${TYPE_NAMES[iss.expected] ?? iss.expected}`;
    case 'too_small':
      if (iss.origin === 'string') return `expected at least ${String(iss.minimum)} characters`;
      if (iss.origin === 'array') return `expected at least ${String(iss.minimum)} items`;
      return `expected a number ${iss.inclusive === false ? '>' : '>='} ${String(iss.minimum)}`;
    case 'too_big':
      if (iss.origin === 'string') return `expected at most ${String(iss.maximum)} characters`;
      if (iss.origin === 'array') return `expected at most ${String(iss.maximum)} items`;
      return `expected a number ${iss.inclusive === false ? '<' : '<='} ${String(iss.maximum)}`;
    case 'invalid_value': return `expected ${iss.values.length === 1 ? '' : 'one of '}${iss.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format': return iss.format === 'regex' ? `expected text matching ${String(iss.pattern)}` : `expected a valid ${iss.format}`;
    case 'unrecognized_keys': return 'unknown key';
    default: return undefined;
  }
};

/** How a found value reads in a message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** `appservice.port`, `permissions["@admin:example.org"]`, `network.accounts[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out || '(top level)';
}

function withInput(message: string, issue: Issue): string {
  if (!('input' in issue)) return message;
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
  return `${message}, got ${describeValue(issue.input)}`;
}

/** One problem per issue (one per key for unknown keys), paths as the YAML would spell them. */
export function toProblems(issues: readonly Issue[], notes?: Map<string, string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: readonly PropertyKey[], message: string) => {
    const formatted = formatPath(path);
    const note = notes?.get(formatted);
    problems.push({ path: formatted, message: note ? `${message} (${note})` : message });
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add([...issue.path, key], 'unknown key');
    } else if (issue.code === 'invalid_key') {
      // A record key (e.g. a permissions entry) failed its own schema; report its reason.
      const reason = issue.issues[0]?.message ?? issue.message;
      add(issue.path, `invalid key: ${reason}`);
    } else {
      add(issue.path, withInput(issue.message, issue));
    }
  }
  return problems;
}
