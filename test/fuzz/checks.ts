/**
 * The invariants the fuzz suites assert, written independently of the converters they check (the
 * allowlist is the core's, read from its exported tables; the value rules are restated here).
 */
import { Parser } from 'htmlparser2';
import { ALLOWED_ATTRIBUTES, ALLOWED_TAGS, isValidEntity, isWellFormed, type FormattedText } from '../../shared/src/matrix/format/index.js';

const VOID = new Set(['br', 'hr', 'img']);
const LINK_SCHEME = /^(https?|ftp|mailto|magnet):/i;
const COLOUR = /^(#[0-9A-Fa-f]{6}|[A-Za-z]{1,20})$/;

/** C0 controls except \t and \n, DEL, C1 controls. */
// eslint-disable-next-line no-control-regex -- these are exactly what is looked for
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
/** A surrogate half without its partner: not encodable as UTF-8. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `s` is not clean text (control characters, lone surrogates), or undefined. */
export function textProblem(s: string): string | undefined {
  const control = CONTROL.exec(s);
  if (control) return `control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${control.index}`;
  const lone = LONE_SURROGATE.exec(s);
  if (lone) return `lone surrogate U+${lone[0].charCodeAt(0).toString(16)} at ${lone.index}`;
  return undefined;
}

function attributeProblem(tag: string, name: string, value: string): string | undefined {
  if (!(ALLOWED_ATTRIBUTES[tag] ?? []).includes(name)) return `attribute ${name} on <${tag}>`;
  const text = textProblem(value);
  if (text) return `${name}=${JSON.stringify(value)}: ${text}`;
  switch (name) {
    case 'href':
      // What a browser would follow: no leading blanks, no controls anywhere, an allowed scheme.
      // eslint-disable-next-line no-control-regex
      if (!LINK_SCHEME.test(value) || /[\u0000-\u0020\u007f]/.test(value.charAt(0)) || /[\u0000-\u001f\u007f]/.test(value)) return `href ${JSON.stringify(value)}`;
      return undefined;
    case 'src':
      return /^mxc:\/\/[A-Za-z0-9.:[\]-]+\/[A-Za-z0-9_-]+$/.test(value) ? undefined : `src ${JSON.stringify(value)}`;
    case 'class':
      return /^language-[A-Za-z0-9_+#.-]{1,32}$/.test(value) ? undefined : `class ${JSON.stringify(value)}`;
    case 'color':
    case 'data-mx-color':
    case 'data-mx-bg-color':
      return COLOUR.test(value) ? undefined : `${name} ${JSON.stringify(value)}`;
    case 'target':
      return value === '_blank' ? undefined : `target ${JSON.stringify(value)}`;
    case 'width':
    case 'height':
    case 'start':
      return /^-?[0-9]{1,9}$/.test(value) ? undefined : `${name} ${JSON.stringify(value)}`;
    default:
      return undefined;
  }
}

export interface HtmlCheckOptions {
  /** Tags this producer may write (a subset of the allowlist); default the whole allowlist. */
  tags?: ReadonlySet<string>;
  /** Every element must be closed explicitly, in order (no implied closes). */
  wellFormed?: boolean;
}

/**
 * Every problem of `html` as Matrix HTML to send: tags and attributes outside the allowlist,
 * attribute values a client would not accept, href schemes, controls in text, comments and
 * processing instructions, and (optionally) elements the parser had to close itself.
 */
export function htmlProblems(html: string, opts: HtmlCheckOptions = {}): string[] {
  const problems: string[] = [];
  const tags = opts.tags ?? ALLOWED_TAGS;
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (!ALLOWED_TAGS.has(name) || !tags.has(name)) problems.push(`tag <${name}>`);
        for (const [attr, value] of Object.entries(attribs)) {
          const p = attributeProblem(name, attr, value);
          if (p) problems.push(p);
        }
      },
      onclosetag(name, isImplied) {
        if (opts.wellFormed && isImplied && !VOID.has(name)) problems.push(`<${name}> not closed`);
      },
      ontext(data) {
        const p = textProblem(data);
        if (p) problems.push(`text: ${p}`);
      },
      oncomment: () => void problems.push('comment'),
      oncdatastart: () => void problems.push('CDATA'),
      onprocessinginstruction: () => void problems.push('processing instruction'),
    },
    { decodeEntities: true, recognizeSelfClosing: false },
  );
  parser.end(html);
  return problems;
}

/** Why `ft` is not sound converter output (entities out of range, overlapping, unsorted, unclean text). */
export function formattedProblem(ft: FormattedText, opts: { cleanText?: boolean } = {}): string | undefined {
  if (typeof ft?.text !== 'string' || !Array.isArray(ft.entities)) return 'not a FormattedText';
  if (opts.cleanText !== false) {
    const p = textProblem(ft.text);
    if (p) return `text: ${p}`;
  }
  for (const e of ft.entities) if (!isValidEntity(ft.text, e)) return `invalid entity ${JSON.stringify(e)}`;
  if (!isWellFormed(ft)) return 'entities overlap';
  for (let i = 1; i < ft.entities.length; i++) {
    const a = ft.entities[i - 1];
    const b = ft.entities[i];
    if (a === undefined || b === undefined) continue;
    if (a.offset > b.offset || (a.offset === b.offset && a.length < b.length)) return `entities unsorted at ${i}`;
  }
  return undefined;
}

/** Throws with the input when `problems` is not empty. */
export function expectNone(problems: readonly (string | undefined)[], input: unknown): void {
  const real = problems.filter((p): p is string => p !== undefined);
  if (real.length > 0) throw new Error(`${real.slice(0, 5).join('; ')}\n  input: ${JSON.stringify(input).slice(0, 2000)}`);
}
