/**
 * The status page's files (web/ in the package: index.html, page.js, picture.js, page.css),
 * served by the API at `/` and beside it. Read once when the API starts, each bounded in size;
 * served with their content type and a Content-Security-Policy that allows only this origin's
 * scripts, styles and fetches (no inline code, no external resources, no framing; images only
 * from here or data: URLs, for the empty favicon that spares a 404).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The page's files by request path. */
export const PAGE_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/page.js': { file: 'page.js', type: 'text/javascript; charset=utf-8' },
  '/picture.js': { file: 'picture.js', type: 'text/javascript; charset=utf-8' },
  '/page.css': { file: 'page.css', type: 'text/css; charset=utf-8' },
};

/** One page file's bytes, at most (they are a few KiB; a bigger one is a packaging fault). */
export const PAGE_FILE_BYTES_MAX = 256 * 1024;

export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface PageFile {
  type: string;
  body: Buffer;
}

/** Where the page's files are: web/ at the package root (from src/api/ and from dist/api/ alike). */
export const PAGE_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/**
 * Reads the page's files. A file that is missing or too large leaves the page out (the API
 * serves the rest and answers `/` with 404 naming the problem): the page is no reason to stop.
 */
export function loadPage(dir: string = PAGE_DIR): Map<string, PageFile> | string {
  const files = new Map<string, PageFile>();
  for (const [path, { file, type }] of Object.entries(PAGE_FILES)) {
    let body: Buffer;
    try {
      body = readFileSync(`${dir}/${file}`);
    } catch (error) {
      return `the status page's ${file} cannot be read from ${dir}: ${(error as Error).message}`;
    }
    if (body.length > PAGE_FILE_BYTES_MAX)
      return `the status page's ${file} is over ${PAGE_FILE_BYTES_MAX} bytes`;
    files.set(path, { type, body });
  }
  return files;
}
