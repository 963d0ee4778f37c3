import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, '../../src');
const fixtures = join(here, '../fixtures');

export const childScript = join(fixtures, 'lmdb-store-child.mjs');

/**
 * Child processes run plain node, so they import the store compiled to JS: only the store and
 * what it imports, into test/fixtures/dist, rebuilt when a source is newer than the output.
 */
export function builtStoreEntry(): string {
  const entry = join(fixtures, 'dist/store/lmdb-store.js');
  const sources = [
    ...readdirSync(join(src, 'store')).map((f) => join(src, 'store', f)),
    join(src, 'errors.ts'),
    join(src, 'message.ts'),
  ];
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  const built = statSync(entry, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (built < newest) {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', join(fixtures, 'tsconfig.store.json')], { stdio: 'inherit' });
  }
  return entry;
}
