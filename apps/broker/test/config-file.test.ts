// The config file (YAML or JSON), users file and precedence flags > CONVEYOR_* > file > defaults.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStartConfig, StartError, validateConfig } from '@conveyor/broker';
import { connect as mqttConnect, type IConnackPacket, type IDisconnectPacket } from 'mqtt';
import { EPHEMERAL_PORTS, runCli, startCli } from './support/cli-process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const TLS_DEFAULT_PORTS = { amqps: 5671, mqtts: 8883, 'mqtt-wss': 15676, https: 15671 };

describe('validateConfig', () => {
  it('maps every section onto the matching option', () => {
    const parsed = validateConfig({
      dataDir: '/var/lib/conveyor',
      bind: '127.0.0.1',
      logLevel: 'debug',
      amqp: { port: 5673 },
      mqtt: { port: 'off', wsPort: 0 },
      http: { port: 15673 },
      limits: { maxConnections: 100, maxMessageBytes: '1MiB', memoryHighWatermark: 1000000 },
      users: [{ username: 'app', password: 's3cret' }],
    });
    expect(parsed.options).toEqual({
      dataDir: '/var/lib/conveyor',
      bind: '127.0.0.1',
      logLevel: 'debug',
      amqpPort: '5673',
      mqttPort: 'off',
      mqttWsPort: '0',
      httpPort: '15673',
      maxConnections: '100',
      maxMessageBytes: '1MiB',
      memoryHighWatermark: '1000000',
    });
    expect(parsed.users).toEqual([{ username: 'app', password: 's3cret', loopbackOnly: false }]);
  });

  it.each([
    [{ amqp: { prot: 5672 } }, "config: unknown key 'amqp.prot' (did you mean 'amqp.port'?)"],
    [{ mqtt: { wsport: 1 } }, "config: unknown key 'mqtt.wsport' (did you mean 'mqtt.wsPort'?)"],
    [{ datadir: 'x' }, "config: unknown key 'datadir' (did you mean 'dataDir'?)"],
    [
      { limits: { maxConnection: 1 } },
      "config: unknown key 'limits.maxConnection' (did you mean 'limits.maxConnections'?)",
    ],
    [{ zzzzzzzz: 1 }, "config: unknown key 'zzzzzzzz'"],
    [{ amqp: { port: 'five' } }, 'config: \'amqp.port\' must be a port number or "off", got "five"'],
    [{ memory: 'yes' }, 'config: \'memory\' must be true or false, got "yes"'],
    [{ amqp: 5672 }, "config: 'amqp' must be a mapping"],
    [[1, 2], 'config: the file must hold a mapping of settings'],
    [
      { users: [{ username: 'a', pasword: 'b' }] },
      "config: unknown key 'users[0].pasword' (did you mean 'users[0].password'?)",
    ],
    [
      { users: [{ username: 'a' }] },
      "config: 'users[0]' needs a password or a passwordHash (conveyor hash-password makes one)",
    ],
    [{ users: [{ username: 'a', password: 7 }] }, "config: 'users[0].password' must be a string"],
    [
      { users: [{ username: 'a', password: 'b', vhosts: '/' }] },
      "config: 'users[0].vhosts' must be a list of virtual host names",
    ],
    [
      { users: 'guest' },
      "config: 'users' must be a list of {username, password or passwordHash, loopbackOnly, vhosts, tags}",
    ],
  ])('refuses %j naming the bad key', (document, message) => {
    expect(() => validateConfig(document)).toThrow(new StartError('INVALID_OPTIONS', message));
  });
});

describe('loadStartConfig precedence: flags > CONVEYOR_* > config file > defaults', () => {
  it('takes each setting from the highest layer that sets it', () => {
    const config = file(
      'layers.yaml',
      [
        'amqp:',
        '  port: 1111',
        'mqtt:',
        '  port: 2222',
        'http:',
        '  port: 3333',
        'logLevel: debug',
        'dataDir: from-file',
      ].join('\n'),
    );
    const resolved = loadStartConfig(
      { config, amqpPort: '4444' },
      { CONVEYOR_MQTT_PORT: '5555', CONVEYOR_MEMORY: '1' },
    );
    expect(resolved.ports).toEqual({
      ...TLS_DEFAULT_PORTS,
      amqp: 4444,
      mqtt: 5555,
      'mqtt-ws': 15675,
      http: 3333,
    });
    expect(resolved.logLevel).toBe('debug');
    expect(resolved.store).toEqual({ kind: 'memory' }); // the environment's store wins over the file's, whole
  });

  it('takes a shared store URL from the config file, as --store takes it', () => {
    const config = file('shared.yaml', "store: 'redis://10.0.0.5:6379?prefix=conveyor:&wait=aof'\n");
    expect(loadStartConfig({ config }, {}).store).toEqual({
      kind: 'shared',
      url: 'redis://10.0.0.5:6379?prefix=conveyor:&wait=aof',
    });
  });

  it('reads the config file named by CONVEYOR_CONFIG, and JSON as well as YAML', () => {
    const config = file('c.json', JSON.stringify({ http: { port: 'off' }, limits: { maxConnections: 3 } }));
    const resolved = loadStartConfig({}, { CONVEYOR_CONFIG: config });
    expect(resolved.ports.http).toBe(false);
    expect(resolved.maxConnections).toBe(3);
  });

  it('the shared-store depth limit (issue 17): config key, variable, flag, validated like the counts', () => {
    const config = file('depth.yaml', 'limits: { queueDepthSoftLimit: 5000 }\n');
    expect(loadStartConfig({ config }, {}).queueDepthSoftLimit).toBe(5000);
    expect(loadStartConfig({ config }, { CONVEYOR_QUEUE_DEPTH_SOFT_LIMIT: '7000' }).queueDepthSoftLimit).toBe(
      7000,
    );
    expect(loadStartConfig({ queueDepthSoftLimit: '9000' }, {}).queueDepthSoftLimit).toBe(9000);
    expect(loadStartConfig({}, {}).queueDepthSoftLimit).toBeUndefined(); // the engine's default, 100,000
    expect(() => loadStartConfig({ queueDepthSoftLimit: '0' }, {})).toThrow(
      '--queue-depth-soft-limit must be a positive whole number, got "0"',
    );
  });

  it('a users file wins over the users of the config file', () => {
    const config = file('with-users.yaml', 'users:\n  - { username: a, password: b }\n');
    const users = file('users.yaml', 'users:\n  - username: ops\n    password: pw\n    loopbackOnly: true\n');
    expect(loadStartConfig({ config }, {}).users).toEqual([
      { username: 'a', password: 'b', loopbackOnly: false },
    ]);
    expect(loadStartConfig({ config, users }, {}).users).toEqual([
      { username: 'ops', password: 'pw', loopbackOnly: true },
    ]);
    expect(loadStartConfig({}, {}).users).toBeUndefined(); // each door's default: guest/guest, loopback only
  });

  it('names a missing or unparsable file', () => {
    expect(() => loadStartConfig({ config: join(dir, 'absent.yaml') }, {})).toThrow(
      /^config: cannot read .*absent\.yaml: no such file$/,
    );
    const broken = file('broken.json', '{ "amqp": ');
    expect(() => loadStartConfig({ config: broken }, {})).toThrow(
      /^config: .*broken\.json is not valid JSON: /,
    );
    const dup = file('dup.yaml', '- { username: a, password: b }\n- { username: a, password: c }\n');
    expect(() => loadStartConfig({ users: dup }, {})).toThrow(`users ${dup}: user 'a' is listed twice`);
  });

  it('takes the MQTT server settings from mqtt: keys and their variables (the variable wins)', () => {
    const config = file(
      'mqtt-limits.yaml',
      [
        'mqtt:',
        '  keepAliveMax: 120',
        '  receiveMaximum: 50',
        '  topicAliasMaximum: 0',
        '  maxPacketSize: 64KiB',
        '  retainAvailable: false',
        '  qos0BufferBytes: 8MiB',
      ].join('\n'),
    );
    expect(loadStartConfig({ config }, { CONVEYOR_MQTT_RECEIVE_MAXIMUM: '60' }).mqtt).toEqual({
      keepAliveMaxSeconds: 120,
      receiveMaximum: 60,
      topicAliasMaximum: 0,
      maxPacketBytes: 65_536,
      retainAvailable: false,
      qos0BufferBytes: 8 * 1024 * 1024,
    });
  });

  it.each([
    [
      'receiveMaximum: 0',
      'mqtt.receiveMaximum (CONVEYOR_MQTT_RECEIVE_MAXIMUM) must be a whole number from 1 to 65535, got "0"',
    ],
    [
      'keepAliveMax: 70000',
      'mqtt.keepAliveMax (CONVEYOR_MQTT_KEEP_ALIVE_MAX) must be a whole number from 1 to 65535, got "70000"',
    ],
    [
      'topicAliasMaximum: 65536',
      'mqtt.topicAliasMaximum (CONVEYOR_MQTT_TOPIC_ALIAS_MAXIMUM) must be a whole number from 0 to 65535, got "65536"',
    ],
    [
      'maxPacketSize: 1GiB',
      'mqtt.maxPacketSize (CONVEYOR_MQTT_MAX_PACKET_SIZE) must be from 16 bytes to 256MiB, got "1GiB"',
    ],
    [
      'qos0BufferBytes: 1MiB',
      'mqtt.qos0BufferBytes (CONVEYOR_MQTT_QOS0_BUFFER_BYTES) must be at least 2MiB, got "1MiB"',
    ],
    ['retainAvailable: nope', 'config: \'mqtt.retainAvailable\' must be true or false, got "nope"'],
  ])('refuses mqtt %s with one line naming the key', (line, message) => {
    const config = file('mqtt-bad.yaml', `mqtt:\n  ${line}\n`);
    expect(() => loadStartConfig({ config }, {})).toThrow(message);
  });

  it('refuses a bad --max-connections', () => {
    expect(() => loadStartConfig({ maxConnections: '0' }, {})).toThrow(
      '--max-connections must be a positive whole number, got "0"',
    );
  });
});

describe('conveyor start --config', () => {
  it('exits 2 with one line naming the bad key', async () => {
    const config = file('typo.yaml', 'amqp:\n  prot: 5672\n');
    const exit = await runCli(['start', '--config', config, ...EPHEMERAL_PORTS], dir);
    expect(exit.code).toBe(2);
    expect(exit.stderr).toBe("conveyor: config: unknown key 'amqp.prot' (did you mean 'amqp.port'?)\n");
    expect(exit.stdout).toBe('');
  });

  it('an MQTT 5 client sees the mqtt: settings in its CONNACK, and a retained PUBLISH is refused', async () => {
    const config = file(
      'mqtt-live.yaml',
      [
        'memory: true',
        'http:',
        '  port: off',
        'mqtt:',
        '  wsPort: off',
        '  keepAliveMax: 45',
        '  receiveMaximum: 33',
        '  topicAliasMaximum: 7',
        '  maxPacketSize: 100KiB',
        '  retainAvailable: false',
      ].join('\n'),
    );
    const cli = await startCli(
      [
        '--config',
        config,
        '--amqp-port',
        'off',
        '--mqtt-port',
        '0',
        '--bind',
        '127.0.0.1',
        '--log-level',
        'silent',
      ],
      dir,
    );
    try {
      const client = await mqttConnect(`mqtt://127.0.0.1:${cli.ports.get('mqtt')}`, {
        protocolVersion: 5,
        keepalive: 0,
        reconnectPeriod: 0,
      });
      const connack = await new Promise<IConnackPacket>((resolve) => client.once('connect', resolve));
      expect(connack.properties).toMatchObject({
        serverKeepAlive: 45,
        receiveMaximum: 33,
        topicAliasMaximum: 7,
        maximumPacketSize: 102_400,
        retainAvailable: false,
      });
      const disconnect = new Promise<IDisconnectPacket>((resolve) => client.once('disconnect', resolve));
      client.publish('t', 'kept?', { retain: true, qos: 0 });
      expect((await disconnect).reasonCode).toBe(0x9a);
      client.end(true);
    } finally {
      expect((await cli.stop()).code).toBe(0);
    }
  });

  it('starts with the settings of a valid file (flags still win)', async () => {
    const config = file(
      'ok.yaml',
      ['memory: true', 'http:', '  port: off', 'mqtt:', '  port: off', '  wsPort: off'].join('\n'),
    );
    const cli = await startCli(
      ['--config', config, '--amqp-port', '0', '--bind', '127.0.0.1', '--log-level', 'silent'],
      dir,
    );
    try {
      expect([...cli.ports.keys()]).toEqual(['amqp']);
    } finally {
      expect((await cli.stop()).code).toBe(0);
    }
  });
});
