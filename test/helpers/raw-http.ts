/**
 * A raw HTTP/1.1 client over a TCP socket, so a fuzz case can send what no HTTP library would:
 * unknown methods, bytes that are not UTF-8, broken chunking, lying Content-Length, huge headers.
 */
import net from 'node:net';

export interface RawRequest {
  method: string;
  /** Sent as is (not encoded). */
  target: string;
  headers: Array<[string, string]>;
  body: Buffer;
  /** Send the body as chunked transfer encoding; `badChunks` writes broken chunk sizes. */
  chunked?: 'good' | 'bad';
  /** Close our side right after writing (a client that hangs up mid-request). */
  halfClose?: boolean;
}

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

function encodeChunked(body: Buffer, bad: boolean): Buffer {
  if (bad) return Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]);
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; at += 4096) {
    const piece = body.subarray(at, at + 4096);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** The bytes of a request: request line, headers (plus Transfer-Encoding when chunked), body. */
export function requestBytes(r: RawRequest): Buffer {
  const lines = [`${r.method} ${r.target} HTTP/1.1`, ...r.headers.map(([k, v]) => `${k}: ${v}`)];
  if (r.chunked) lines.push('Transfer-Encoding: chunked');
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return Buffer.concat([head, r.chunked ? encodeChunked(r.body, r.chunked === 'bad') : r.body]);
}

/** Parses one response once it is complete (Content-Length, or the connection closed). */
function parseReply(data: Buffer, ended: boolean): RawReply | undefined {
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd === -1) return undefined;
  const [statusLine = '', ...headerLines] = data.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let rest = data.subarray(headEnd + 4);
  // Node sends "100 Continue" before the real answer when asked to.
  if (status === 100) return parseReply(rest, ended);
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  if (length !== undefined && rest.length >= length) return { status, headers, body: rest.subarray(0, length) };
  if (!ended) return undefined;
  if (length !== undefined) rest = rest.subarray(0, length);
  return { status, headers, body: rest };
}

/**
 * Sends `r` on a fresh connection and resolves with the first response. Rejects when the server
 * closes without answering or nothing arrives within `timeoutMs`.
 */
export function rawRequest(port: number, r: RawRequest, timeoutMs = 10_000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | undefined, reply?: RawReply): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply as RawReply);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const reply = parseReply(data, false);
      if (reply) finish(undefined, reply);
    });
    socket.on('end', () => {
      const reply = parseReply(data, true);
      finish(reply ? undefined : new Error(`connection closed without an answer (${data.length} bytes: ${JSON.stringify(data.toString('latin1').slice(0, 200))})`), reply);
    });
    // The server may answer (413, 400) and close while we are still writing: not an error as such.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') {
        const reply = parseReply(data, true);
        if (reply) finish(undefined, reply);
        else setTimeout(() => finish(new Error(`${err.code} without an answer`)), 50);
        return;
      }
      finish(err);
    });
    socket.write(requestBytes(r), () => {
      if (r.halfClose) socket.end();
    });
  });
}
