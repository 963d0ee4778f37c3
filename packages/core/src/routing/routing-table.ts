import { AccessRefusedError, ExchangeNotFoundError, PreconditionFailedError } from '../errors.js';
import type { Headers } from '../message.js';
import { createMatcher, type ExchangeMatcher, type MatchInput } from './exchange-matchers.js';
import { assertEquivalent, assertExchangeKind, resolveExchangeOptions } from './exchange-options.js';
import { canonicalHeaders } from './header-values.js';
import { validateHeadersBindingArgs } from './headers-match.js';
import { splitTopicKey } from './topic-trie.js';
import type {
  Binding,
  BindingDestination,
  DeclareExchangeFlags,
  DeclareExchangeResult,
  DeleteExchangeFlags,
  ExchangeInfo,
  ExchangeKind,
  ExchangeOptions,
  RouteOptions,
  RouteResult,
  RoutingTableDeps,
  TopologyChanges,
} from './types.js';

interface ExchangeState {
  readonly info: ExchangeInfo;
  readonly matcher: ExchangeMatcher;
  /** Bindings where this exchange is the source, by binding id. */
  readonly outgoing: Map<string, Binding>;
}

const DEFAULT_EXCHANGE = '';
const RESERVED_PREFIX = 'amq.';
const PREDECLARED: readonly [string, ExchangeKind][] = [
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
];
const NO_HEADERS: Readonly<Headers> = Object.freeze({});

function destinationKey(destination: BindingDestination): string {
  return (destination.kind === 'queue' ? 'q:' : 'x:') + destination.name;
}

/** A binding's identity, as in AMQP: source, destination, routing key and arguments. */
function bindingId(
  source: string,
  destination: BindingDestination,
  routingKey: string,
  args: Readonly<Headers>,
): string {
  return JSON.stringify([source, destination.kind, destination.name, routingKey, canonicalHeaders(args)]);
}

function noChanges(): TopologyChanges {
  return { addedBindings: [], removedBindings: [], deletedExchanges: [] };
}

/** The routing key's words are split at most once per route, however many topic exchanges it crosses. */
class RouteInput implements MatchInput {
  private words: readonly string[] | undefined;
  constructor(
    readonly routingKey: string,
    readonly headers: Readonly<Headers>,
  ) {}
  topicWords(): readonly string[] {
    return (this.words ??= splitTopicKey(this.routingKey));
  }
}

/**
 * The exchanges and bindings of one virtual host, and routing over them (AMQP 0-9-1 / RabbitMQ
 * semantics). Pure and synchronous: it never touches a store; every change is returned so the
 * engine can persist it, and the engine replays declare/bind calls at recovery.
 */
/** Distinct routing keys remembered per exchange before that exchange's cache starts over. */
const ROUTE_CACHE_KEYS = 10_000;

export class RoutingTable {
  private readonly exchangesByName = new Map<string, ExchangeState>();
  private readonly bindingsById = new Map<string, Binding>();
  /** Bindings by destination key ('q:name' / 'x:name'), by binding id. */
  private readonly incoming = new Map<string, Map<string, Binding>>();
  private readonly vhost: string;
  /**
   * Routes already computed, by exchange then routing key: MQTT and topic publishers send the same
   * few keys again and again. Only routes that depend on nothing but the key are kept (no headers
   * exchange, no default exchange, whose result depends on which queues exist); any topology change
   * clears it.
   */
  private readonly routeCache = new Map<string, Map<string, RouteResult>>();

  constructor(private readonly deps: RoutingTableDeps) {
    this.vhost = deps.vhost ?? '/';
    this.addExchange(DEFAULT_EXCHANGE, 'direct', resolveExchangeOptions({ durable: true }));
    for (const [name, kind] of PREDECLARED)
      this.addExchange(name, kind, resolveExchangeOptions({ durable: true }));
  }

  declareExchange(
    name: string,
    kind: ExchangeKind,
    options: ExchangeOptions = {},
    flags: DeclareExchangeFlags = {},
  ): DeclareExchangeResult {
    this.refuseDefault(name);
    const existing = this.exchangesByName.get(name);
    if (flags.passive) {
      if (!existing) throw new ExchangeNotFoundError(name, this.vhost);
      return { exchange: existing.info, created: false };
    }
    assertExchangeKind(kind);
    const resolved = resolveExchangeOptions(options);
    if (existing) {
      assertEquivalent(existing.info, kind, resolved, this.vhost);
      return { exchange: existing.info, created: false };
    }
    // AMQP: the reserved prefix only bars creation; redeclaring an existing amq.* exchange is fine.
    if (name.startsWith(RESERVED_PREFIX) && !flags.allowReserved) {
      throw new AccessRefusedError(`exchange name '${name}' contains reserved prefix 'amq.*'`);
    }
    return { exchange: this.addExchange(name, kind, resolved).info, created: true };
  }

  /** Deleting an exchange that does not exist is a no-op, as in RabbitMQ. */
  deleteExchange(name: string, flags: DeleteExchangeFlags = {}): TopologyChanges {
    this.refuseDefault(name);
    if (name.startsWith(RESERVED_PREFIX) && !flags.allowReserved) {
      throw new AccessRefusedError(
        `deletion of system exchange '${name}' in vhost '${this.vhost}' not allowed`,
      );
    }
    const changes = noChanges();
    const exchange = this.exchangesByName.get(name);
    if (!exchange) return changes;
    if (flags.ifUnused && exchange.outgoing.size > 0) {
      throw new PreconditionFailedError(`exchange '${name}' in vhost '${this.vhost}' in use`);
    }
    this.removeExchange(exchange, changes);
    return changes;
  }

  /** Idempotent. The engine checks that a destination queue exists before calling. */
  bind(
    source: string,
    destination: BindingDestination,
    routingKey: string,
    args: Headers = {},
  ): TopologyChanges {
    const exchange = this.bindingEnds(source, destination);
    if (exchange.info.kind === 'headers') validateHeadersBindingArgs(args);
    const changes = noChanges();
    const id = bindingId(source, destination, routingKey, args);
    if (this.bindingsById.has(id)) return changes;
    const binding: Binding = Object.freeze({
      source,
      destination: Object.freeze({ kind: destination.kind, name: destination.name }),
      routingKey,
      arguments: Object.freeze({ ...args }),
    });
    this.routeCache.clear();
    this.bindingsById.set(id, binding);
    exchange.outgoing.set(id, binding);
    exchange.matcher.add(binding);
    const key = destinationKey(destination);
    let byId = this.incoming.get(key);
    if (!byId) this.incoming.set(key, (byId = new Map()));
    byId.set(id, binding);
    changes.addedBindings.push(binding);
    return changes;
  }

  /** Idempotent: removing a binding that does not exist changes nothing. May auto-delete the source. */
  unbind(
    source: string,
    destination: BindingDestination,
    routingKey: string,
    args: Headers = {},
  ): TopologyChanges {
    this.bindingEnds(source, destination);
    const changes = noChanges();
    const id = bindingId(source, destination, routingKey, args);
    if (!this.bindingsById.has(id)) return changes;
    this.detach(id, changes);
    this.autoDeleteIfUnused(source, changes);
    return changes;
  }

  /** Drops every binding to a deleted queue (auto-deleting sources left without bindings). */
  removeQueue(name: string): TopologyChanges {
    const changes = noChanges();
    this.detachIncoming(destinationKey({ kind: 'queue', name }), changes);
    return changes;
  }

  route(
    exchange: string,
    routingKey: string,
    headers?: Readonly<Headers>,
    options?: RouteOptions,
  ): RouteResult {
    const start = this.exchangesByName.get(exchange);
    if (!start) throw new ExchangeNotFoundError(exchange, this.vhost);
    if (options?.rejectInternal && start.info.options.internal) {
      throw new AccessRefusedError(
        `cannot publish to internal exchange '${exchange}' in vhost '${this.vhost}'`,
      );
    }
    const cached = this.routeCache.get(exchange)?.get(routingKey);
    if (cached) return cached;
    let cacheable = true;
    const input = new RouteInput(routingKey, headers ?? NO_HEADERS);
    const queues = new Set<string>();
    // Exchanges reached through bindings or alternates; allocated only when the first one is found.
    let seen: Set<string> | undefined;
    let pending: ExchangeState[] | undefined;
    let found: string[] | undefined;
    let matched: boolean;
    const emit = (binding: Binding): void => {
      matched = true;
      if (binding.destination.kind === 'queue') queues.add(binding.destination.name);
      else (found ??= []).push(binding.destination.name);
    };
    for (let current: ExchangeState | undefined = start; current; current = pending?.pop()) {
      matched = false;
      if (current.info.kind === 'headers') cacheable = false;
      if (current.info.name === DEFAULT_EXCHANGE) {
        cacheable = false;
        // Reachable here only as the start or as someone's alternate exchange.
        if (this.deps.queueExists(routingKey)) queues.add(routingKey);
        continue;
      }
      current.matcher.match(input, emit);
      // RabbitMQ: the alternate is used when the exchange itself matched no binding at all.
      if (!matched && current.info.options.alternateExchange !== undefined) {
        (found ??= []).push(current.info.options.alternateExchange);
      }
      if (!found) continue;
      seen ??= new Set([start.info.name]);
      for (const name of found) {
        if (seen.has(name)) continue; // cycle, or already routed through
        seen.add(name);
        const next = this.exchangesByName.get(name);
        if (next) (pending ??= []).push(next);
      }
      found = undefined;
    }
    const result: RouteResult = Object.freeze({
      queues: Object.freeze([...queues]),
      unroutable: queues.size === 0,
    });
    if (cacheable) this.remember(exchange, routingKey, result);
    return result;
  }

  private remember(exchange: string, routingKey: string, result: RouteResult): void {
    let byKey = this.routeCache.get(exchange);
    if (!byKey) this.routeCache.set(exchange, (byKey = new Map()));
    else if (byKey.size >= ROUTE_CACHE_KEYS) byKey.clear(); // many distinct keys: start over rather than grow
    byKey.set(routingKey, result);
  }

  hasExchange(name: string): boolean {
    return this.exchangesByName.has(name);
  }

  getExchange(name: string): ExchangeInfo | undefined {
    return this.exchangesByName.get(name)?.info;
  }

  /** Every exchange, the default one (`''`) and the predeclared `amq.*` ones included. */
  exchanges(): ExchangeInfo[] {
    return [...this.exchangesByName.values()].map((x) => x.info);
  }

  /** Every explicit binding (the default exchange's implicit per-queue bindings are not listed). */
  bindings(): Binding[] {
    return [...this.bindingsById.values()];
  }

  bindingsTo(queue: string): Binding[] {
    return [...(this.incoming.get(destinationKey({ kind: 'queue', name: queue }))?.values() ?? [])];
  }

  bindingsFrom(exchange: string): Binding[] {
    return [...(this.exchangesByName.get(exchange)?.outgoing.values() ?? [])];
  }

  private addExchange(name: string, kind: ExchangeKind, options: ExchangeInfo['options']): ExchangeState {
    this.routeCache.clear();
    const state: ExchangeState = {
      info: Object.freeze({ name, kind, options }),
      matcher: createMatcher(kind),
      outgoing: new Map(),
    };
    this.exchangesByName.set(name, state);
    return state;
  }

  private refuseDefault(name: string): void {
    if (name === DEFAULT_EXCHANGE)
      throw new AccessRefusedError('operation not permitted on the default exchange');
  }

  /** Checks both ends of a (un)binding and returns the source exchange. */
  private bindingEnds(source: string, destination: BindingDestination): ExchangeState {
    this.refuseDefault(source);
    if (destination.kind === 'exchange') this.refuseDefault(destination.name);
    const exchange = this.exchangesByName.get(source);
    if (!exchange) throw new ExchangeNotFoundError(source, this.vhost);
    if (destination.kind === 'exchange' && !this.exchangesByName.has(destination.name)) {
      throw new ExchangeNotFoundError(destination.name, this.vhost);
    }
    return exchange;
  }

  /** Removes one binding from every index; the caller decides about auto-delete. */
  private detach(id: string, changes: TopologyChanges): void {
    const binding = this.bindingsById.get(id);
    if (!binding) return;
    this.routeCache.clear();
    this.bindingsById.delete(id);
    const source = this.exchangesByName.get(binding.source);
    if (source) {
      source.outgoing.delete(id);
      source.matcher.remove(binding);
    }
    const key = destinationKey(binding.destination);
    const byId = this.incoming.get(key);
    if (byId?.delete(id) && byId.size === 0) this.incoming.delete(key);
    changes.removedBindings.push(binding);
  }

  /** Removes every binding to a destination, then auto-deletes the sources that lost their last one. */
  private detachIncoming(key: string, changes: TopologyChanges): void {
    const byId = this.incoming.get(key);
    if (!byId) return;
    const sources = new Set<string>();
    for (const [id, binding] of [...byId]) {
      sources.add(binding.source);
      this.detach(id, changes);
    }
    for (const source of sources) this.autoDeleteIfUnused(source, changes);
  }

  private autoDeleteIfUnused(name: string, changes: TopologyChanges): void {
    const exchange = this.exchangesByName.get(name);
    if (exchange?.info.options.autoDelete && exchange.outgoing.size === 0)
      this.removeExchange(exchange, changes);
  }

  /** Deletes an exchange with its bindings both ways; cascades to auto-delete sources, as RabbitMQ does. */
  private removeExchange(exchange: ExchangeState, changes: TopologyChanges): void {
    const name = exchange.info.name;
    this.routeCache.clear();
    this.exchangesByName.delete(name);
    changes.deletedExchanges.push(name);
    for (const id of [...exchange.outgoing.keys()]) this.detach(id, changes);
    this.detachIncoming(destinationKey({ kind: 'exchange', name }), changes);
  }
}
