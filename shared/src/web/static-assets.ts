/**
 * Static files of a web page, read once into memory with a content hash as their ETag. The files
 * are plain HTML, CSS and browser JavaScript kept in `src/` (tsc only emits .ts), so the directory
 * is looked up beside this module when it runs from source and in `../../src/web/` when it runs
 * from `dist/`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticAsset {
  body: Buffer;
  contentType: string;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const HERE = dirname(fileURLToPath(import.meta.url));

/** The directory holding the page `name` (e.g. "login"): from source, or from dist/ back into src/. */
export function assetDir(name: string): string {
  const candidates = [join(HERE, name), join(HERE, '..', '..', 'src', 'web', name)];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!found) throw new Error(`web page files not found; looked in ${candidates.join(', ')}`);
  return found;
}

/**
 * Every file of `dir` with a known type, by file name. Only these names are ever served: a
 * request cannot reach any other path.
 */
export function loadAssets(dir: string): Map<string, StaticAsset> {
  const out = new Map<string, StaticAsset>();
  for (const name of readdirSync(dir).sort()) {
    const contentType = CONTENT_TYPES[extname(name)];
    const path = join(dir, name);
    if (!contentType || !statSync(path).isFile()) continue;
    const body = readFileSync(path);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    out.set(name, { body, contentType, etag });
  }
  return out;
}
