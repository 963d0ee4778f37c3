// Prometheus metrics, fed by the engine's observer (counters, latencies) and read on scrape
// (queue depths, connections), in a registry of our own so embedders' metrics stay apart.
import type { BridgeStatus } from '@conveyor/bridge';
import type { AuthFailure, Broker, DeadLetterReason, EngineObserver } from '@conveyor/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RateWindow } from './rate-window.js';

export interface MetricsSources {
  /** The broker once it is open (recovery runs before that). */
  broker(): Broker | undefined;
  /** Open connections per protocol. */
  connections(): Record<string, number>;
  /** The configured bridges' status (none when no bridge is configured). */
  bridges(): readonly BridgeStatus[];
  /** MQTT QoS 0 copies dropped since start: their subscriber had `mqtt.qos0BufferBytes` waiting. */
  mqttQos0Dropped(): number;
}

export function queueKey(vhost: string, queue: string): string {
  return `${vhost}\u0000${queue}`;
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly rates = new RateWindow();
  readonly observer: EngineObserver;
  readonly #authFailures: Counter<'protocol' | 'reason'>;
  readonly #backgroundErrors: Counter<'source'>;

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry });
    const labelNames = ['vhost', 'queue'] as const;
    const registers = [this.registry];
    const published = new Counter({
      name: 'conveyor_messages_published_total',
      help: 'Message copies enqueued into a queue',
      labelNames,
      registers,
    });
    const delivered = new Counter({
      name: 'conveyor_messages_delivered_total',
      help: 'Deliveries handed out from a queue (pull and push, redeliveries included)',
      labelNames,
      registers,
    });
    const acked = new Counter({
      name: 'conveyor_messages_acked_total',
      help: 'Deliveries acknowledged',
      labelNames,
      registers,
    });
    const deadLettered = new Counter({
      name: 'conveyor_messages_dead_lettered_total',
      help: 'Messages that left a queue for its dead-letter target (or were dropped for want of one)',
      labelNames: ['vhost', 'queue', 'reason'] as const,
      registers,
    });
    const latency = new Histogram({
      name: 'conveyor_publish_to_ack_seconds',
      help: 'Time from a message entering its queue to its ack',
      labelNames,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers,
    });
    this.observer = {
      published: (vhost, queue, count) => {
        published.inc({ vhost, queue }, count);
        this.rates.add(queueKey(vhost, queue), 'published', count);
      },
      delivered: (vhost, queue, count) => {
        delivered.inc({ vhost, queue }, count);
        this.rates.add(queueKey(vhost, queue), 'delivered', count);
      },
      acked: (vhost, queue, latenciesMs) => {
        acked.inc({ vhost, queue }, latenciesMs.length);
        this.rates.add(queueKey(vhost, queue), 'acked', latenciesMs.length);
        const child = latency.labels({ vhost, queue });
        for (const ms of latenciesMs) child.observe(ms / 1000);
      },
      deadLettered: (vhost, queue, reason: DeadLetterReason, count) =>
        deadLettered.inc({ vhost, queue, reason }, count),
    };
    this.#authFailures = new Counter({
      name: 'conveyor_auth_failures_total',
      help: 'Refused logins (wrong credentials, loopback-only user from afar, vhost refused, anonymous)',
      labelNames: ['protocol', 'reason'] as const,
      registers,
    });
    this.#backgroundErrors = new Counter({
      name: 'conveyor_background_errors_total',
      help: 'Failures of work no client waits on (engine sweeps, protocol sessions, management API), each also logged',
      labelNames: ['source'] as const,
      registers,
    });
    this.#depthGauges(sources);
    this.#bridgeGauges(sources);
    new Counter({
      name: 'conveyor_mqtt_qos0_dropped_total',
      help: 'MQTT QoS 0 copies dropped because their subscriber had mqtt.qos0BufferBytes waiting in its socket',
      registers,
      collect() {
        this.reset();
        this.inc(sources.mqttQos0Dropped());
      },
    });
    new Gauge({
      name: 'conveyor_connections',
      help: 'Open client connections per protocol',
      labelNames: ['protocol'] as const,
      registers,
      collect() {
        this.reset();
        for (const [protocol, count] of Object.entries(sources.connections())) this.set({ protocol }, count);
      },
    });
  }

  /** A refused login of any door (the authenticator's onFailure). */
  authFailed(failure: AuthFailure): void {
    this.#authFailures.inc({ protocol: failure.door, reason: failure.reason });
  }

  /** A failure of background work, already logged. */
  backgroundError(source: 'engine' | 'protocol' | 'management'): void {
    this.#backgroundErrors.inc({ source });
  }

  /** One gauge per bridge figure, read from the bridges' status on scrape. */
  #bridgeGauges(sources: MetricsSources): void {
    const registers = [this.registry];
    const figures: [string, string, (s: BridgeStatus) => number | undefined][] = [
      [
        'conveyor_bridge_connected',
        'Both sides of the bridge connected (1) or not (0)',
        (s) => (s.connected ? 1 : 0),
      ],
      ['conveyor_bridge_moved', 'Messages the bridge moved (sink confirmed) since start', (s) => s.moved],
      [
        'conveyor_bridge_failed',
        'Sends that failed and went back to the source since start',
        (s) => s.failed,
      ],
      [
        'conveyor_bridge_in_flight',
        'Messages received from the source and not yet confirmed by the sink',
        (s) => s.inFlight,
      ],
      ['conveyor_bridge_lag', 'Messages waiting at the source plus those in flight', (s) => s.lag],
      ['conveyor_bridge_reconnects', 'Reconnections since start', (s) => s.reconnects],
    ];
    for (const [name, help, read] of figures) {
      new Gauge({
        name,
        help,
        labelNames: ['bridge'] as const,
        registers,
        collect() {
          this.reset();
          for (const status of sources.bridges()) {
            const value = read(status);
            if (value !== undefined) this.set({ bridge: status.name }, value);
          }
        },
      });
    }
  }

  #depthGauges(sources: MetricsSources): void {
    const registers = [this.registry];
    // prom-client collects metrics concurrently: every depth gauge shares one read of the counters.
    let pending: Promise<QueueDepth[]> | undefined;
    const snapshot = (): Promise<QueueDepth[]> => {
      if (!pending) {
        pending = readDepths(sources.broker());
        void pending.finally(() => setTimeout(() => (pending = undefined), 100).unref());
      }
      return pending;
    };
    const gauge = (name: string, help: string, field: keyof QueueDepth['stats']): void => {
      new Gauge({
        name,
        help,
        labelNames: ['vhost', 'queue'] as const,
        registers,
        async collect() {
          const depths = await snapshot();
          this.reset();
          for (const { vhost, queue, stats } of depths) this.set({ vhost, queue }, stats[field]);
        },
      });
    };
    gauge('conveyor_queue_messages_ready', 'Messages deliverable now', 'ready');
    gauge('conveyor_queue_messages_in_flight', 'Messages held, not yet acked', 'inFlight');
    gauge('conveyor_queue_messages_delayed', 'Messages waiting for their delay', 'delayed');
    gauge('conveyor_queue_consumers', 'Push consumers of a queue', 'consumers');
  }
}

interface QueueDepth {
  vhost: string;
  queue: string;
  stats: { ready: number; inFlight: number; delayed: number; consumers: number };
}

async function readDepths(broker: Broker | undefined): Promise<QueueDepth[]> {
  if (!broker || broker.closed) return [];
  const depths: QueueDepth[] = [];
  for (const name of broker.vhosts()) {
    const vhost = broker.vhost(name);
    for (const queue of await vhost.listQueues()) {
      const stats = await vhost.count(queue.name).catch(() => undefined);
      if (stats) depths.push({ vhost: name, queue: queue.name, stats }); // else deleted meanwhile
    }
  }
  return depths;
}
