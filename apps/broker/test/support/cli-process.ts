// Runs the BUILT `conveyor` CLI as a real child process and reads its plain stdout lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_PATH = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Never the defaults: a real RabbitMQ / Mosquitto may hold 5672 / 1883 / 15672 / 15675. */
export const EPHEMERAL_PORTS = [
  '--amqp-port',
  '0',
  '--mqtt-port',
  '0',
  '--mqtt-ws-port',
  '0',
  '--http-port',
  '0',
  '--bind',
  '127.0.0.1',
];

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** Listener name → bound port, from the "<name> listening on <host>:<port>" lines. */
  ports: Map<string, number>;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

function launch(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; out: string[]; err: string[]; exited: Promise<Exit> } {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  const err: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => out.push(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => err.push(chunk));
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: out.join(''), stderr: err.join('') }),
    ),
  );
  return { child, out, err, exited };
}

/** Runs the CLI until it exits by itself (bad options, taken port). */
export function runCli(args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<Exit> {
  return launch(args, cwd, env).exited;
}

/** Starts `conveyor start …` and resolves once it printed "conveyor ready"; rejects if it exits first. */
export async function startCli(
  args: readonly string[],
  cwd: string,
  env?: NodeJS.ProcessEnv,
): Promise<RunningCli> {
  const { child, out, err, exited } = launch(['start', ...args], cwd, env);
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (/^conveyor ready$/m.test(out.join(''))) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    void exited.then((exit) =>
      reject(new Error(`conveyor exited before ready (code ${exit.code}): ${exit.stderr.trim()}`)),
    );
  });
  const ports = new Map<string, number>();
  for (const match of out.join('').matchAll(/^(\S+) listening on (?:\[[^\]]+\]|[^:\s]+):(\d+)$/gm))
    ports.set(match[1] as string, Number(match[2]));
  return {
    child,
    ports,
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    exited,
    stop: (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}
