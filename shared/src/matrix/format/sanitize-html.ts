/**
 * Allowlist sanitiser for relaying Matrix HTML as HTML. Same streaming parse, caps and
 * dropped elements as htmlToFormatted; output is rebuilt from the parse events (never
 * copied from the input), so it is well-formed: every tag written is closed.
 */
import { Parser } from 'htmlparser2';
import { ALLOWED_ATTRIBUTES, ALLOWED_TAGS, DROPPED_WITH_CONTENT, VOID_TAGS, checkAttribute } from './allowlist.js';
import { isMxcUri, mentionUrl, mentionUserId, safeLinkUrl } from './links.js';
import { cleanText, cutInput, ELLIPSIS, inputString, escapeHtml, resolveLimits, type ParseLimits } from './text-clean.js';

interface Frame {
  name: string;
  drops: boolean;
  /** A closing tag is owed. */
  written: boolean;
}

function attr(attribs: Record<string, string>, name: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(attribs, name) ? attribs[name] : undefined;
}

/** The href to keep: user permalinks in matrix.to form, other links with an allowed scheme. */
function cleanHref(href: string | undefined): string | undefined {
  const userId = mentionUserId(href);
  return userId !== undefined ? mentionUrl(userId) : safeLinkUrl(href);
}

class Sanitizer {
  private readonly out: string[] = [];
  private readonly frames: Frame[] = [];
  private dropDepth = 0;
  private anchorDepth = 0;

  constructor(private readonly maxDepth: number) {}

  open(name: string, attribs: Record<string, string>): void {
    const frame: Frame = { name, drops: DROPPED_WITH_CONTENT.has(name), written: false };
    this.frames.push(frame);
    if (frame.drops) this.dropDepth++;
    if (this.dropDepth > 0 || this.frames.length > this.maxDepth || !ALLOWED_TAGS.has(name)) return;
    if (name === 'a' && this.anchorDepth > 0) return; // no links inside links
    if (name === 'img' && !isMxcUri(attr(attribs, 'src'))) {
      const alt = attr(attribs, 'alt');
      if (alt !== undefined) this.text(alt);
      return;
    }
    const href = name === 'a' ? cleanHref(attr(attribs, 'href')) : undefined;
    if (name === 'a' && href === undefined) return; // a link that goes nowhere is just text
    const parts: string[] = [`<${name}`];
    for (const attrName of ALLOWED_ATTRIBUTES[name] ?? []) {
      const raw = attr(attribs, attrName);
      if (raw === undefined) continue;
      let value: string | undefined;
      if (attrName === 'href') value = href;
      else if (attrName === 'src') value = raw; // checked above: mxc:// only
      else value = checkAttribute(name, attrName, raw);
      if (value !== undefined) parts.push(` ${attrName}="${escapeHtml(cleanText(value))}"`);
    }
    parts.push('>');
    this.out.push(parts.join(''));
    if (!VOID_TAGS.has(name)) frame.written = true;
    if (name === 'a') this.anchorDepth++;
  }

  close(name: string): void {
    const frame = this.frames[this.frames.length - 1];
    if (frame === undefined || frame.name !== name) return; // see html-to-formatted.ts
    this.frames.pop();
    if (frame.drops) this.dropDepth--;
    if (!frame.written) return;
    this.out.push(`</${name}>`);
    if (name === 'a') this.anchorDepth--;
  }

  text(data: string): void {
    if (this.dropDepth === 0) this.out.push(escapeHtml(cleanText(data)));
  }

  result(cut: boolean): string {
    return this.out.join('') + (cut ? ELLIPSIS : '');
  }
}

/**
 * HTML holding only the spec's allowlisted tags and attributes (checked values; a href
 * with allowed schemes, img src mxc:// only). Unknown tags are dropped, their text kept;
 * mx-reply, script, style... are dropped with their content. Never throws.
 */
export function sanitizeHtml(html: string, opts?: ParseLimits): string {
  const { maxLength, maxDepth } = resolveLimits(opts);
  const { text: input, cut } = cutInput(inputString(html), maxLength);
  try {
    const sanitizer = new Sanitizer(maxDepth);
    const parser = new Parser(
      {
        onopentag: (name, attribs) => sanitizer.open(name, attribs),
        onclosetag: (name) => sanitizer.close(name),
        ontext: (data) => sanitizer.text(data),
      },
      { decodeEntities: true },
    );
    parser.end(input);
    return sanitizer.result(cut);
  } catch {
    return escapeHtml(cleanText(input.replace(/<[^>]*>?/g, ' ')));
  }
}
