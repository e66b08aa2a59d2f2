/**
 * The neutral formatted-text shape every network converter maps to and from its own markup.
 *
 * Offsets and lengths count UTF-16 code units of `text` (what JavaScript string indexes
 * count), so an emoji outside the BMP takes two. Entities may nest but never partially
 * overlap; `normalizeEntities` is the one place that enforces this for untrusted input.
 */

export type EntityType =
  | 'bold'
  | 'italic'
  | 'underline'
  | 'strikethrough'
  | 'code'
  | 'pre'
  | 'link'
  | 'mention'
  | 'room_mention'
  | 'blockquote'
  | 'spoiler';

export interface TextEntity {
  type: EntityType;
  offset: number;
  length: number;
  url?: string /* link */;
  userId?: string /* mention */;
  language?: string /* pre */;
}

export interface FormattedText {
  text: string;
  entities: TextEntity[];
}

export const ENTITY_TYPES: readonly EntityType[] = [
  'bold',
  'italic',
  'underline',
  'strikethrough',
  'code',
  'pre',
  'link',
  'mention',
  'room_mention',
  'blockquote',
  'spoiler',
];

const ENTITY_TYPE_SET: ReadonlySet<string> = new Set(ENTITY_TYPES);

export function isEntityType(value: unknown): value is EntityType {
  return typeof value === 'string' && ENTITY_TYPE_SET.has(value);
}

/** Unformatted text. */
export function plain(text: string): FormattedText {
  return { text, entities: [] };
}

/** Outer entities first: by offset ascending, then length descending; stable otherwise. */
export function compareEntities(a: TextEntity, b: TextEntity): number {
  return a.offset - b.offset || b.length - a.length;
}

/** A sorted copy (the input array is not modified). */
export function sortEntities(entities: readonly TextEntity[]): TextEntity[] {
  return [...entities].sort(compareEntities);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** True when a boundary at `index` would cut a surrogate pair in two. */
function splitsSurrogatePair(text: string, index: number): boolean {
  if (index <= 0 || index >= text.length) return false;
  return isHighSurrogate(text.charCodeAt(index - 1)) && isLowSurrogate(text.charCodeAt(index));
}

/** Range and type checks for one entity, ignoring its relation to the others. */
export function isValidEntity(text: string, e: TextEntity): boolean {
  if (typeof e !== 'object' || e === null || !isEntityType(e.type)) return false;
  const { offset, length } = e;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) return false;
  if (offset < 0 || length <= 0 || offset + length > text.length) return false;
  return !splitsSurrogatePair(text, offset) && !splitsSurrogatePair(text, offset + length);
}

/**
 * The well-formed subset of `entities`, sorted outer-first: invalid entities (bad type,
 * out of range, empty, cutting a surrogate pair) are dropped, and of two partially
 * overlapping entities the one that starts later is dropped. Never throws. Linear after
 * the sort: a stack holds the chain of entities enclosing the current position.
 */
export function normalizeEntities(text: string, entities: readonly TextEntity[]): TextEntity[] {
  if (!Array.isArray(entities)) return [];
  const candidates = entities.filter((e) => isValidEntity(text, e));
  candidates.sort(compareEntities);
  const out: TextEntity[] = [];
  const openEnds: number[] = [];
  for (const e of candidates) {
    const end = e.offset + e.length;
    while (openEnds.length > 0 && (openEnds[openEnds.length - 1] ?? 0) <= e.offset) openEnds.pop();
    const enclosingEnd = openEnds[openEnds.length - 1];
    if (enclosingEnd !== undefined && enclosingEnd < end) continue; // partial overlap
    openEnds.push(end);
    out.push(e);
  }
  return out;
}

/** True when every entity is valid and no two partially overlap. */
export function isWellFormed(ft: FormattedText): boolean {
  if (typeof ft?.text !== 'string' || !Array.isArray(ft.entities)) return false;
  return normalizeEntities(ft.text, ft.entities).length === ft.entities.length;
}
