import { describe } from 'vitest';
import { describeStoreConformance } from '@conveyor/core/testing/store';
import { deletePrefix, redisStore, redisUnavailable, uniquePrefix } from './redis-fixture.js';

const skip = await redisUnavailable();

describe.skipIf(skip !== undefined)(`RedisStore${skip ? ` (skipped: ${skip})` : ''}`, () => {
  describeStoreConformance('redis', () => {
    const prefix = uniquePrefix();
    return {
      store: redisStore(prefix),
      reopen: () => redisStore(prefix),
      peer: () => redisStore(prefix),
      idsPerQueue: true,
      cleanup: () => deletePrefix(prefix),
    };
  });

  describeStoreConformance('redis (single slot)', () => {
    const prefix = uniquePrefix();
    return {
      store: redisStore(prefix, { singleSlot: true }),
      reopen: () => redisStore(prefix, { singleSlot: true }),
      peer: () => redisStore(prefix, { singleSlot: true }),
      idsPerQueue: true,
      cleanup: () => deletePrefix(prefix),
    };
  });
});
