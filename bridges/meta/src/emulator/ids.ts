/**
 * Identities between the sandbox network and the emulated Meta gateway (ours, documented in
 * docs/meta-emulator.md):
 *
 *   sandbox account, phone +15550000001   <->  user id / c_user / ds_user_id 15550000001
 *   DM "dm:alice:me"                      <->  thread key = the other member's user id (as Meta's
 *                                              one-to-one threads are keyed by the other person)
 *   group "g:7"                           <->  thread key 1000000000000007 (10^15 + n; phones have
 *                                              at most 15 digits, so the two never collide)
 *   message "g:7/12"                      <->  "mid.$" + base64url("g:7/12")
 *   a send with otid N                    <->  sandbox client_txn_id "otid:N" (a resend dedupes)
 */
export const GROUP_THREAD_BASE = 10n ** 15n;
const MID_PREFIX = 'mid.$';
export const OTID_TXN_PREFIX = 'otid:';

export function userIdOfPhone(phone: string): string {
  return phone.replace(/\D/g, '');
}

export function groupThreadKey(chatId: string): string | undefined {
  const m = /^g:(\d{1,12})$/.exec(chatId);
  return m ? (GROUP_THREAD_BASE + BigInt(m[1]!)).toString() : undefined;
}

/** What a thread key names: a group chat id, or the user id of a DM's other member. */
export function parseThreadKey(key: string): { group: string } | { user: string } | undefined {
  if (!/^\d{1,19}$/.test(key)) return undefined;
  const n = BigInt(key);
  if (n > GROUP_THREAD_BASE) return { group: `g:${(n - GROUP_THREAD_BASE).toString()}` };
  return n > 0n ? { user: key } : undefined;
}

export function messageIdOf(sandboxId: string): string {
  return MID_PREFIX + Buffer.from(sandboxId, 'utf8').toString('base64url');
}

export function sandboxMessageId(mid: string): string | undefined {
  if (!mid.startsWith(MID_PREFIX)) return undefined;
  const raw = mid.slice(MID_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(raw)) return undefined;
  const id = Buffer.from(raw, 'base64url').toString('utf8');
  return /^[^/]+\/\d+$/.test(id) ? id : undefined;
}

export function otidOfTxn(txn: string | null): string | undefined {
  if (!txn?.startsWith(OTID_TXN_PREFIX)) return undefined;
  const otid = txn.slice(OTID_TXN_PREFIX.length);
  return /^\d{1,19}$/.test(otid) ? otid : undefined;
}

/**
 * JSON.parse that keeps integers beyond 2^53 exact: integer literals of 16 or more digits
 * outside strings become decimal strings (LightSpeed payloads write int64 ids as bare numbers).
 */
export function parseJSONExact(text: string): unknown {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
      i++;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      i++;
      continue;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      const token = m?.[0] ?? c;
      out += /^-?\d{16,}$/.test(token) ? `"${token}"` : token;
      i += token.length;
      continue;
    }
    out += c;
    i++;
  }
  return JSON.parse(out) as unknown;
}

/** An id field of a parsed payload (number or decimal string) as a decimal string. */
export function idField(v: unknown, what: string): string {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (typeof v === 'string' && /^-?\d{1,19}$/.test(v)) return v;
  throw new EmulatorTaskError('bad_request', `${what} is not an id`);
}

/** A refusal the emulator reports for one task (code: short reason). */
export class EmulatorTaskError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'EmulatorTaskError';
  }
}
