/**
 * Meta's mention columns. A message row carries its mentions as four comma-separated lists of
 * the same length (facts): UTF-16 offsets, UTF-16 lengths, user ids, and types (`p` a person,
 * `s` a silent person mention, `t` the whole thread). The converters turn them into the core's
 * `mention` / `room_mention` entities and back.
 */
import type { TextEntity } from '@tributary/core/matrix/format/index';
import { makeMetaUserId } from './meta-ids.js';

export type MetaMentionType = 'p' | 's' | 't';

export interface MetaMention {
  offset: number;
  length: number;
  /** A decimal user id (for `t`, the thread's). */
  userId: string;
  type: MetaMentionType;
}

export interface MetaMentionColumns {
  mentionOffsets?: string;
  mentionLengths?: string;
  mentionIds?: string;
  mentionTypes?: string;
}

/** Meta allows no more mentions than this in one message; more is noise. */
const MAX_MENTIONS = 100;

function split(list: string | undefined): string[] {
  if (typeof list !== 'string' || list.trim() === '') return [];
  return list.split(',', MAX_MENTIONS + 1).map((s) => s.trim());
}

function nat(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,9}$/.test(s)) return undefined;
  return Number(s);
}

/**
 * The well-formed mentions of a row, sorted by offset, inside `textLength` and not overlapping
 * each other. A malformed entry is skipped, never guessed at; a missing type means a person.
 */
export function parseMetaMentions(cols: MetaMentionColumns, textLength: number): MetaMention[] {
  const offsets = split(cols.mentionOffsets);
  const lengths = split(cols.mentionLengths);
  const ids = split(cols.mentionIds);
  const types = split(cols.mentionTypes);
  const found: MetaMention[] = [];
  for (let i = 0; i < Math.min(offsets.length, lengths.length, ids.length, MAX_MENTIONS); i++) {
    const offset = nat(offsets[i]);
    const length = nat(lengths[i]);
    const userId = ids[i] ?? '';
    const rawType = types[i] || 'p';
    if (offset === undefined || length === undefined || length === 0 || !/^\d{1,19}$/.test(userId)) continue;
    if (rawType !== 'p' && rawType !== 's' && rawType !== 't') continue;
    if (offset >= textLength) continue;
    found.push({ offset, length: Math.min(length, textLength - offset), userId, type: rawType });
  }
  found.sort((a, b) => a.offset - b.offset);
  const out: MetaMention[] = [];
  let end = 0;
  for (const m of found) {
    if (m.offset < end) continue;
    out.push(m);
    end = m.offset + m.length;
  }
  return out;
}

/** Mentions as core entities: people by their RemoteUserId, the thread as a room mention. */
export function mentionEntities(mentions: readonly MetaMention[]): TextEntity[] {
  return mentions.map((m) =>
    m.type === 't'
      ? { type: 'room_mention' as const, offset: m.offset, length: m.length }
      : { type: 'mention' as const, offset: m.offset, length: m.length, userId: makeMetaUserId(m.userId) },
  );
}
