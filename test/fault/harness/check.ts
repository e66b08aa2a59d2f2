/**
 * The counting: given what the load sent and what each side holds, which messages are lost,
 * duplicated or out of order. Pure functions, so test/fault/check.test.ts proves they catch each
 * kind of fault before any scenario relies on them.
 */
import { MATRIX_ORIGIN, parseBody, type SentMessage } from './load.js';

/** A message as one side holds it, in that side's order. */
export interface SeenMessage {
  body: string;
  /** Matrix event id or network message id. */
  id: string;
  /** Matrix sender or network account. */
  sender: string;
}

/** One chat as both sides hold it: Matrix in /messages order, the network in its message order. */
export interface ObservedChat {
  chat: string;
  matrix: SeenMessage[];
  network: SeenMessage[];
}

export interface Duplicate {
  body: string;
  ids: string[];
}

/** Message #n of `origin` in `chat` came after its later message #after. */
export interface Reorder {
  chat: string;
  origin: string;
  n: number;
  after: number;
}

export interface SideReport {
  /** Bodies sent but not (yet) present. */
  lost: string[];
  duplicated: Duplicate[];
  /** Every step backwards in one origin's numbering. */
  reordered: Reorder[];
  /** Bodies of this run that nobody sent (a wrong chat, a mangled body). */
  unexpected: string[];
}

export interface DeliveryReport {
  expected: { total: number; fromMatrix: number; fromNetwork: number };
  matrix: SideReport;
  network: SideReport;
}

export function isClean(r: SideReport): boolean {
  return !r.lost.length && !r.duplicated.length && !r.reordered.length && !r.unexpected.length;
}

function checkSide(tag: string, sent: readonly SentMessage[], observed: readonly ObservedChat[], side: 'matrix' | 'network'): SideReport {
  const report: SideReport = { lost: [], duplicated: [], reordered: [], unexpected: [] };
  const expectedByChat = new Map<string, Set<string>>();
  for (const m of sent) {
    let set = expectedByChat.get(m.chat);
    if (!set) expectedByChat.set(m.chat, (set = new Set()));
    set.add(m.body);
  }
  const seenChats = new Set<string>();
  for (const chat of observed) {
    seenChats.add(chat.chat);
    const expected = expectedByChat.get(chat.chat) ?? new Set<string>();
    const ids = new Map<string, string[]>();
    const lastN = new Map<string, number>();
    for (const msg of chat[side]) {
      const parsed = parseBody(tag, msg.body);
      if (!parsed) continue;
      if (!expected.has(msg.body) || parsed.chat !== chat.chat) {
        report.unexpected.push(msg.body);
        continue;
      }
      const list = ids.get(msg.body);
      if (list) {
        list.push(msg.id);
        continue; // counted as a duplicate; its position says nothing more about order
      }
      ids.set(msg.body, [msg.id]);
      const prev = lastN.get(parsed.origin);
      if (prev !== undefined && parsed.n <= prev) report.reordered.push({ chat: chat.chat, origin: parsed.origin, n: parsed.n, after: prev });
      lastN.set(parsed.origin, Math.max(prev ?? 0, parsed.n));
    }
    for (const body of expected) {
      const list = ids.get(body);
      if (!list) report.lost.push(body);
      else if (list.length > 1) report.duplicated.push({ body, ids: list });
    }
  }
  for (const [chat, bodies] of expectedByChat) if (!seenChats.has(chat)) report.lost.push(...bodies);
  return report;
}

/** Counts every sent message on both sides: each must be present exactly once, in order per origin. */
export function checkDelivery(tag: string, sent: readonly SentMessage[], observed: readonly ObservedChat[]): DeliveryReport {
  const fromMatrix = sent.filter((m) => m.origin === MATRIX_ORIGIN).length;
  return {
    expected: { total: sent.length, fromMatrix, fromNetwork: sent.length - fromMatrix },
    matrix: checkSide(tag, sent, observed, 'matrix'),
    network: checkSide(tag, sent, observed, 'network'),
  };
}

/** A short, readable account of a report for logs and assertion messages. */
export function describeReport(r: DeliveryReport): string {
  const side = (name: string, s: SideReport) =>
    `${name}: ${s.lost.length} lost, ${s.duplicated.length} duplicated, ${s.reordered.length} out of order, ${s.unexpected.length} unexpected` +
    (s.lost.length ? `\n  lost: ${s.lost.slice(0, 10).join(' | ')}` : '') +
    (s.duplicated.length ? `\n  duplicated: ${s.duplicated.slice(0, 10).map((d) => `${d.body} (${d.ids.length}x)`).join(' | ')}` : '') +
    (s.reordered.length ? `\n  out of order: ${s.reordered.slice(0, 10).map(describeReorder).join(' | ')}` : '') +
    (s.unexpected.length ? `\n  unexpected: ${s.unexpected.slice(0, 10).join(' | ')}` : '');
  return `${r.expected.total} messages (${r.expected.fromMatrix} from Matrix, ${r.expected.fromNetwork} from the network)\n` +
    `${side('Matrix', r.matrix)}\n${side('network', r.network)}`;
}

export function describeReorder(r: Reorder): string {
  return `${r.chat} ${r.origin}: #${r.n} after #${r.after}`;
}
