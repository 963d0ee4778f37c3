// Prints the functions with the most self time in a V8 CPU profile (from `node --cpu-prof`).
//   node bench/profile-top.js <file.cpuprofile> [rows=25]
import { readFileSync } from 'node:fs';

const [file, rowsArg] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const selfTime = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const { functionName, url, lineNumber } = nodes.get(id).callFrame;
  const key = `${functionName || '(anonymous)'}  ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  selfTime.set(key, (selfTime.get(key) ?? 0) + dt);
});
const rows = [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsArg ?? 25));
for (const [key, time] of rows) console.log(`${((time / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
