/**
 * Accumulates plain text and entity ranges while HTML is read, and decides where the
 * whitespace goes. Everything that might end up as leading or trailing whitespace (line
 * breaks, spaces, list markers) is kept pending and only written when real text follows,
 * so blocks never leave blank runs at either end and entities never cover the breaks
 * around them. Entity starts are pending too, for the same reason.
 *
 * Whitespace rules (outside <pre>):
 * - a whitespace run containing a newline is source formatting ("soft"): one space at
 *   most, and none at the start of a line;
 * - runs of spaces and tabs only are kept as written ("hard"), so text that went through
 *   formattedToHtml comes back unchanged;
 * - any whitespace right after a block boundary, or right before one, is dropped.
 * Breaks: a block asks for "at least n newlines here" (1, or 2 for paragraphs: at most one
 * empty line); `<br>` adds one newline on top of what is pending, as browsers render it.
 */
import type { TextEntity } from './formatted-text.js';

export interface OpenEntity {
  entity: TextEntity;
  /** Opening order, to keep the outer of two same-range entities first. */
  seq: number;
  started: boolean;
}

export class TextBuilder {
  private readonly chunks: string[] = [];
  length = 0;
  private lastChar = '';
  private trailingNewlines = 0;
  private pendingNewlines = 0;
  private pendingSpace = '';
  private pendingSpaceHard = false;
  /** Spaces typed right before a `<br>`: text, but only once something follows the break. */
  private pendingLineSpace = '';
  private pendingPrefix = '';
  /** How many of the waiting entities were opened before the prefix, and so contain it. */
  private prefixOuterCount = 0;
  private atBlockBoundary = false;
  /** A block just opened and nothing followed yet: a nested opening adds no empty line. */
  private freshBlock = false;
  private unstarted: OpenEntity[] = [];
  private seq = 0;
  private readonly closed: OpenEntity[] = [];

  /** Raw append; everything written goes through here. */
  private append(s: string): void {
    if (s.length === 0) return;
    this.chunks.push(s);
    this.length += s.length;
    this.lastChar = s.charAt(s.length - 1);
    let n = 0;
    while (n < s.length && s.charCodeAt(s.length - 1 - n) === 0x0a) n++;
    this.trailingNewlines = n === s.length ? this.trailingNewlines + n : n;
  }

  /** Writes what is pending in front of real text, then starts the waiting entities. */
  private flushPending(): void {
    this.append(this.pendingLineSpace);
    this.pendingLineSpace = '';
    if (this.pendingNewlines > 0 && this.length > 0) this.append('\n'.repeat(this.pendingNewlines));
    this.pendingNewlines = 0;
    if (this.pendingPrefix.length > 0) {
      this.startEntities(this.prefixOuterCount);
      this.append(this.pendingPrefix);
      this.pendingPrefix = '';
      if (!this.pendingSpaceHard) this.pendingSpace = '';
    }
    if (this.pendingSpace.length > 0) {
      // A soft space is dropped at a line start and collapses into a space before it.
      const lineStart = this.length === 0 || this.lastChar === '\n' || this.lastChar === ' ';
      if (this.pendingSpaceHard || !lineStart) this.append(this.pendingSpace);
      this.pendingSpace = '';
    }
    this.startEntities(this.unstarted.length);
    this.atBlockBoundary = false;
    this.freshBlock = false;
  }

  /** Starts the first `count` waiting entities here. */
  private startEntities(count: number): void {
    if (count <= 0) return;
    for (const open of this.unstarted.slice(0, count)) {
      open.entity.offset = this.length;
      open.started = true;
    }
    this.unstarted = this.unstarted.slice(count);
  }

  /** Non-whitespace text (or literal pre text), already cleaned. */
  text(s: string): void {
    if (s.length === 0) return;
    this.flushPending();
    this.append(s);
  }

  /** A whitespace run outside <pre>. */
  whitespace(run: string): void {
    if (this.atBlockBoundary || run.length === 0) return;
    if (/[\n\r\f]/.test(run)) {
      if (this.pendingSpace.length === 0) {
        this.pendingSpace = ' ';
        this.pendingSpaceHard = false;
      }
    } else if (this.pendingSpaceHard) {
      // Two runs only meet across markup ("b <img> c"): keep one, not both.
      if (run.length > this.pendingSpace.length) this.pendingSpace = run;
    } else {
      this.pendingSpace = run;
      this.pendingSpaceHard = true;
    }
  }

  /** Replaces pending whitespace with a separator such as " | " between table cells. */
  separator(s: string): void {
    if (this.length === 0) return;
    this.pendingSpace = s;
    this.pendingSpaceHard = true;
  }

  /**
   * A block starts (`opening`) or ends here: at least `n` newlines before any following
   * text. A paragraph opening first thing inside a quote or list item gets the
   * container's single newline, not an empty line of its own.
   */
  blockBreak(n: 1 | 2, opening = false): void {
    if (opening && this.freshBlock) n = 1;
    this.freshBlock = opening;
    this.pendingSpace = '';
    this.atBlockBoundary = true;
    if (this.length === 0) return;
    const have = this.trailingNewlines + this.pendingNewlines;
    if (have < n) this.pendingNewlines += n - have;
  }

  /** `<br>` or a newline inside <pre>. */
  lineBreak(): void {
    if (this.pendingSpaceHard && this.pendingSpace.length > 0 && this.pendingNewlines === 0) {
      // Spaces typed before a line break are text, written (outside the entities that start
      // after them) only when text follows: at the very end they would be trailing whitespace.
      this.pendingLineSpace += this.pendingSpace;
    }
    this.pendingSpace = '';
    this.atBlockBoundary = false;
    this.freshBlock = false;
    if (this.length > 0 || this.pendingLineSpace.length > 0) this.pendingNewlines += 1;
  }

  /** A marker ("• ", "2. ") written before the next text of a list item. */
  prefix(s: string): void {
    this.pendingPrefix = s;
    this.prefixOuterCount = this.unstarted.length;
  }

  /** The list item ended: a marker that never saw text is not written. */
  endPrefix(): void {
    this.pendingPrefix = '';
  }

  openEntity(entity: Omit<TextEntity, 'offset' | 'length'>): OpenEntity {
    const open: OpenEntity = { entity: { ...entity, offset: 0, length: 0 }, seq: this.seq++, started: false };
    this.unstarted.push(open);
    return open;
  }

  /** Closes an entity; one that never saw text is dropped. */
  closeEntity(open: OpenEntity): void {
    if (!open.started) {
      const at = this.unstarted.lastIndexOf(open);
      if (at !== -1) this.unstarted.splice(at, 1);
      if (at !== -1 && at < this.prefixOuterCount) this.prefixOuterCount--;
      return;
    }
    open.entity.length = this.length - open.entity.offset;
    if (open.entity.length > 0) this.closed.push(open);
  }

  hasText(open: OpenEntity): boolean {
    return open.started && this.length > open.entity.offset;
  }

  /** Appends a suffix (the "…" of a cut) right after the last text, outside all entities. */
  finish(suffix = ''): { text: string; entities: OpenEntity[] } {
    if (suffix.length > 0) this.append(suffix);
    return { text: this.chunks.join(''), entities: this.closed };
  }
}
