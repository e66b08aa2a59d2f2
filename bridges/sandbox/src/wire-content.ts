/**
 * Message content on the sandbox wire: formatted text, the content kinds, and their zod schemas.
 * Re-exported by wire.ts, which is where callers import them from.
 */
import { z } from 'zod';
import { LIMITS } from './wire-limits.js';

// ---------------------------------------------------------------------------------------------
// Formatted text (shape fixed by the core's converters)

export type EntityType = 'bold' | 'italic' | 'underline' | 'strikethrough' | 'code' | 'pre' | 'link' | 'mention' | 'room_mention' | 'blockquote' | 'spoiler';
export interface TextEntity { type: EntityType; offset: number; length: number; url?: string; userId?: string /* network account id for mentions */; language?: string; }
export interface FormattedText { text: string; entities: TextEntity[]; }

export const textEntitySchema = z.object({
  type: z.enum(['bold', 'italic', 'underline', 'strikethrough', 'code', 'pre', 'link', 'mention', 'room_mention', 'blockquote', 'spoiler']),
  offset: z.number().int().min(0),
  length: z.number().int().min(1),
  url: z.string().max(4096).optional(),
  userId: z.string().max(LIMITS.idLength).optional(),
  language: z.string().max(64).optional(),
});

export const formattedTextSchema = z.object({
  text: z.string().max(LIMITS.textLength),
  entities: z.array(textEntitySchema).max(LIMITS.entities),
}).refine((f) => f.entities.every((e) => e.offset + e.length <= f.text.length), {
  message: 'entity outside the text', path: ['entities'],
});

// ---------------------------------------------------------------------------------------------
// Message content

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type MediaKind = 'image' | 'video' | 'audio' | 'file';
export interface TextContent extends FormattedText { kind: 'text'; }
export interface NoticeContent extends FormattedText { kind: 'notice'; }
export interface MediaContent {
  kind: MediaKind;
  media_id: string;
  mimetype: string;
  size: number;
  filename?: string;
  caption?: FormattedText;
  width?: number;
  height?: number;
  duration_ms?: number;
}
export interface LocationContent { kind: 'location'; lat: number; lon: number; name?: string; }
/**
 * Content only one real network has (WhatsApp polls, contact cards, live locations, view-once
 * ...), for emulated network clients built on the sandbox. The sandbox stores and relays
 * `payload` without reading it; anything that does not know `network` shows `fallback`.
 */
export interface ExtensionContent { kind: 'extension'; network: string; payload: JsonObject; fallback: string; }
export type MessageContent = TextContent | NoticeContent | MediaContent | LocationContent | ExtensionContent;

export const EXTENSION_NETWORK_RE = /^[a-z0-9_-]{1,32}$/;

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Why `v` is not JSON (null when it is), walking at most `extensionPayloadDepth` levels deep. */
function jsonProblem(v: unknown, path: string, depth: number): string | null {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : `${path} is not a finite number`;
  if (typeof v !== 'object' || !(Array.isArray(v) || isPlainObject(v))) return `${path} is not a JSON value (${typeof v})`;
  if (depth >= LIMITS.extensionPayloadDepth) return `payload nests deeper than ${LIMITS.extensionPayloadDepth} levels`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = jsonProblem(v[i], `${path}[${i}]`, depth + 1);
      if (p) return p;
    }
    return null;
  }
  for (const [k, x] of Object.entries(v)) {
    const p = jsonProblem(x, `${path}.${k}`, depth + 1);
    if (p) return p;
  }
  return null;
}

/** Why an extension payload is refused (null when it is fine): a plain JSON object of ≤ 64 KiB. */
export function extensionPayloadProblem(payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || !isPlainObject(payload)) {
    return 'payload must be a JSON object';
  }
  const problem = jsonProblem(payload, 'payload', 0);
  if (problem) return problem;
  const bytes = Buffer.byteLength(JSON.stringify(payload), 'utf8');
  if (bytes > LIMITS.extensionPayloadBytes) return `payload is ${bytes} bytes as JSON; the limit is ${LIMITS.extensionPayloadBytes}`;
  return null;
}

/** The same checks as the schema, for content that did not come through one (in-process callers). */
export function extensionContentProblem(c: ExtensionContent): string | null {
  if (typeof c.network !== 'string' || !EXTENSION_NETWORK_RE.test(c.network)) return 'network must match ^[a-z0-9_-]{1,32}$';
  if (typeof c.fallback !== 'string' || c.fallback.trim() === '' || c.fallback.length > LIMITS.textLength) {
    return `fallback must be 1-${LIMITS.textLength} characters, not blank`;
  }
  return extensionPayloadProblem(c.payload);
}

const textLike = <K extends 'text' | 'notice'>(kind: K) => z.object({
  kind: z.literal(kind),
  text: z.string().max(LIMITS.textLength),
  entities: z.array(textEntitySchema).max(LIMITS.entities),
}).refine((f) => f.entities.every((e) => e.offset + e.length <= f.text.length), {
  message: 'entity outside the text', path: ['entities'],
});

export const mediaContentSchema = z.object({
  kind: z.enum(['image', 'video', 'audio', 'file']),
  media_id: z.string().min(1).max(LIMITS.idLength),
  mimetype: z.string().min(1).max(255),
  size: z.number().int().min(0),
  filename: z.string().max(255).optional(),
  caption: formattedTextSchema.optional(),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  duration_ms: z.number().int().min(0).optional(),
});

// The payload passes through unchanged (not rebuilt by zod): it is checked, never interpreted.
const extensionPayloadSchema = z.unknown().superRefine((v, ctx) => {
  const problem = extensionPayloadProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}) as unknown as z.ZodType<JsonObject>;

/** Extension content without `kind`: the control API's `extension` field. */
export const extensionFieldsSchema = z.object({
  network: z.string().regex(EXTENSION_NETWORK_RE, 'network must match ^[a-z0-9_-]{1,32}$'),
  payload: extensionPayloadSchema,
  fallback: z.string().min(1).max(LIMITS.textLength).refine((s) => s.trim() !== '', 'fallback must not be blank'),
});
export const extensionContentSchema = extensionFieldsSchema.extend({ kind: z.literal('extension') });

export const messageContentSchema: z.ZodType<MessageContent> = z.union([
  textLike('text'),
  textLike('notice'),
  mediaContentSchema,
  z.object({ kind: z.literal('location'), lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180), name: z.string().max(LIMITS.nameLength).optional() }),
  extensionContentSchema,
]);
