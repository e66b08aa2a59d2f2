import { z } from 'zod';

/**
 * Reading a zod (v4) schema's structure: used by the env overrides (which keys exist) and the
 * example renderer (descriptions, nesting). Only what those two need: objects, records and
 * leaves, seen through default/prefault/optional/nullable/readonly/catch/pipe wrappers.
 */

type AnySchema = z.core.$ZodType;

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

interface WrapperDef { type: string; innerType?: AnySchema; in?: AnySchema }

function defOf(schema: AnySchema): WrapperDef {
  return schema._zod.def as unknown as WrapperDef;
}

/** The schema itself, then each schema it wraps, outermost first. */
export function unwrapChain(schema: AnySchema): AnySchema[] {
  const chain: AnySchema[] = [schema];
  let current = schema;
  for (;;) {
    const def = defOf(current);
    const next = WRAPPERS.has(def.type) ? def.innerType : def.type === 'pipe' ? def.in : undefined;
    if (!next) return chain;
    chain.push(next);
    current = next;
  }
}

/** The innermost schema: what the value actually is. */
export function unwrap(schema: AnySchema): AnySchema {
  const chain = unwrapChain(schema);
  return chain[chain.length - 1] ?? schema;
}

export interface FieldMeta {
  description?: string;
  /** Example lines rendered as comments inside a map (e.g. permission entries). */
  commented?: string[];
  /** A value to show in the example when the field has no default. */
  example?: unknown;
}

/** Description and example hints, taken from the first schema in the chain that has them. */
export function metaOf(schema: AnySchema): FieldMeta {
  const out: FieldMeta = {};
  for (const s of unwrapChain(schema)) {
    const meta = z.globalRegistry.get(s) as Record<string, unknown> | undefined;
    if (!meta) continue;
    if (out.description === undefined && typeof meta.description === 'string') out.description = meta.description;
    if (out.commented === undefined && Array.isArray(meta.commented)) out.commented = meta.commented.map(String);
    if (out.example === undefined && 'example' in meta) out.example = meta.example;
  }
  return out;
}

export function kindOf(schema: AnySchema): string {
  return defOf(unwrap(schema)).type;
}

/** The fields of an object schema (after unwrapping), or undefined for anything else. */
export function objectShape(schema: AnySchema): Record<string, AnySchema> | undefined {
  const inner = unwrap(schema);
  if (defOf(inner).type !== 'object') return undefined;
  return (inner._zod.def as unknown as { shape: Record<string, AnySchema> }).shape;
}

/** The value schema of a record (after unwrapping), or undefined for anything else. */
export function recordValue(schema: AnySchema): AnySchema | undefined {
  const inner = unwrap(schema);
  if (defOf(inner).type !== 'record') return undefined;
  return (inner._zod.def as unknown as { valueType: AnySchema }).valueType;
}

/** True when a value of this schema is written as text (so env values stay raw strings). */
export function isStringLike(schema: AnySchema): boolean {
  const inner = unwrap(schema);
  const type = defOf(inner).type;
  if (type === 'string') return true;
  if (type === 'enum') {
    const entries = (inner._zod.def as unknown as { entries: Record<string, unknown> }).entries;
    return Object.values(entries).every((v) => typeof v === 'string');
  }
  if (type === 'literal') {
    const values = (inner._zod.def as unknown as { values: unknown[] }).values;
    return values.every((v) => typeof v === 'string');
  }
  return false;
}

/**
 * The value a schema gives when its key is absent. For an object whose parse of `{}` fails
 * (a connector field without a default), the defaults of the fields that have one.
 */
export function defaultsOf(schema: AnySchema): { ok: boolean; value: unknown } {
  const whole = z.safeParse(schema, undefined);
  if (whole.success) return { ok: true, value: whole.data };
  const shape = objectShape(schema);
  if (!shape) return { ok: false, value: undefined };
  const empty = z.safeParse(schema, {});
  if (empty.success) return { ok: true, value: empty.data };
  const value: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape)) {
    const d = defaultsOf(field);
    if (d.ok || d.value !== undefined) value[key] = d.value;
  }
  return { ok: false, value };
}
