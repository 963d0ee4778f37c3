/**
 * One copy of NestJS: the transport's decorators, exception filters and `RpcException` checks
 * work only on the app's own `@nestjs/microservices`. A linked install (`npm install <path>`)
 * makes Node resolve this package's imports from its real path, so it can load a second copy
 * silently; peerDependencies cannot prevent that, this check finds it.
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ConveyorNestError } from './errors.js';

/** The app and this package load different copies of @nestjs/microservices. */
export class DuplicateNestError extends ConveyorNestError {
  readonly code = 'DUPLICATE_NESTJS' as const;
}

function resolved(from: string): string | undefined {
  try {
    return realpathSync(createRequire(from).resolve('@nestjs/microservices'));
  } catch {
    return undefined;
  }
}

/**
 * Throws when `@nestjs/microservices` resolves to one file from the app (its entry script, or the
 * working directory) and to another from here.
 */
export function assertOneNestCopy(
  appEntry: string = process.argv[1] ?? join(process.cwd(), 'index.js'),
): void {
  const ours = resolved(import.meta.url);
  const theirs = resolved(appEntry);
  if (ours === undefined || theirs === undefined || ours === theirs) return;
  throw new DuplicateNestError(
    `two copies of @nestjs/microservices are loaded: the app's (${theirs}) and @conveyor/nestjs's (${ours}). ` +
      'This happens when @conveyor/nestjs is linked (npm install <path>, npm link) instead of installed: ' +
      'install it from its tarball or the registry, or with npm install --install-links <path>.',
  );
}
