import type { BridgeMessage } from './message.js';

/** Called once when a connected endpoint goes away; the bridge then reconnects both sides. */
export type LostHandler = (err: Error) => void;

/** A message handed out by a source; settled through the same source (and only on its connection). */
export interface SourceMessage {
  readonly message: BridgeMessage;
  /** The connection it came on: settling after a reconnect is a no-op, the source redelivers it. */
  readonly generation: number;
}

interface Endpoint {
  /** Where it points (URL without password, queue or topic), for messages and status. */
  readonly description: string;
  /** Connects and checks the target exists; rejects with a BridgeError. */
  open(onLost: LostHandler): Promise<void>;
  /** Closes cleanly: a source stops delivering first; unsettled messages go back to the source broker. */
  close(): Promise<void>;
  /** Drops the connection at once, settling nothing: what a crash does. */
  abort(): void;
}

export interface SourceEndpoint extends Endpoint {
  /** Starts delivering; at most `window` messages are unsettled at once. */
  start(onMessage: (message: SourceMessage) => void, window: number): Promise<void>;
  /** The sink confirmed it: the source may forget it. */
  ack(message: SourceMessage): Promise<void>;
  /** Give it back to be delivered again (where the protocol can; MQTT waits for the reconnect). */
  nack(message: SourceMessage): Promise<void>;
  /** Messages waiting at the source, when it can tell (AMQP, Conveyor); undefined otherwise. */
  backlog(): Promise<number | undefined>;
}

export interface SinkEndpoint extends Endpoint {
  /** Resolves once the sink confirmed it (publisher confirm, PUBACK, durable send). */
  send(message: BridgeMessage): Promise<SinkOutcome>;
}

/** What the sink said: `duplicate` when Conveyor's duplicate detection dropped it. */
export type SinkOutcome = 'stored' | 'duplicate';
