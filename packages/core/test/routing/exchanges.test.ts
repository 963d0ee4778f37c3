import { describe, expect, it } from 'vitest';
import {
  AccessRefusedError,
  ExchangeNotFoundError,
  InvalidArgumentError,
  PreconditionFailedError,
} from '../../src/errors.js';
import { RoutingTable, type ExchangeKind } from '../../src/routing/index.js';

const table = (): RoutingTable => new RoutingTable({ queueExists: () => false, vhost: 'v1' });

describe('predeclared exchanges', () => {
  it('has the default exchange and the amq.* exchanges, all durable', () => {
    const kinds = Object.fromEntries(
      table()
        .exchanges()
        .map((x) => [x.name, x.kind]),
    );
    expect(kinds).toEqual({
      '': 'direct',
      'amq.direct': 'direct',
      'amq.fanout': 'fanout',
      'amq.topic': 'topic',
      'amq.headers': 'headers',
      'amq.match': 'headers',
    });
    expect(
      table()
        .exchanges()
        .every((x) => x.options.durable && !x.options.autoDelete && !x.options.internal),
    ).toBe(true);
  });

  it('refuses any declare of the default exchange, passive or not (RabbitMQ 403)', () => {
    const t = table();
    expect(() => t.declareExchange('', 'direct', { durable: true })).toThrow(AccessRefusedError);
    expect(() => t.declareExchange('', 'direct', {}, { passive: true })).toThrow(AccessRefusedError);
    expect(() => t.declareExchange('', 'fanout')).toThrow('operation not permitted on the default exchange');
  });

  it('refuses to delete the default exchange or bind to or from it', () => {
    const t = table();
    t.declareExchange('x', 'fanout');
    expect(() => t.deleteExchange('')).toThrow(AccessRefusedError);
    expect(() => t.bind('', { kind: 'queue', name: 'q' }, 'q')).toThrow(AccessRefusedError);
    expect(() => t.unbind('', { kind: 'queue', name: 'q' }, 'q')).toThrow(AccessRefusedError);
    expect(() => t.bind('x', { kind: 'exchange', name: '' }, '')).toThrow(AccessRefusedError);
  });

  it('refuses to create amq.* exchanges unless reserved names are allowed', () => {
    const t = table();
    expect(() => t.declareExchange('amq.custom', 'topic')).toThrow(AccessRefusedError);
    expect(t.hasExchange('amq.custom')).toBe(false);
    expect(t.declareExchange('amq.custom', 'topic', {}, { allowReserved: true }).created).toBe(true);
  });

  it('allows redeclaring an existing amq.* exchange equivalently and passively (AMQP rule)', () => {
    const t = table();
    expect(t.declareExchange('amq.topic', 'topic', { durable: true })).toMatchObject({ created: false });
    expect(t.declareExchange('amq.direct', 'topic', {}, { passive: true }).exchange.kind).toBe('direct');
    expect(() => t.declareExchange('amq.topic', 'topic', { durable: false })).toThrow(
      PreconditionFailedError,
    );
  });

  it('refuses to delete amq.* exchanges unless reserved names are allowed', () => {
    const t = table();
    expect(() => t.deleteExchange('amq.fanout')).toThrow(AccessRefusedError);
    expect(t.deleteExchange('amq.fanout', { allowReserved: true }).deletedExchanges).toEqual(['amq.fanout']);
  });
});

describe('declareExchange', () => {
  it('creates with AMQP defaults and reports creation', () => {
    const t = table();
    const result = t.declareExchange('orders', 'topic');
    expect(result.created).toBe(true);
    expect(result.exchange).toEqual({
      name: 'orders',
      kind: 'topic',
      options: { durable: false, autoDelete: false, internal: false, arguments: {} },
    });
    expect(t.getExchange('orders')).toEqual(result.exchange);
  });

  it('is idempotent when kind and options are equivalent', () => {
    const t = table();
    const options = {
      durable: true,
      autoDelete: true,
      internal: true,
      alternateExchange: 'ae',
      arguments: { k: 1 },
    };
    t.declareExchange('x', 'headers', options);
    const again = t.declareExchange('x', 'headers', { ...options, arguments: { k: 1 } });
    expect(again.created).toBe(false);
    expect(t.exchanges().filter((x) => x.name === 'x')).toHaveLength(1);
  });

  it.each([
    ['type', 'fanout', {}],
    ['durable', 'direct', { durable: true }],
    ['auto_delete', 'direct', { autoDelete: true }],
    ['internal', 'direct', { internal: true }],
    ['alternate-exchange', 'direct', { alternateExchange: 'ae' }],
  ] as [string, ExchangeKind, object][])(
    'refuses a redeclare with a different %s, naming it',
    (field, kind, options) => {
      const t = table();
      t.declareExchange('x', 'direct');
      expect(() => t.declareExchange('x', kind, options)).toThrow(PreconditionFailedError);
      expect(() => t.declareExchange('x', kind, options)).toThrow(
        `inequivalent arg '${field}' for exchange 'x' in vhost 'v1'`,
      );
    },
  );

  it('treats the alternate-exchange argument like the option', () => {
    const t = table();
    t.declareExchange('x', 'direct', { arguments: { 'alternate-exchange': 'ae' } });
    expect(t.getExchange('x')?.options.alternateExchange).toBe('ae');
    expect(t.declareExchange('x', 'direct', { alternateExchange: 'ae' }).created).toBe(false);
    expect(() => t.declareExchange('x', 'direct')).toThrow("received none but current is 'ae'");
    expect(() => t.declareExchange('y', 'direct', { arguments: { 'alternate-exchange': 5 } })).toThrow(
      PreconditionFailedError,
    );
  });

  it('does not compare arguments other than alternate-exchange (RabbitMQ)', () => {
    const t = table();
    t.declareExchange('x', 'direct', { arguments: { 'x-custom': 1 } });
    expect(t.declareExchange('x', 'direct', { arguments: { 'x-custom': 2 } }).created).toBe(false);
    expect(t.getExchange('x')?.options.arguments).toEqual({ 'x-custom': 1 });
  });

  it('passive declare returns an existing exchange whatever the options, and throws for an unknown one', () => {
    const t = table();
    t.declareExchange('x', 'fanout', { durable: true });
    expect(t.declareExchange('x', 'direct', {}, { passive: true })).toEqual({
      exchange: t.getExchange('x'),
      created: false,
    });
    expect(() => t.declareExchange('nope', 'direct', {}, { passive: true })).toThrow(ExchangeNotFoundError);
    expect(() => t.declareExchange('nope', 'direct', {}, { passive: true })).toThrow(
      "no exchange 'nope' in vhost 'v1'",
    );
  });

  it('rejects an unknown kind at run time', () => {
    expect(() => table().declareExchange('x', 'x-delayed-message' as ExchangeKind)).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('deleteExchange', () => {
  it('removes the exchange with its bindings as source and as destination', () => {
    const t = table();
    t.declareExchange('x', 'fanout');
    t.declareExchange('up', 'fanout');
    t.bind('x', { kind: 'queue', name: 'q' }, '');
    t.bind('up', { kind: 'exchange', name: 'x' }, '');
    const changes = t.deleteExchange('x');
    expect(changes.deletedExchanges).toEqual(['x']);
    expect(changes.removedBindings.map((b) => `${b.source}->${b.destination.name}`).sort()).toEqual([
      'up->x',
      'x->q',
    ]);
    expect(changes.addedBindings).toEqual([]);
    expect(t.hasExchange('x')).toBe(false);
    expect(t.bindings()).toEqual([]);
    expect(t.route('up', '').unroutable).toBe(true);
  });

  it('with ifUnused refuses while the exchange is a binding source, but not for being a destination', () => {
    const t = table();
    t.declareExchange('x', 'fanout');
    t.declareExchange('up', 'fanout');
    t.bind('x', { kind: 'queue', name: 'q' }, '');
    expect(() => t.deleteExchange('x', { ifUnused: true })).toThrow(PreconditionFailedError);
    expect(t.hasExchange('x')).toBe(true);
    t.unbind('x', { kind: 'queue', name: 'q' }, '');
    t.bind('up', { kind: 'exchange', name: 'x' }, '');
    expect(t.deleteExchange('x', { ifUnused: true }).deletedExchanges).toEqual(['x']);
  });

  it('is a no-op for an unknown exchange (RabbitMQ)', () => {
    expect(table().deleteExchange('nope')).toEqual({
      addedBindings: [],
      removedBindings: [],
      deletedExchanges: [],
    });
  });
});
