import type { Headers } from '../message.js';

export type ExchangeKind = 'direct' | 'fanout' | 'topic' | 'headers';

export const EXCHANGE_KINDS: readonly ExchangeKind[] = ['direct', 'fanout', 'topic', 'headers'];

export interface ExchangeOptions {
  /** Survives a broker restart (the engine persists it). Default false, as in AMQP. */
  durable?: boolean;
  /** Deleted when its last binding as a source is removed (never merely for having none). */
  autoDelete?: boolean;
  /** Clients may not publish to it; it is reached only through exchange-to-exchange bindings or as an alternate. */
  internal?: boolean;
  /** Where messages go that match no binding; wins over the `alternate-exchange` argument. */
  alternateExchange?: string;
  /**
   * A delayed publish (`delayMs`, `deliverAt`) is held and routed when its delay is over, so the
   * bindings of that moment decide where it goes (RabbitMQ's delayed-message exchange). Default
   * false: it is routed at once and held in each queue it reached.
   */
  delayed?: boolean;
  arguments?: Headers;
}

/** Options as stored: defaults applied, the alternate exchange resolved from option or argument. */
export interface ResolvedExchangeOptions {
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly alternateExchange?: string;
  readonly delayed?: true;
  readonly arguments: Readonly<Headers>;
}

export interface ExchangeInfo {
  readonly name: string;
  readonly kind: ExchangeKind;
  readonly options: ResolvedExchangeOptions;
}

export interface BindingDestination {
  readonly kind: 'queue' | 'exchange';
  readonly name: string;
}

export interface Binding {
  readonly source: string;
  readonly destination: BindingDestination;
  readonly routingKey: string;
  readonly arguments: Readonly<Headers>;
}

export interface DeclareExchangeFlags {
  /** Only check that the exchange exists (AMQP passive declare); options are ignored. */
  passive?: boolean;
  /** Lets the broker itself create `amq.*` exchanges (clients may not). */
  allowReserved?: boolean;
}

export interface DeclareExchangeResult {
  exchange: ExchangeInfo;
  /** False when the exchange already existed (an equivalent redeclare or a passive declare). */
  created: boolean;
}

export interface DeleteExchangeFlags {
  /** Refuse (PreconditionFailedError) when the exchange is the source of any binding. */
  ifUnused?: boolean;
  /** Lets the broker itself delete `amq.*` exchanges (clients may not). */
  allowReserved?: boolean;
}

/** What a topology call changed, so the engine can persist it and notify. */
export interface TopologyChanges {
  addedBindings: Binding[];
  removedBindings: Binding[];
  /** The exchange deleted by name, plus auto-delete exchanges that lost their last outgoing binding. */
  deletedExchanges: string[];
}

export interface RouteOptions {
  /** Throw AccessRefusedError for an internal exchange: set it for client publishes. */
  rejectInternal?: boolean;
}

export interface RouteResult {
  /** Each destination queue once, however many bindings or exchanges lead to it. */
  queues: readonly string[];
  unroutable: boolean;
}

export interface RoutingTableDeps {
  /** Whether a queue exists: the default exchange routes to the queue named by the routing key. */
  queueExists(name: string): boolean;
  /** Only for error messages. Default '/'. */
  vhost?: string;
}
