import { stringify } from 'yaml';
import type { z } from 'zod';
import { defaultsOf, kindOf, metaOf, objectShape, recordValue } from './walk.js';

/**
 * The example config: every key with its default, each description as a `#` comment above
 * it. Written by walking the schema (for order and comments) beside the parsed defaults (for
 * values), so the file always re-parses to exactly the defaults. Deterministic: same schema,
 * same text.
 */

type AnySchema = z.core.$ZodType;

export interface ExampleOptions {
  /** Comment lines at the top of the file (without `#`). */
  header?: string[];
}

/** A scalar, list or small mapping on one line, quoted where YAML needs it. */
function inline(value: unknown): string {
  if (typeof value === 'string' && /[\n\r]/.test(value)) return JSON.stringify(value);
  const isCollection = typeof value === 'object' && value !== null;
  return stringify(value, { lineWidth: 0, collectionStyle: isCollection ? 'flow' : 'any' }).trimEnd();
}

function key(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(name) ? name : inline(name);
}

function comment(lines: string[], indent: string, text: string): void {
  for (const line of text.split('\n')) lines.push(line ? `${indent}# ${line}` : `${indent}#`);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function renderField(lines: string[], indent: string, name: string, field: AnySchema, value: unknown, present: boolean): void {
  const meta = metaOf(field);
  if (meta.description) comment(lines, indent, meta.description);
  const shape = objectShape(field);
  const valueSchema = recordValue(field);
  if (!present) {
    // No default: a required field shows its example (or null) for the operator to fill in;
    // an optional one is shown commented out.
    const optional = field._zod.optin === 'optional';
    lines.push(`${indent}${optional ? '# ' : ''}${key(name)}: ${inline(meta.example ?? null)}`);
    return;
  }
  if (shape && isMapping(value)) {
    if (Object.keys(shape).length === 0) {
      lines.push(`${indent}${key(name)}: {}`);
      return;
    }
    lines.push(`${indent}${key(name)}:`);
    renderObject(lines, `${indent}  `, shape, value, false);
    return;
  }
  if (valueSchema && isMapping(value)) {
    const entries = Object.entries(value);
    lines.push(entries.length === 0 ? `${indent}${key(name)}: {}` : `${indent}${key(name)}:`);
    for (const [k, v] of entries) renderField(lines, `${indent}  `, k, valueSchema, v, true);
    for (const hint of meta.commented ?? []) lines.push(`${indent}  # ${hint}`);
    return;
  }
  lines.push(`${indent}${key(name)}: ${inline(value)}`);
}

function renderObject(lines: string[], indent: string, shape: Record<string, AnySchema>, value: Record<string, unknown>, topLevel: boolean): void {
  let first = true;
  for (const [name, field] of Object.entries(shape)) {
    if (topLevel && !first) lines.push('');
    first = false;
    renderField(lines, indent, name, field, value[name], name in value && value[name] !== undefined);
  }
}

/** The example YAML for a full config schema (from makeConfigSchema). */
export function renderExampleConfig(schema: AnySchema, opts: ExampleOptions = {}): string {
  const shape = objectShape(schema);
  if (!shape || kindOf(schema) !== 'object') throw new Error('renderExampleConfig needs an object schema');
  const defaults = defaultsOf(schema).value;
  const lines: string[] = [];
  for (const line of opts.header ?? []) lines.push(line ? `# ${line}` : '#');
  if (lines.length > 0) lines.push('');
  renderObject(lines, '', shape, isMapping(defaults) ? defaults : {}, true);
  return `${lines.join('\n')}\n`;
}
