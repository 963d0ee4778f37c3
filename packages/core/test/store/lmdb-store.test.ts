import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbStore } from '../../src/index.js';
import { describeStoreConformance } from '../../src/testing/store-conformance.js';

describeStoreConformance('LmdbStore', () => {
  const path = mkdtempSync(join(tmpdir(), 'conveyor-lmdb-'));
  return {
    store: new LmdbStore({ path }),
    reopen: () => new LmdbStore({ path }),
    cleanup: async () => rmSync(path, { recursive: true, force: true }),
  };
});
