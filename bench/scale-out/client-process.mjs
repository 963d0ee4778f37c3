// A client role in its own process (roles.mjs), talked to over IPC: wait for a message type, send words.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function startClient(args) {
  const proc = fork(join(here, 'roles.mjs'), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const messages = [];
  const waiters = [];
  const wakeAll = () => {
    for (const w of waiters.splice(0)) w();
  };
  proc.on('message', (m) => {
    messages.push(m);
    wakeAll();
  });
  proc.on('exit', wakeAll);
  const gone = () => proc.exitCode !== null || proc.signalCode !== null;
  const exited = new Promise((r) => (gone() ? r() : proc.once('exit', r)));
  return {
    /** The next IPC message of `type`; rejects if the process exits first or sends an error result. */
    async next(type) {
      for (;;) {
        const i = messages.findIndex((m) => m.type === type || m.error);
        if (i >= 0) {
          const [m] = messages.splice(i, 1);
          if (m.error) throw new Error(`${args[0]} failed: ${m.error}`);
          return m;
        }
        if (gone())
          throw new Error(`${args[0]} exited (${proc.exitCode ?? proc.signalCode}) before '${type}'`);
        await new Promise((r) => waiters.push(r));
      }
    },
    send(word) {
      if (!gone()) proc.send(word);
    },
    exited,
    kill() {
      if (!gone()) proc.kill('SIGKILL');
      return exited;
    },
  };
}
