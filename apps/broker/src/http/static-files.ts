// The dashboard's files (index.html, *.js, *.css), served from dist/dashboard when the build copied
// them there, else from src/dashboard next to the sources.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

export function dashboardDirectory(): string | undefined {
  const candidates = [
    fileURLToPath(new URL('../dashboard/', import.meta.url)),
    fileURLToPath(new URL('../../src/dashboard/', import.meta.url)),
  ];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

export interface StaticFile {
  contentType: string;
  body: Buffer;
}

/** The file for a URL path under `root`, or undefined (unknown type, outside root, missing). */
export async function staticFile(root: string, pathname: string): Promise<StaticFile | undefined> {
  let relative: string;
  try {
    relative = decodeURIComponent(pathname === '/' ? '/index.html' : pathname);
  } catch {
    return undefined;
  }
  const path = normalize(join(root, relative));
  if (!path.startsWith(normalize(root + sep)) && path !== normalize(root)) return undefined;
  const contentType = CONTENT_TYPES[extname(path).toLowerCase()];
  if (contentType === undefined) return undefined;
  try {
    return { contentType, body: await readFile(path) };
  } catch {
    return undefined;
  }
}
