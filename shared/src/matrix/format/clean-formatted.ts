/**
 * cleanText for FormattedText: control characters removed and lone surrogates replaced, with
 * entity offsets moved to match. For converters writing network markup from text that did not
 * go through htmlToFormatted (a plain `body`, a network's own text).
 */
import type { FormattedText, TextEntity } from './formatted-text.js';
import { cleanText, isUnwantedControl } from './text-clean.js';

/**
 * The same text without the characters cleanText removes, entities shifted accordingly (one that
 * covered only removed characters ends up empty and is dropped). Returns `ft` itself when the
 * text is already clean. Entities are otherwise passed on as they are: normalise them after.
 */
export function cleanFormattedText(ft: FormattedText): FormattedText {
  const text = typeof ft?.text === 'string' ? ft.text : '';
  const entities = Array.isArray(ft?.entities) ? ft.entities : [];
  const cleaned = cleanText(text);
  if (cleaned === text) return ft;
  // cleanText removes unwanted controls and replaces lone surrogates one for one, so a kept
  // code unit moves back by the number of controls before it.
  const removedBefore = new Uint32Array(text.length + 1);
  let removed = 0;
  for (let i = 0; i < text.length; i++) {
    removedBefore[i] = removed;
    if (isUnwantedControl(text.charCodeAt(i))) removed++;
  }
  removedBefore[text.length] = removed;
  const at = (p: number): number => p - (removedBefore[Math.max(0, Math.min(text.length, p))] ?? 0);
  const out: TextEntity[] = [];
  for (const e of entities) {
    if (typeof e !== 'object' || e === null || !Number.isSafeInteger(e.offset) || !Number.isSafeInteger(e.length)) continue;
    const offset = at(e.offset);
    const length = at(e.offset + e.length) - offset;
    if (length > 0) out.push({ ...e, offset, length });
  }
  return { text: cleaned, entities: out };
}
