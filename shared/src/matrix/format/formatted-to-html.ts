/**
 * FormattedText to an `m.room.message` body / formatted_body pair.
 *
 * The text from a network is untrusted: every character is escaped, links keep their
 * scheme check, and malformed entities are dropped (see normalizeEntities), never thrown on.
 * The HTML is shaped so that htmlToFormatted reads it back to the same text and entities.
 */
import { normalizeEntities, type FormattedText, type TextEntity } from './formatted-text.js';
import { isValidUserId, mentionUrl, safeLinkUrl } from './links.js';
import { languageFromClass } from './allowlist.js';
import { cleanText, escapeHtml } from './text-clean.js';

export interface MatrixFormattedBody {
  body: string;
  formatted_body?: string;
}

/** The plain `body` for a formatted text: its text, cleaned of control characters. */
export function formattedToPlain(ft: FormattedText): string {
  return typeof ft?.text === 'string' ? cleanText(ft.text) : '';
}

interface Tag {
  open: string;
  close: string;
  /** Block elements end their own line: a newline right after one is implied. */
  block: boolean;
  /** Code: nothing nests inside. */
  literal: boolean;
  /** Pre: newlines stay newlines instead of becoming <br>. */
  keepsNewlines: boolean;
}

function tagFor(e: TextEntity): Tag | undefined {
  const inline = (name: string, attrs = ''): Tag => ({
    open: `<${name}${attrs}>`,
    close: `</${name}>`,
    block: false,
    literal: false,
    keepsNewlines: false,
  });
  switch (e.type) {
    case 'bold':
      return inline('strong');
    case 'italic':
      return inline('em');
    case 'underline':
      return inline('u');
    case 'strikethrough':
      return inline('del');
    case 'spoiler':
      return inline('span', ' data-mx-spoiler');
    case 'code':
      return { ...inline('code'), literal: true };
    case 'blockquote':
      return { ...inline('blockquote'), block: true };
    case 'pre': {
      const language = typeof e.language === 'string' ? languageFromClass(`language-${e.language}`) : undefined;
      const cls = language === undefined ? '' : ` class="language-${escapeHtml(language)}"`;
      return { open: `<pre><code${cls}>`, close: '</code></pre>', block: true, literal: true, keepsNewlines: true };
    }
    case 'link': {
      const url = safeLinkUrl(e.url);
      return url === undefined ? undefined : inline('a', ` href="${escapeHtml(url)}"`);
    }
    case 'mention':
      return isValidUserId(e.userId) ? inline('a', ` href="${escapeHtml(mentionUrl(e.userId))}"`) : undefined;
    default:
      return undefined; // room_mention is plain "@room" in HTML too
  }
}

interface Rendered {
  entity: TextEntity;
  tag: Tag;
}

/**
 * The entities that render as HTML: well-formed, with a usable tag, not inside a literal
 * (code/pre) entity, whose content HTML shows verbatim, and no link inside a link
 * (nested anchors are invalid HTML; parsers close the outer one).
 */
function renderable(text: string, entities: readonly TextEntity[]): Rendered[] {
  const out: Rendered[] = [];
  let literalEnd = -1;
  let linkEnd = -1;
  for (const entity of normalizeEntities(text, entities)) {
    if (entity.offset < literalEnd) continue;
    const isLink = entity.type === 'link' || entity.type === 'mention';
    if (isLink && entity.offset < linkEnd) continue;
    const tag = tagFor(entity);
    if (tag === undefined) continue;
    if (tag.literal) literalEnd = entity.offset + entity.length;
    if (isLink) linkEnd = entity.offset + entity.length;
    out.push({ entity, tag });
  }
  return out;
}

/**
 * Converts to `body` (the text) and, when at least one entity renders as HTML,
 * `formatted_body`. Newlines become `<br>` except inside pre.
 */
export function formattedToHtml(ft: FormattedText): MatrixFormattedBody {
  const text = typeof ft?.text === 'string' ? ft.text : '';
  const body = cleanText(text);
  const items = renderable(text, Array.isArray(ft?.entities) ? ft.entities : []);
  if (items.length === 0) return { body };

  const html: string[] = [];
  const stack: Rendered[] = [];
  let pos = 0;
  let skipNewlineAt = -1;
  let inPre = 0;

  const emit = (from: number, to: number): void => {
    if (from >= to) return;
    if (from === skipNewlineAt && inPre === 0 && text.charCodeAt(from) === 0x0a) from++;
    const segment = escapeHtml(cleanText(text.slice(from, to)));
    html.push(inPre > 0 ? segment : segment.replace(/\n/g, '<br>'));
  };
  const closeTop = (): void => {
    const top = stack.pop();
    if (top === undefined) return;
    const end = top.entity.offset + top.entity.length;
    emit(pos, end);
    pos = end;
    html.push(top.tag.close);
    if (top.tag.keepsNewlines) inPre--;
    if (top.tag.block) skipNewlineAt = end;
  };

  for (const item of items) {
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top === undefined || top.entity.offset + top.entity.length > item.entity.offset) break;
      closeTop();
    }
    emit(pos, item.entity.offset);
    pos = item.entity.offset;
    html.push(item.tag.open);
    if (item.tag.keepsNewlines) inPre++;
    stack.push(item);
  }
  while (stack.length > 0) closeTop();
  emit(pos, text.length);
  return { body, formatted_body: html.join('') };
}
