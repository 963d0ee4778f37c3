// Starts a broker child process and waits for its port; `stop()` ends it (bounded in time).
import { fork } from 'node:child_process';

export function startChild(script, { execArgv = [], args = [] } = {}) {
  const child = fork(new URL(script, import.meta.url), args, {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start in 10 s`)), 10_000);
    child.once('error', reject);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve({
        child,
        port: m.port,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(kill);
              done();
            });
            child.send('stop');
          }),
      });
    });
  });
}
