import { describe } from 'vitest';
import { describeStoreConformance } from '../../core/test/store/store.conformance.js';
import { deletePrefix, redisStore, redisUnavailable, uniquePrefix } from './redis-fixture.js';

const skip = await redisUnavailable();

describe.skipIf(skip !== undefined)(`RedisStore${skip ? ` (skipped: ${skip})` : ''}`, () => {
  describeStoreConformance('redis', () => {
    const prefix = uniquePrefix();
    return {
      store: redisStore(prefix),
      reopen: () => redisStore(prefix),
      shared: true,
      cleanup: () => deletePrefix(prefix),
    };
  });

  describeStoreConformance('redis (single slot)', () => {
    const prefix = uniquePrefix();
    return {
      store: redisStore(prefix, { singleSlot: true }),
      reopen: () => redisStore(prefix, { singleSlot: true }),
      shared: true,
      cleanup: () => deletePrefix(prefix),
    };
  });
});
