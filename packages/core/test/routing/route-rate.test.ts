import { describe, expect, it } from 'vitest';
import { RoutingTable } from '../../src/routing/index.js';

/**
 * Routing throughput by hand, skipped by default (it takes seconds):
 *   CONVEYOR_MEASURE=1 npx vitest run packages/core/test/routing/route-rate.test.ts
 * Bindings look like MQTT subscriptions mapped onto amq.topic (`a/+/c` → `a.*.c`).
 */
function topicTable(bindings: number): RoutingTable {
  const table = new RoutingTable({ queueExists: () => false });
  const devices = Math.ceil(bindings * 0.8);
  for (let i = 0; i < bindings; i++) {
    const queue = { kind: 'queue', name: `session-${i % 2000}` } as const;
    let key: string;
    if (i < devices)
      key = `devices.d${i}.telemetry`; // exact topic
    else if (i % 3 === 0)
      key = `devices.d${i - devices}.*`; // single-level wildcard
    else if (i % 3 === 1)
      key = `devices.d${i - devices}.#`; // multi-level wildcard
    else key = `sites.s${i % 50}.*.alarms.#`;
    table.bind('amq.topic', queue, key);
  }
  return table;
}

function measure(
  table: RoutingTable,
  exchange: string,
  keys: readonly string[],
  messages: number,
): { rate: number; hits: number } {
  let hits = 0;
  const started = performance.now();
  for (let i = 0; i < messages; i++)
    hits += table.route(exchange, keys[i % keys.length] as string).queues.length;
  const seconds = (performance.now() - started) / 1000;
  return { rate: Math.round(messages / seconds), hits };
}

const deviceKeys = (devices: number): string[] =>
  Array.from({ length: 10_000 }, (_, i) =>
    i % 10 === 9 ? `sites.s${i % 50}.z${i}.alarms.hi` : `devices.d${(i * 7919) % devices}.telemetry`,
  );

describe.runIf(process.env['CONVEYOR_MEASURE'])('routing rate (manual)', () => {
  it('routes 1 million messages over 10,000 topic bindings', () => {
    const table = topicTable(10_000);
    measure(table, 'amq.topic', deviceKeys(8000), 100_000); // warm-up
    const { rate, hits } = measure(table, 'amq.topic', deviceKeys(8000), 1_000_000);
    console.log(
      `topic, 10,000 bindings: ${rate.toLocaleString('en')} routes/s, ${(hits / 1e6).toFixed(2)} queues per message`,
    );
    expect(hits).toBeGreaterThan(1_000_000);
  });

  it('costs about the same with 100 or 100,000 bindings (trie, not scan)', () => {
    for (const bindings of [100, 100_000]) {
      const table = topicTable(bindings);
      measure(table, 'amq.topic', deviceKeys(Math.ceil(bindings * 0.8)), 100_000);
      const { rate } = measure(table, 'amq.topic', deviceKeys(Math.ceil(bindings * 0.8)), 1_000_000);
      console.log(`topic, ${bindings.toLocaleString('en')} bindings: ${rate.toLocaleString('en')} routes/s`);
    }
  });

  it('routes 1 million messages over 10,000 direct bindings', () => {
    const table = new RoutingTable({ queueExists: () => false });
    for (let i = 0; i < 10_000; i++)
      table.bind('amq.direct', { kind: 'queue', name: `q${i % 2000}` }, `key-${i}`);
    const keys = Array.from({ length: 10_000 }, (_, i) => `key-${(i * 7919) % 10_000}`);
    measure(table, 'amq.direct', keys, 100_000);
    const { rate } = measure(table, 'amq.direct', keys, 1_000_000);
    console.log(`direct, 10,000 bindings: ${rate.toLocaleString('en')} routes/s`);
  });
});
