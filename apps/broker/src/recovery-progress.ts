import { Broker, type BrokerOptions } from '@conveyor/core';

export type RecoveryProgress =
  | { phase: 'recovering'; elapsedMs: number }
  | { phase: 'recovered'; elapsedMs: number; queues: number; messages: number };

/**
 * Opens the engine (which recovers the store first). A recovery that takes longer than
 * `afterMs` is reported every `afterMs` while it runs, and once more with what it recovered,
 * so an operator watching a slow start knows it is not stuck.
 */
export async function openWithProgress(
  options: BrokerOptions,
  afterMs: number,
  report: (progress: RecoveryProgress) => void,
): Promise<Broker> {
  const started = Date.now();
  const timer = setInterval(
    () => report({ phase: 'recovering', elapsedMs: Date.now() - started }),
    Math.max(afterMs, 1),
  );
  let broker: Broker;
  try {
    broker = await Broker.open(options);
  } finally {
    clearInterval(timer);
  }
  const elapsedMs = Date.now() - started;
  if (elapsedMs >= afterMs) {
    let queues = 0;
    let messages = 0;
    for (const name of broker.vhosts()) {
      const vhost = broker.vhost(name);
      for (const queue of await vhost.listQueues()) {
        const stats = await vhost.count(queue.name);
        queues += 1;
        messages += stats.ready + stats.inFlight + stats.delayed;
      }
    }
    report({ phase: 'recovered', elapsedMs, queues, messages });
  }
  return broker;
}
