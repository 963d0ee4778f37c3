import { describe, expect, it } from 'vitest';
import { AccessRefusedError, ExchangeNotFoundError } from '../../src/errors.js';
import { RoutingTable } from '../../src/routing/index.js';

const q = (name: string) => ({ kind: 'queue', name }) as const;
const x = (name: string) => ({ kind: 'exchange', name }) as const;

function tableWithQueues(...queues: string[]): RoutingTable {
  const existing = new Set(queues);
  return new RoutingTable({ queueExists: (name) => existing.has(name) });
}

const sorted = (xs: string[]): string[] => [...xs].sort();

describe('route', () => {
  it('default exchange routes to the queue named by the routing key, if it exists', () => {
    const t = tableWithQueues('orders');
    expect(t.route('', 'orders')).toEqual({ queues: ['orders'], unroutable: false });
    expect(t.route('', 'missing')).toEqual({ queues: [], unroutable: true });
  });

  it('direct routes on the exact key', () => {
    const t = tableWithQueues();
    t.bind('amq.direct', q('a'), 'k');
    t.bind('amq.direct', q('b'), 'k');
    t.bind('amq.direct', q('c'), 'other');
    expect(sorted(t.route('amq.direct', 'k').queues)).toEqual(['a', 'b']);
    expect(t.route('amq.direct', 'K').unroutable).toBe(true);
    expect(t.route('amq.direct', '').unroutable).toBe(true);
  });

  it('fanout ignores the routing key', () => {
    const t = tableWithQueues();
    t.bind('amq.fanout', q('a'), 'ignored');
    t.bind('amq.fanout', q('b'), '');
    expect(sorted(t.route('amq.fanout', 'anything').queues)).toEqual(['a', 'b']);
  });

  it('lists each queue once however many bindings lead to it', () => {
    const t = tableWithQueues();
    t.bind('amq.topic', q('a'), '#');
    t.bind('amq.topic', q('a'), 'x.*');
    t.bind('amq.topic', q('a'), 'x.y');
    t.bind('amq.topic', q('a'), 'x.y', { note: 'different args, same queue' });
    t.declareExchange('side', 'fanout');
    t.bind('amq.topic', x('side'), '#');
    t.bind('side', q('a'), '');
    expect(t.route('amq.topic', 'x.y').queues).toEqual(['a']);
  });

  it('throws ExchangeNotFoundError for an unknown exchange', () => {
    expect(() => tableWithQueues().route('nope', 'k')).toThrow(ExchangeNotFoundError);
  });

  it('refuses client publishes to an internal exchange, which still routes as a binding destination', () => {
    const t = tableWithQueues();
    t.declareExchange('inner', 'fanout', { internal: true });
    t.bind('inner', q('a'), '');
    t.bind('amq.fanout', x('inner'), '');
    expect(() => t.route('inner', '', {}, { rejectInternal: true })).toThrow(AccessRefusedError);
    expect(t.route('inner', '').queues).toEqual(['a']);
    expect(t.route('amq.fanout', '', {}, { rejectInternal: true }).queues).toEqual(['a']);
  });
});

describe('exchange-to-exchange bindings', () => {
  it('follows chains and matches each hop with its own kind', () => {
    const t = tableWithQueues();
    t.declareExchange('hop1', 'topic');
    t.declareExchange('hop2', 'direct');
    t.bind('amq.fanout', x('hop1'), '');
    t.bind('hop1', x('hop2'), 'a.*');
    t.bind('hop2', q('end'), 'a.b');
    t.bind('hop2', q('never'), 'zzz');
    expect(t.route('amq.fanout', 'a.b').queues).toEqual(['end']);
    expect(t.route('amq.fanout', 'a.c').unroutable).toBe(true);
  });

  it('is cycle-safe', () => {
    const t = tableWithQueues();
    t.declareExchange('p', 'fanout');
    t.declareExchange('r', 'fanout');
    t.bind('p', x('r'), '');
    t.bind('r', x('p'), '');
    t.bind('r', q('out'), '');
    expect(t.route('p', '').queues).toEqual(['out']);
    expect(t.route('r', '').queues).toEqual(['out']);
  });

  it('stops routing through an exchange once it is deleted', () => {
    const t = tableWithQueues();
    t.declareExchange('mid', 'fanout');
    t.bind('amq.fanout', x('mid'), '');
    t.bind('mid', q('a'), '');
    t.deleteExchange('mid');
    expect(t.route('amq.fanout', '').unroutable).toBe(true);
  });
});

describe('alternate exchanges', () => {
  it('routes to the alternate only when no binding matched', () => {
    const t = tableWithQueues();
    t.declareExchange('ae', 'fanout');
    t.bind('ae', q('unrouted'), '');
    t.declareExchange('main', 'direct', { alternateExchange: 'ae' });
    t.bind('main', q('hit'), 'k');
    expect(t.route('main', 'k').queues).toEqual(['hit']);
    expect(t.route('main', 'other').queues).toEqual(['unrouted']);
  });

  it('does not use the alternate when a binding matched even if it led nowhere (RabbitMQ)', () => {
    const t = tableWithQueues();
    t.declareExchange('ae', 'fanout');
    t.bind('ae', q('unrouted'), '');
    t.declareExchange('empty', 'fanout');
    t.declareExchange('main', 'fanout', { alternateExchange: 'ae' });
    t.bind('main', x('empty'), '');
    expect(t.route('main', '').unroutable).toBe(true);
  });

  it('follows a chain of alternates, cycle-safe, and ignores a missing one', () => {
    const t = tableWithQueues();
    t.declareExchange('a1', 'direct', { alternateExchange: 'a2' });
    t.declareExchange('a2', 'direct', { alternateExchange: 'a3' });
    t.declareExchange('a3', 'fanout', { alternateExchange: 'a1' });
    t.declareExchange('main', 'direct', { alternateExchange: 'a1' });
    expect(t.route('main', 'k').unroutable).toBe(true); // a1 → a2 → a3 → a1: stops
    t.bind('a3', q('last'), '');
    expect(t.route('main', 'k').queues).toEqual(['last']);
    t.declareExchange('lost', 'direct', { alternateExchange: 'does-not-exist' });
    expect(t.route('lost', 'k').unroutable).toBe(true);
  });

  it('applies to exchanges reached through bindings too', () => {
    const t = tableWithQueues();
    t.declareExchange('ae', 'fanout');
    t.bind('ae', q('caught'), '');
    t.declareExchange('inner', 'direct', { alternateExchange: 'ae' });
    t.bind('amq.fanout', x('inner'), '');
    t.bind('amq.fanout', q('direct-copy'), '');
    expect(sorted(t.route('amq.fanout', 'k').queues)).toEqual(['caught', 'direct-copy']);
  });

  it('can be the default exchange, which then routes by queue name', () => {
    const t = tableWithQueues('k');
    t.declareExchange('main', 'direct', { alternateExchange: '' });
    expect(t.route('main', 'k').queues).toEqual(['k']);
    expect(t.route('main', 'nope').unroutable).toBe(true);
  });
});

describe('route cache', () => {
  it('a cached route follows every topology change (bind, unbind, queue removal, exchange deletion)', () => {
    const queues = new Set(['a', 'b']);
    const table = new RoutingTable({ queueExists: (name) => queues.has(name) });
    table.declareExchange('t', 'topic');
    table.bind('t', { kind: 'queue', name: 'a' }, 'x.*');
    expect(table.route('t', 'x.y').queues).toEqual(['a']);
    expect(table.route('t', 'x.y').queues).toEqual(['a']); // served from the cache
    table.bind('t', { kind: 'queue', name: 'b' }, 'x.#');
    expect([...table.route('t', 'x.y').queues].sort()).toEqual(['a', 'b']);
    table.unbind('t', { kind: 'queue', name: 'a' }, 'x.*');
    expect(table.route('t', 'x.y').queues).toEqual(['b']);
    table.removeQueue('b');
    expect(table.route('t', 'x.y')).toEqual({ queues: [], unroutable: true });
    table.deleteExchange('t');
    expect(() => table.route('t', 'x.y')).toThrow();
  });

  it('routes through the default exchange are not cached (they depend on which queues exist)', () => {
    const queues = new Set<string>();
    const table = new RoutingTable({ queueExists: (name) => queues.has(name) });
    expect(table.route('', 'q').unroutable).toBe(true);
    queues.add('q');
    expect(table.route('', 'q').queues).toEqual(['q']);
  });
});
