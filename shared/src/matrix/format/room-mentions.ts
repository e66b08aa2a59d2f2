/**
 * `@room` typed in text notifies the whole room (spec "m.room.message" push rules and
 * `m.mentions.room`). Found after the text is assembled, so markup splitting the word
 * does not hide it and no entity boundary falls inside it.
 */
import type { TextEntity } from './formatted-text.js';

const WORD = /[A-Za-z0-9_]/;

function isWordChar(ch: string): boolean {
  return ch.length > 0 && WORD.test(ch);
}

/**
 * Room mention entities for each standalone `@room` in `text` that is not inside a
 * code or pre entity and that no existing entity boundary cuts. `@roomba` and
 * `@room:server` (a user id) do not count. Linear in text length plus entity count.
 */
export function findRoomMentions(text: string, entities: readonly TextEntity[]): TextEntity[] {
  let at = text.indexOf('@room');
  if (at === -1) return [];
  // boundary[i] = 1 when some entity starts or ends at i; codeDelta = running code depth.
  const boundary = new Uint8Array(text.length + 1);
  const codeDelta = new Int32Array(text.length + 1);
  for (const e of entities) {
    boundary[e.offset] = 1;
    boundary[e.offset + e.length] = 1;
    if (e.type === 'code' || e.type === 'pre') {
      codeDelta[e.offset] = (codeDelta[e.offset] ?? 0) + 1;
      codeDelta[e.offset + e.length] = (codeDelta[e.offset + e.length] ?? 0) - 1;
    }
  }
  const found: TextEntity[] = [];
  let codeDepth = 0;
  let scanned = 0;
  while (at !== -1) {
    for (; scanned <= at; scanned++) codeDepth += codeDelta[scanned] ?? 0;
    const end = at + 5;
    const before = text.charAt(at - 1);
    const after = text.charAt(end);
    const userIdFollows = after === ':' && isWordChar(text.charAt(end + 1));
    let cut = false;
    for (let i = at + 1; i < end; i++) if (boundary[i] === 1) cut = true;
    if (codeDepth === 0 && !cut && !isWordChar(before) && !isWordChar(after) && !userIdFollows) {
      found.push({ type: 'room_mention', offset: at, length: 5 });
    }
    at = text.indexOf('@room', end);
  }
  return found;
}
