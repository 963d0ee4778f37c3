// Tests that spawn the broker run the built dist/: build once when it is missing.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const builtEntryPoints = ['packages/core/dist/index.js', 'apps/broker/dist/cli.js'];

export default function setup(): void {
  if (builtEntryPoints.every((file) => existsSync(new URL(`../${file}`, import.meta.url)))) return;
  execSync('npx tsc -b', { cwd: root, stdio: 'inherit' });
}
