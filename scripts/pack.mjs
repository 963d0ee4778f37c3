// `npm run pack`: one tarball per publishable workspace package, all in ./packed, as `npm publish`
// would upload them. Install an app from them with `npm install ./packed/*.tgz` (see README).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'packed');
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
const workspaces = ['packages', 'apps'].flatMap((folder) =>
  readdirSync(join(root, folder)).map((name) => join(folder, name)),
);
for (const workspace of workspaces) {
  const manifest = JSON.parse(readFileSync(join(root, workspace, 'package.json'), 'utf8'));
  if (manifest.private) continue;
  execFileSync('npm', ['pack', '--silent', '--pack-destination', out, '-w', workspace], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
console.log(`tarballs in ${out}`);
