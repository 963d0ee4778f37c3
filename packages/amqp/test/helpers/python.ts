import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** Debian's Python, where its client libraries (python3-pika, python3-kombu) are installed. */
export const PYTHON = '/usr/bin/python3';

/** True when Debian's Python can import `module`. */
export async function pythonHas(module: string): Promise<boolean> {
  if (!existsSync(PYTHON)) return false;
  return run(PYTHON, ['-c', `import ${module}`]).then(
    () => true,
    () => false,
  );
}
