import { MemoryStore } from '../../src/index.js';
import { describeStoreConformance } from '../../src/testing/store-conformance.js';

describeStoreConformance('MemoryStore', () => ({ store: new MemoryStore(), cleanup: async () => {} }));
