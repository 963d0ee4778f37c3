// The storage conformance suite over a real 3-master Redis Cluster (issue 17): per-queue slots,
// sharded wake-ups, four-step moves between queues on different shards; and the single-slot layout.
import { afterAll, beforeAll, describe } from 'vitest';
import { describeStoreConformance } from '@conveyor/core/testing/store';
import { RedisStore } from '../src/index.js';
import { clusterUnavailable, startCluster, type TestCluster } from './redis-cluster-fixture.js';
import { uniquePrefix } from './redis-fixture.js';

const skip = clusterUnavailable();

describe.skipIf(skip !== undefined)(
  `RedisStore on a Redis Cluster${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let cluster: TestCluster;
    beforeAll(async () => {
      cluster = await startCluster();
    }, 60_000);
    afterAll(async () => cluster?.stop());

    for (const singleSlot of [false, true]) {
      describeStoreConformance(`redis cluster${singleSlot ? ' (single slot)' : ''}`, () => {
        const prefix = uniquePrefix();
        const open = () => new RedisStore({ url: cluster.url, prefix, singleSlot });
        // The cluster is thrown away after the file: nothing to clean per test.
        return { store: open(), reopen: open, peer: open, idsPerQueue: true, cleanup: async () => undefined };
      });
    }
  },
);
