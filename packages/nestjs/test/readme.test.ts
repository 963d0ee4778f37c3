import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('packages/nestjs/README.md', root), 'utf8');

/** Code blocks whose first line names an example file: `// apps/example/src/…`. */
function exampleBlocks(): { path: string; code: string }[] {
  const blocks: { path: string; code: string }[] = [];
  for (const match of readme.matchAll(/```ts\n\/\/ (apps\/example\/\S+)\n([\s\S]*?)\n```/g)) {
    blocks.push({ path: match[1]!, code: match[2]! });
  }
  return blocks;
}

describe('README quick start', () => {
  it('is the example app, file for file, so the example tests prove it', () => {
    const blocks = exampleBlocks();
    expect(blocks.map((b) => b.path)).toEqual([
      'apps/example/src/orders.controller.ts',
      'apps/example/src/payments.controller.ts',
      'apps/example/src/notifications.controller.ts',
      'apps/example/src/app.module.ts',
      'apps/example/src/main.ts',
    ]);
    for (const block of blocks) {
      expect(block.code, block.path).toBe(readFileSync(new URL(block.path, root), 'utf8').trimEnd());
    }
  });

  it('shows the import that avoids the clash with @nestjs/common Request', () => {
    expect(readme).toContain(
      "import { ConveyorClient, Request as ConveyorRequest } from '@conveyor/nestjs';",
    );
  });
});
