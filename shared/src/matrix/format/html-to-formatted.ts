/**
 * Matrix HTML (`formatted_body`) to FormattedText.
 *
 * Uses htmlparser2's streaming Parser: callbacks only, with our own explicit element
 * stack, so hostile nesting costs memory proportional to the (capped) input and never
 * recursion. Every element the parser opens gets a frame, interpreted or not, so the
 * stack stays aligned with the parser's own through its implied closes.
 */
import { Parser } from 'htmlparser2';
import { ALLOWED_TAGS, DROPPED_WITH_CONTENT, isIntegerIn, languageFromClass } from './allowlist.js';
import { plain, type FormattedText, type TextEntity } from './formatted-text.js';
import { mentionUserId, safeLinkUrl } from './links.js';
import { findRoomMentions } from './room-mentions.js';
import { TextBuilder, type OpenEntity } from './text-builder.js';
import { cleanText, cutInput, ELLIPSIS, inputString, resolveLimits, type ParseLimits } from './text-clean.js';

interface ListState {
  ordered: boolean;
  next: number;
}

interface Frame {
  name: string;
  /** Not interpreted: unknown tag, too deep, or inside dropped content. */
  ignored: boolean;
  /** Drops its content (mx-reply, script...). */
  drops: boolean;
  entity?: OpenEntity;
  /** Text written for a link or mention whose anchor has no text of its own. */
  autoText?: string;
  breakAfter?: 1 | 2;
  list?: ListState;
  row?: { cells: number };
  literal?: 'pre' | 'code';
}

const SIMPLE_ENTITIES: Readonly<Record<string, TextEntity['type']>> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  del: 'strikethrough',
  s: 'strikethrough',
  strike: 'strikethrough',
};

const HEADINGS: ReadonlySet<string> = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
const LINE_BLOCKS: ReadonlySet<string> = new Set(['div', 'details', 'summary', 'caption', 'table']);

function attr(attribs: Record<string, string>, name: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(attribs, name) ? attribs[name] : undefined;
}

class HtmlReader {
  private readonly out = new TextBuilder();
  private readonly frames: Frame[] = [];
  private readonly lists: ListState[] = [];
  private readonly rows: { cells: number }[] = [];
  private readonly preEntities: (OpenEntity | undefined)[] = [];
  private dropDepth = 0;
  /** Inside pre or code: text is literal and no further entities open. */
  private literalDepth = 0;
  private preDepth = 0;
  private linkDepth = 0;
  /** Set by <pre>: a newline right after the start tag is not content (HTML parsing rule). */
  private preJustOpened = false;

  constructor(private readonly maxDepth: number) {}

  open(name: string, attribs: Record<string, string>): void {
    const frame: Frame = { name, ignored: true, drops: DROPPED_WITH_CONTENT.has(name) };
    this.frames.push(frame);
    if (frame.drops) this.dropDepth++;
    this.preJustOpened = false;
    if (this.dropDepth > 0 || this.frames.length > this.maxDepth || !ALLOWED_TAGS.has(name)) return;
    frame.ignored = false;
    this.interpret(frame, attribs);
  }

  private entity(frame: Frame, entity: Omit<TextEntity, 'offset' | 'length'>): void {
    if (this.literalDepth === 0) frame.entity = this.out.openEntity(entity);
  }

  private block(frame: Frame, n: 1 | 2): void {
    this.out.blockBreak(n, true);
    frame.breakAfter = n;
  }

  private interpret(frame: Frame, attribs: Record<string, string>): void {
    const name = frame.name;
    const simple = SIMPLE_ENTITIES[name];
    if (simple !== undefined) return this.entity(frame, { type: simple });
    if (HEADINGS.has(name)) {
      this.block(frame, 1);
      return this.entity(frame, { type: 'bold' });
    }
    if (LINE_BLOCKS.has(name)) return this.block(frame, 1);
    switch (name) {
      case 'p':
        return this.block(frame, 2);
      case 'br':
        return this.out.lineBreak();
      case 'hr':
        this.out.blockBreak(1);
        if (this.out.length > 0) this.out.text('---');
        return this.block(frame, 1);
      case 'blockquote':
        this.block(frame, 1);
        return this.entity(frame, { type: 'blockquote' });
      case 'span':
      case 'font':
        if (attr(attribs, 'data-mx-spoiler') !== undefined) this.entity(frame, { type: 'spoiler' });
        return;
      case 'a':
        return this.anchor(frame, attribs);
      case 'pre':
        this.block(frame, 1);
        this.entity(frame, { type: 'pre' });
        this.preEntities.push(frame.entity);
        frame.literal = 'pre';
        this.literalDepth++;
        this.preDepth++;
        this.preJustOpened = true;
        return;
      case 'code':
        return this.code(frame, attribs);
      case 'ul':
      case 'ol':
        return this.list(frame, name === 'ol', attr(attribs, 'start'));
      case 'li':
        return this.listItem(frame);
      case 'tr':
        this.block(frame, 1);
        frame.row = { cells: 0 };
        this.rows.push(frame.row);
        return;
      case 'td':
      case 'th': {
        const row = this.rows[this.rows.length - 1];
        if (row !== undefined && row.cells++ > 0) this.out.separator(' | ');
        if (name === 'th') this.entity(frame, { type: 'bold' });
        return;
      }
      case 'img': {
        const alt = attr(attribs, 'alt');
        if (alt !== undefined) this.text(alt);
        return;
      }
      default:
        return; // sup, sub, thead, tbody: text only
    }
  }

  private anchor(frame: Frame, attribs: Record<string, string>): void {
    if (this.literalDepth > 0 || this.linkDepth > 0) return;
    const href = attr(attribs, 'href');
    const userId = mentionUserId(href);
    if (userId !== undefined) {
      this.entity(frame, { type: 'mention', userId });
      frame.autoText = userId;
    } else {
      const url = safeLinkUrl(href);
      if (url === undefined) return;
      this.entity(frame, { type: 'link', url });
      frame.autoText = url;
    }
    this.linkDepth++;
  }

  private code(frame: Frame, attribs: Record<string, string>): void {
    const pre = this.preEntities[this.preEntities.length - 1];
    if (this.preDepth > 0 && pre !== undefined && pre.entity.language === undefined) {
      const language = languageFromClass(attr(attribs, 'class'));
      if (language !== undefined) pre.entity.language = language;
    } else if (this.preDepth === 0) {
      this.entity(frame, { type: 'code' });
    }
    frame.literal = 'code';
    this.literalDepth++;
  }

  private list(frame: Frame, ordered: boolean, start: string | undefined): void {
    this.block(frame, 1);
    const first = start !== undefined && isIntegerIn(start.trim(), -999999999, 999999999) ? Number(start.trim()) : 1;
    frame.list = { ordered, next: first };
    this.lists.push(frame.list);
  }

  private listItem(frame: Frame): void {
    this.block(frame, 1);
    const list = this.lists[this.lists.length - 1];
    const indent = '  '.repeat(Math.max(0, this.lists.length - 1));
    const marker = list?.ordered === true ? `${list.next++}. ` : '• ';
    this.out.prefix(indent + marker);
  }

  close(name: string): void {
    const frame = this.frames[this.frames.length - 1];
    // Only a tag cut off by the end of input leaves the parser with an element we never
    // saw opened; its implied close at the end must not pop one of ours.
    if (frame === undefined || frame.name !== name) return;
    this.frames.pop();
    if (frame.drops) this.dropDepth--;
    if (frame.ignored) return;
    this.preJustOpened = false;
    if (frame.entity !== undefined) {
      if (frame.autoText !== undefined && !frame.entity.started) this.out.text(frame.autoText);
      this.out.closeEntity(frame.entity);
    }
    if (frame.autoText !== undefined) this.linkDepth--;
    if (frame.literal !== undefined) this.literalDepth--;
    if (frame.literal === 'pre') {
      this.preDepth--;
      this.preEntities.pop();
    }
    if (frame.name === 'li') this.out.endPrefix();
    if (frame.list !== undefined) this.lists.pop();
    if (frame.row !== undefined) this.rows.pop();
    if (frame.breakAfter !== undefined) this.out.blockBreak(frame.breakAfter);
  }

  text(raw: string): void {
    if (this.dropDepth > 0) return;
    const s = cleanText(raw);
    if (this.preDepth > 0) return this.preText(s);
    for (const run of s.match(/[ \t\n]+|[^ \t\n]+/g) ?? []) {
      if (run.charCodeAt(0) === 0x20 || run.charCodeAt(0) === 0x09 || run.charCodeAt(0) === 0x0a) {
        this.out.whitespace(run);
      } else {
        this.out.text(run);
      }
    }
  }

  private preText(s: string): void {
    const lines = s.split('\n');
    lines.forEach((line, i) => {
      if (i > 0 && !(i === 1 && lines[0] === '' && this.preJustOpened)) this.out.lineBreak();
      if (line.length > 0) this.out.text(line);
    });
    if (s.length > 0) this.preJustOpened = false;
  }

  result(cut: boolean): FormattedText {
    const { text, entities } = this.out.finish(cut ? ELLIPSIS : '');
    const ordered = entities.map((open) => ({ entity: open.entity, seq: open.seq }));
    for (const entity of findRoomMentions(text, ordered.map((o) => o.entity))) {
      ordered.push({ entity, seq: Number.MAX_SAFE_INTEGER });
    }
    ordered.sort((a, b) => a.entity.offset - b.entity.offset || b.entity.length - a.entity.length || a.seq - b.seq);
    return { text, entities: ordered.map((o) => o.entity) };
  }
}

/**
 * Converts Matrix HTML to text plus entities. Linear in the input and never throws: any
 * string is accepted, the worst result being its text with no formatting.
 */
export function htmlToFormatted(html: string, opts?: ParseLimits): FormattedText {
  const { maxLength, maxDepth } = resolveLimits(opts);
  const { text: input, cut } = cutInput(inputString(html), maxLength);
  try {
    const reader = new HtmlReader(maxDepth);
    const parser = new Parser(
      {
        onopentag: (name, attribs) => reader.open(name, attribs),
        onclosetag: (name) => reader.close(name),
        ontext: (data) => reader.text(data),
      },
      { decodeEntities: true },
    );
    parser.end(input);
    return reader.result(cut);
  } catch {
    // Not expected; a defect in this file must still not take a portal down.
    return plain(cleanText(input.replace(/<[^>]*>?/g, ' ')).trim());
  }
}
