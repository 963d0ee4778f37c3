// Routing-table rate, from the built dist: routes per second over topic and direct bindings, medians of 3.
//   npm run build && npm run bench:routing
// Topic bindings look like MQTT subscriptions mapped onto amq.topic (`a/+/c` → `a.*.c`). The table is a
// trie, so 100 and 100,000 bindings should cost about the same per route.
import { performance } from 'node:perf_hooks';
import { RoutingTable } from '../packages/core/dist/routing/index.js';

const RUNS = 3;

function topicTable(bindings) {
  const table = new RoutingTable({ queueExists: () => false });
  const devices = Math.ceil(bindings * 0.8);
  for (let i = 0; i < bindings; i++) {
    const queue = { kind: 'queue', name: `session-${i % 2000}` };
    let key;
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

const deviceKeys = (devices) =>
  Array.from({ length: 10_000 }, (_, i) =>
    i % 10 === 9 ? `sites.s${i % 50}.z${i}.alarms.hi` : `devices.d${(i * 7919) % devices}.telemetry`,
  );

function rate(table, exchange, keys, messages) {
  let hits = 0;
  const started = performance.now();
  for (let i = 0; i < messages; i++) hits += table.route(exchange, keys[i % keys.length]).queues.length;
  return { rate: messages / ((performance.now() - started) / 1000), hits };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function scenario(label, table, exchange, keys) {
  rate(table, exchange, keys, 100_000); // warm-up
  const runs = [];
  let hits = 0;
  for (let r = 0; r < RUNS; r++) {
    const result = rate(table, exchange, keys, 1_000_000);
    runs.push(result.rate);
    hits = result.hits;
  }
  if (hits === 0) throw new Error(`${label}: no route matched; the scenario is broken`);
  console.log(
    `${label}: ${Math.round(median(runs)).toLocaleString('en')} routes/s (median of ${RUNS}), ${(hits / 1e6).toFixed(2)} queues per message`,
  );
}

for (const bindings of [100, 10_000, 100_000])
  scenario(
    `topic, ${bindings.toLocaleString('en')} bindings`,
    topicTable(bindings),
    'amq.topic',
    deviceKeys(Math.ceil(bindings * 0.8)),
  );

const direct = new RoutingTable({ queueExists: () => false });
for (let i = 0; i < 10_000; i++)
  direct.bind('amq.direct', { kind: 'queue', name: `q${i % 2000}` }, `key-${i}`);
scenario(
  'direct, 10,000 bindings',
  direct,
  'amq.direct',
  Array.from({ length: 10_000 }, (_, i) => `key-${(i * 7919) % 10_000}`),
);
