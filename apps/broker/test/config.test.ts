import { describe, expect, it } from 'vitest';
import { parseBytes, parsePort, resolveConfig, StartError } from '@conveyor/broker';

describe('resolveConfig', () => {
  it('defaults to the durable store in ./data and the RabbitMQ / Mosquitto ports on all interfaces', () => {
    const config = resolveConfig({});
    expect(config.store).toEqual({ kind: 'lmdb', dataDir: './data' });
    expect(config.bind).toBe('0.0.0.0');
    // The TLS listeners start only with a certificate; their ports are RabbitMQ's and Mosquitto's.
    expect(config.ports).toEqual({
      amqp: 5672,
      mqtt: 1883,
      'mqtt-ws': 15675,
      http: 15672,
      amqps: 5671,
      mqtts: 8883,
      'mqtt-wss': 15676,
      https: 15671,
    });
  });

  it('refuses two stores at once with one line naming both flags', () => {
    expect(() => resolveConfig({ memory: true, dataDir: 'x' })).toThrow(
      /--memory and --data-dir cannot be used together/,
    );
    expect(() => resolveConfig({ store: 'redis://h', dataDir: 'x' })).toThrow(StartError);
  });

  it('keeps a shared store URL (one that is not redis:// is refused when the broker starts)', () => {
    expect(resolveConfig({ store: 'redis://h:6379' }).store).toEqual({
      kind: 'shared',
      url: 'redis://h:6379',
    });
  });

  it('parses ports, 0 and off', () => {
    expect(parsePort('0', '--amqp-port')).toBe(0);
    expect(parsePort('off', '--amqp-port')).toBe(false);
    expect(() => parsePort('70000', '--amqp-port')).toThrow(/--amqp-port must be a port number/);
    expect(() => parsePort('12a', '--mqtt-port')).toThrow(/--mqtt-port/);
  });

  it('parses byte sizes with units', () => {
    expect(parseBytes('1048576', '--max-message-bytes')).toBe(1048576);
    expect(parseBytes('16MiB', '--max-message-bytes')).toBe(16 * 1024 * 1024);
    expect(parseBytes('2GB', '--memory-high-watermark')).toBe(2e9);
    expect(() => parseBytes('lots', '--max-message-bytes')).toThrow(
      /--max-message-bytes must be a byte size/,
    );
  });

  it('refuses an unknown log level', () => {
    expect(() => resolveConfig({ logLevel: 'loud' })).toThrow(/--log-level must be one of/);
  });
});
