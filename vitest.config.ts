import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// NestJS code needs legacy decorators with emitted metadata (ValidationPipe reads DTO types),
// which only SWC emits: SWC compiles the NestJS package and the example app, and Vite's own
// transform (oxc) keeps everything else (the plugin's config hook, which turns oxc off, is dropped).
const swcFiles = /\/(packages\/nestjs|apps\/example)\/.*\.ts$/;

// Workspace packages resolve to their TypeScript sources (the `conveyor-source` export condition),
// so unit tests need no build; end-to-end tests that spawn the broker use the built `dist/`.
export default defineConfig({
  plugins: [
    {
      ...swc.vite({
        include: swcFiles,
        tsconfigFile: false,
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        },
      }),
      config: undefined,
    },
  ],
  oxc: { exclude: [swcFiles] },
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
