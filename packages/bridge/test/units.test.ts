import { describe, expect, it } from 'vitest';
import { backoffDelay, rewriteSubject, toMqttPublishOptions } from '@conveyor/bridge';

describe('backoff', () => {
  it('grows by the factor up to the maximum, with jitter in [d/2, d]', () => {
    const options = { initialMs: 100, maxMs: 1_000, factor: 2 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, options, () => 1))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(a, options, () => 0))).toEqual([50, 100, 200, 400, 500]);
  });
});

describe('subject rewrite', () => {
  it('replaces the leading words of the first matching rule', () => {
    const rules = [
      { from: ['plant', 'a'], to: ['legacy'] },
      { from: ['plant'], to: ['sensors', 'plant'] },
    ];
    expect(rewriteSubject(['plant', 'a', 'temp'], rules)).toEqual(['legacy', 'temp']);
    expect(rewriteSubject(['plant', 'b', 'temp'], rules)).toEqual(['sensors', 'plant', 'b', 'temp']);
    expect(rewriteSubject(['other'], rules)).toEqual(['other']);
  });
});

describe('property mapping', () => {
  it('MQTT 5: headers as user properties, id in conveyor-message-id, TTL in seconds rounded up; 3.1.1 carries none', () => {
    const properties = {
      headers: { s: 'x', n: 2, b: true, list: ['p', 'q'], skipped: { nested: 1 } },
      messageId: 'id-1',
      expiration: 1_200,
      contentType: 'text/plain',
    };
    expect(toMqttPublishOptions(properties, 5)).toEqual({
      qos: 1,
      properties: {
        userProperties: { s: 'x', n: '2', b: 'true', list: ['p', 'q'], 'conveyor-message-id': 'id-1' },
        messageExpiryInterval: 2,
        contentType: 'text/plain',
      },
    });
    expect(toMqttPublishOptions(properties, 4)).toEqual({ qos: 1 });
  });
});
