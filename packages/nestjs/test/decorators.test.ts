import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import {
  PATTERN_EXTRAS_METADATA,
  PATTERN_HANDLER_METADATA,
  PATTERN_METADATA,
  TRANSPORT_METADATA,
} from '@nestjs/microservices/constants.js';
import { describe, expect, it } from 'vitest';
import { Broadcast, CONVEYOR_TRANSPORT, OneWay, Request, specOf } from '../src/index.js';

@Controller()
class Handlers {
  @OneWay('orders', { concurrency: 3, retry: { maxAttempts: 2 } })
  one(): void {}

  @Request('prices')
  two(): number {
    return 1;
  }

  @Broadcast('order.*', { perInstance: true })
  three(): void {}
}

function meta(key: string, method: keyof Handlers): unknown {
  return Reflect.getMetadata(key, Handlers.prototype[method]);
}

describe('decorators', () => {
  it('@OneWay is an event pattern on the Conveyor transport carrying its options', () => {
    expect(meta(PATTERN_METADATA, 'one')).toEqual(['orders']);
    expect(meta(PATTERN_HANDLER_METADATA, 'one')).toBe(2); // PatternHandler.EVENT
    expect(meta(TRANSPORT_METADATA, 'one')).toBe(CONVEYOR_TRANSPORT);
    expect(specOf(meta(PATTERN_EXTRAS_METADATA, 'one') as Record<string, unknown>)).toEqual({
      kind: 'one-way',
      queue: 'orders',
      options: { concurrency: 3, retry: { maxAttempts: 2 } },
    });
  });

  it('@Request is a message pattern (request/response)', () => {
    expect(meta(PATTERN_METADATA, 'two')).toEqual(['prices']);
    expect(meta(PATTERN_HANDLER_METADATA, 'two')).toBe(1); // PatternHandler.MESSAGE
    expect(meta(TRANSPORT_METADATA, 'two')).toBe(CONVEYOR_TRANSPORT);
    expect(specOf(meta(PATTERN_EXTRAS_METADATA, 'two') as Record<string, unknown>)?.kind).toBe('request');
  });

  it('@Broadcast registers under its own pattern so it never merges with a queue handler', () => {
    expect(meta(PATTERN_METADATA, 'three')).toEqual(['broadcast:order.*']);
    expect(specOf(meta(PATTERN_EXTRAS_METADATA, 'three') as Record<string, unknown>)).toEqual({
      kind: 'broadcast',
      topic: 'order.*',
      options: { perInstance: true },
    });
  });

  it('specOf ignores handlers of other transports', () => {
    expect(specOf(undefined)).toBeUndefined();
    expect(specOf({ other: 1 })).toBeUndefined();
  });
});
