import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources (the `conveyor-source` export condition),
// so unit tests need no build; end-to-end tests that spawn the broker use the built `dist/`.
export default defineConfig({
  resolve: { conditions: ['conveyor-source'] },
  ssr: { resolve: { conditions: ['conveyor-source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
