import { describe, expect, it } from 'vitest';
import { ExchangeNotFoundError, PreconditionFailedError } from '../../src/errors.js';
import { RoutingTable, type Binding } from '../../src/routing/index.js';

const table = (): RoutingTable => new RoutingTable({ queueExists: () => false });
const q = (name: string) => ({ kind: 'queue', name }) as const;
const x = (name: string) => ({ kind: 'exchange', name }) as const;
const show = (bs: Binding[]): string[] =>
  bs.map((b) => `${b.source}->${b.destination.kind}:${b.destination.name}/${b.routingKey}`).sort();

describe('bind / unbind', () => {
  it('bind is idempotent and reports only a new binding', () => {
    const t = table();
    const first = t.bind('amq.direct', q('q'), 'k', { a: 1 });
    expect(first.addedBindings).toEqual([
      { source: 'amq.direct', destination: q('q'), routingKey: 'k', arguments: { a: 1 } },
    ]);
    expect(t.bind('amq.direct', q('q'), 'k', { a: 1 }).addedBindings).toEqual([]);
    expect(t.bindings()).toHaveLength(1);
  });

  it('treats routing key and arguments as part of a binding’s identity', () => {
    const t = table();
    t.bind('amq.direct', q('q'), 'k');
    t.bind('amq.direct', q('q'), 'k2');
    t.bind('amq.direct', q('q'), 'k', { a: 1 });
    t.bind('amq.direct', q('q'), 'k', { a: 2 });
    expect(t.bindings()).toHaveLength(4);
    // Key order in arguments does not matter.
    t.bind('amq.direct', q('q'), 'k', { a: 1, b: 2 });
    expect(t.bind('amq.direct', q('q'), 'k', { b: 2, a: 1 }).addedBindings).toEqual([]);
  });

  it('unbind removes exactly the matching binding and is a no-op for an absent one', () => {
    const t = table();
    t.bind('amq.direct', q('q'), 'k', { a: 1 });
    t.bind('amq.direct', q('q'), 'k');
    expect(t.unbind('amq.direct', q('q'), 'k', { a: 2 })).toEqual({
      addedBindings: [],
      removedBindings: [],
      deletedExchanges: [],
    });
    const removed = t.unbind('amq.direct', q('q'), 'k', { a: 1 });
    expect(removed.removedBindings).toEqual([
      { source: 'amq.direct', destination: q('q'), routingKey: 'k', arguments: { a: 1 } },
    ]);
    expect(show(t.bindings())).toEqual(['amq.direct->queue:q/k']);
    expect(t.route('amq.direct', 'k').queues).toEqual(['q']);
    t.unbind('amq.direct', q('q'), 'k');
    expect(t.route('amq.direct', 'k').unroutable).toBe(true);
  });

  it('throws ExchangeNotFoundError for an unknown source or destination exchange', () => {
    const t = table();
    expect(() => t.bind('nope', q('q'), '')).toThrow(ExchangeNotFoundError);
    expect(() => t.bind('amq.fanout', x('nope'), '')).toThrow(ExchangeNotFoundError);
    expect(() => t.unbind('nope', q('q'), '')).toThrow(ExchangeNotFoundError);
    expect(() => t.unbind('amq.fanout', x('nope'), '')).toThrow(ExchangeNotFoundError);
    expect(t.bindings()).toEqual([]);
  });

  it('validates x-match on headers exchanges only', () => {
    const t = table();
    expect(() => t.bind('amq.headers', q('q'), '', { 'x-match': 'some' })).toThrow(PreconditionFailedError);
    expect(() => t.bind('amq.match', q('q'), '', { 'x-match': 1 })).toThrow(PreconditionFailedError);
    expect(t.bindings()).toEqual([]);
    expect(t.bind('amq.direct', q('q'), '', { 'x-match': 'some' }).addedBindings).toHaveLength(1);
  });

  it('returns bindings that later calls cannot corrupt', () => {
    const t = table();
    const args: Record<string, string> = { a: '1' };
    t.bind('amq.headers', q('q'), '', args);
    args['a'] = '2';
    expect(t.route('amq.headers', '', { a: '1' }).queues).toEqual(['q']);
    expect(Object.isFrozen(t.bindings()[0])).toBe(true);
  });
});

describe('auto-delete', () => {
  it('deletes an auto-delete exchange when its last outgoing binding is unbound, not before', () => {
    const t = table();
    t.declareExchange('ad', 'fanout', { autoDelete: true });
    t.bind('ad', q('a'), '');
    t.bind('ad', q('b'), '');
    expect(t.unbind('ad', q('a'), '').deletedExchanges).toEqual([]);
    expect(t.hasExchange('ad')).toBe(true);
    expect(t.unbind('ad', q('b'), '').deletedExchanges).toEqual(['ad']);
    expect(t.hasExchange('ad')).toBe(false);
  });

  it('keeps an auto-delete exchange that never had bindings, and one that is only a destination', () => {
    const t = table();
    t.declareExchange('ad', 'fanout', { autoDelete: true });
    t.bind('amq.fanout', x('ad'), '');
    t.unbind('amq.fanout', x('ad'), '');
    expect(t.hasExchange('ad')).toBe(true);
  });

  it('deletes when the last binding goes because its queue was removed', () => {
    const t = table();
    t.declareExchange('ad', 'topic', { autoDelete: true });
    t.bind('ad', q('gone'), 'a.#');
    t.bind('amq.topic', q('gone'), '#');
    t.bind('amq.topic', q('kept'), '#');
    const changes = t.removeQueue('gone');
    expect(show(changes.removedBindings)).toEqual(['ad->queue:gone/a.#', 'amq.topic->queue:gone/#']);
    expect(changes.deletedExchanges).toEqual(['ad']);
    expect(t.bindingsTo('gone')).toEqual([]);
    expect(t.route('amq.topic', 'a.b').queues).toEqual(['kept']);
  });

  it('cascades: deleting a destination exchange can auto-delete its sources, recursively', () => {
    const t = table();
    t.declareExchange('top', 'fanout', { autoDelete: true });
    t.declareExchange('mid', 'fanout', { autoDelete: true });
    t.declareExchange('leaf', 'fanout');
    t.bind('top', x('mid'), '');
    t.bind('mid', x('leaf'), '');
    const changes = t.deleteExchange('leaf');
    expect(changes.deletedExchanges).toEqual(['leaf', 'mid', 'top']);
    expect(show(changes.removedBindings)).toEqual(['mid->exchange:leaf/', 'top->exchange:mid/']);
    expect(t.bindings()).toEqual([]);
  });

  it('survives an exchange bound to itself', () => {
    const t = table();
    t.declareExchange('self', 'fanout', { autoDelete: true });
    t.bind('self', x('self'), '');
    expect(t.route('self', '').unroutable).toBe(true);
    expect(t.unbind('self', x('self'), '').deletedExchanges).toEqual(['self']);
  });
});

describe('listing', () => {
  it('lists bindings, bindings to a queue and from an exchange', () => {
    const t = table();
    t.declareExchange('e', 'direct');
    t.bind('amq.direct', q('a'), 'k');
    t.bind('e', q('a'), 'k');
    t.bind('e', q('b'), 'k');
    t.bind('amq.fanout', x('e'), '');
    expect(show(t.bindings())).toEqual([
      'amq.direct->queue:a/k',
      'amq.fanout->exchange:e/',
      'e->queue:a/k',
      'e->queue:b/k',
    ]);
    expect(show(t.bindingsTo('a'))).toEqual(['amq.direct->queue:a/k', 'e->queue:a/k']);
    expect(show(t.bindingsTo('e'))).toEqual([]); // an exchange named like a queue is not a queue
    expect(show(t.bindingsFrom('e'))).toEqual(['e->queue:a/k', 'e->queue:b/k']);
    expect(t.bindingsTo('none')).toEqual([]);
  });

  it('removeQueue of a queue without bindings changes nothing', () => {
    expect(table().removeQueue('q')).toEqual({
      addedBindings: [],
      removedBindings: [],
      deletedExchanges: [],
    });
  });
});
