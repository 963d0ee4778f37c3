// Self time of a V8 CPU profile grouped by where the code lives (engine, MQTT door, mqtt-packet,
// Node internals, GC, idle), then the top functions of each area.
//   node bench/mqtt/profile-areas.js <file.cpuprofile> [rows per area=8]
import { readFileSync } from 'node:fs';

const [file, rowsArg] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));

function area(frame) {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (url.includes('/packages/core/')) return 'core (engine, store, routing)';
  if (url.includes('/packages/mqtt/')) return 'mqtt door';
  if (url.includes('/node_modules/mqtt-packet/') || url.includes('/node_modules/bl/'))
    return 'mqtt-packet (parser, generate)';
  if (url.includes('/node_modules/debug/')) return 'debug (called by mqtt-packet)';
  if (url.startsWith('node:') || url === '') return 'node internals, native, microtasks';
  return 'other';
}

let total = 0;
const byArea = new Map();
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const frame = nodes.get(id).callFrame;
  const a = area(frame);
  const key = `${frame.functionName || '(anonymous)'}  ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
  const entry = byArea.get(a) ?? { time: 0, fns: new Map() };
  entry.time += dt;
  entry.fns.set(key, (entry.fns.get(key) ?? 0) + dt);
  byArea.set(a, entry);
});
const pct = (t) => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
for (const [name, { time, fns }] of [...byArea].sort((a, b) => b[1].time - a[1].time)) {
  console.log(`${pct(time)}  ${name}`);
  for (const [key, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsArg ?? 8)))
    console.log(`        ${pct(t)}  ${key}`);
}
