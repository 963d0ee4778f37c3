// Operator subcommands: each is one or two calls to a running broker's management API, printed
// as a table (or as JSON with --json). Errors are one line on stderr and exit code 1.
import { InvalidArgumentError, type Command } from 'commander';
import { AdminClient, AdminError } from './admin-client.js';
import { formatTable, rate, shortPayload } from './table.js';

export interface GlobalOptions {
  url: string;
  user: string;
  password?: string;
  vhost: string;
  json?: boolean;
}

interface QueueJson {
  name: string;
  vhost: string;
  ready: number;
  inFlight: number;
  delayed: number;
  bytes: number;
  consumers: number;
  waiting: number;
  published: number;
  delivered: number;
  acked: number;
  deadLettered: number;
  rates: { published: number; delivered: number; acked: number };
  /** The policy that applies to it (RabbitMQ's "effective policy"), or null. */
  policy: string | null;
}

interface MessageJson {
  id: string;
  state: string;
  holder?: string;
  leaseUntil?: number;
  deliveryCount: number;
  routingKey: string;
  exchange: string;
  properties: Record<string, unknown>;
  payload: string;
  payloadEncoding: string;
  payloadBytes: number;
}

/** Options every operator command shares; flags win over CONVEYOR_URL / _USER / _PASSWORD / _VHOST. */
export function withConnectionOptions(command: Command): Command {
  const env = process.env;
  return (
    command
      .option(
        '--url <url>',
        'management API of the broker (CONVEYOR_URL)',
        env.CONVEYOR_URL ?? 'http://127.0.0.1:15672',
      )
      .option('--user <name>', 'user (CONVEYOR_USER)', env.CONVEYOR_USER ?? 'guest')
      // No commander default here: --help would print the password taken from the environment.
      .option('--password <password>', 'password (CONVEYOR_PASSWORD) [default: guest]')
      .option('--vhost <vhost>', 'virtual host (CONVEYOR_VHOST)', env.CONVEYOR_VHOST ?? '/')
      .option('--json', 'print the API answer as JSON, for scripts')
  );
}

function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${flag} must be a positive whole number`);
    return n;
  };
}

function seconds(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a number of seconds`);
    return n;
  };
}

export type Action<A extends unknown[]> = (
  client: AdminClient,
  options: GlobalOptions,
  ...args: A
) => Promise<string | object>;

/** Runs one command: JSON or human output on stdout, one error line on stderr. */
export function run<A extends unknown[]>(action: Action<A>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args.at(-1) as Command;
    const options = command.optsWithGlobals<GlobalOptions>();
    const password = options.password ?? process.env.CONVEYOR_PASSWORD ?? 'guest';
    const client = new AdminClient({ url: options.url, user: options.user, password });
    try {
      const output = await action(client, options, ...(args.slice(0, -2) as A));
      process.stdout.write(typeof output === 'string' ? output : `${JSON.stringify(output, null, 2)}\n`);
    } catch (err) {
      process.stderr.write(`conveyor: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  };
}

function queuePath(options: GlobalOptions, queue: string, ...rest: string[]): string {
  return AdminClient.path('/api/queues', options.vhost, queue, ...rest);
}

function messagesTable(messages: readonly MessageJson[]): string {
  if (messages.length === 0) return 'no messages\n';
  const reasons = messages.map(deathReason);
  const anyDead = reasons.some((r) => r !== '');
  return formatTable(
    ['ID', 'STATE', 'DELIVERIES', 'ROUTING KEY', ...(anyDead ? ['REASON'] : []), 'PAYLOAD'],
    messages.map((m, i) => [
      m.id,
      m.state,
      m.deliveryCount,
      m.routingKey,
      ...(anyDead ? [reasons[i]!] : []),
      shortPayload(m.payload, m.payloadEncoding, m.payloadBytes),
    ]),
  );
}

/**
 * Why a dead-lettered message died, from its headers: the latest `x-death` entry (reason, and the
 * handler's error as `detail`), or the NestJS transport's `x-death-detail`; '' for a live message.
 */
function deathReason(m: MessageJson): string {
  const headers = ((m.properties as { headers?: Record<string, unknown> } | null)?.headers ?? {}) as Record<
    string,
    unknown
  >;
  const deaths = Array.isArray(headers['x-death']) ? (headers['x-death'] as Record<string, unknown>[]) : [];
  const latest = deaths[0];
  const reason = String(latest?.['reason'] ?? headers['x-last-death-reason'] ?? '');
  const detail = latest?.['detail'] ?? headers['x-death-detail'];
  const text = detail === undefined ? reason : `${reason || 'rejected'}: ${String(detail)}`;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function deliveryText(m: MessageJson): string {
  const lines = [
    `id:          ${m.id}`,
    `holder:      ${m.holder ?? ''}`,
    `lease until: ${m.leaseUntil === undefined ? '-' : new Date(m.leaseUntil).toISOString()}`,
    `deliveries:  ${m.deliveryCount}`,
    `routing key: ${m.routingKey}`,
    `properties:  ${JSON.stringify(m.properties)}`,
    `payload (${m.payloadEncoding}, ${m.payloadBytes} bytes):`,
    m.payload,
  ];
  return `${lines.join('\n')}\n`;
}

async function settle(
  client: AdminClient,
  options: GlobalOptions,
  queue: string,
  verb: 'ack' | 'nack',
  list: readonly MessageJson[],
): Promise<void> {
  if (list.length === 0) return;
  await client.request('POST', queuePath(options, queue, verb), {
    deliveries: list.map((m) => ({ id: m.id, holder: m.holder })),
    ...(verb === 'nack' ? { requeue: true } : {}),
  });
}

export function registerAdminCommands(program: Command): void {
  const command = (name: string, description: string): Command =>
    withConnectionOptions(program.command(name).description(description));

  command('queues', 'list queues with their depth, consumers and rates').action(
    run(async (client, options) => {
      const queues = await client.request<QueueJson[]>('GET', AdminClient.path('/api/queues', options.vhost));
      if (options.json) return queues;
      if (queues.length === 0) return 'no queues\n';
      return formatTable(
        [
          'NAME',
          'READY',
          'IN FLIGHT',
          'DELAYED',
          'CONSUMERS',
          'PUBLISH/S',
          'DELIVER/S',
          'ACK/S',
          'DEAD-LETTERED',
          'POLICY',
        ],
        queues.map((q) => [
          q.name,
          q.ready,
          q.inFlight,
          q.delayed,
          q.consumers,
          rate(q.rates.published),
          rate(q.rates.delivered),
          rate(q.rates.acked),
          q.deadLettered,
          q.policy ?? '',
        ]),
      );
    }),
  );

  command('count', 'message counts of one queue')
    .argument('<queue>')
    .action(
      run(async (client, options, queue: string) => {
        const q = await client.request<QueueJson>('GET', queuePath(options, queue));
        if (options.json) return q;
        return `${q.name}: ${q.ready} ready, ${q.inFlight} in flight, ${q.delayed} delayed (${q.bytes} bytes); ${q.consumers} consumers\n`;
      }),
    );

  command('peek', 'show the next messages without taking them')
    .argument('<queue>')
    .option('-n, --count <n>', 'how many', positiveInt('--count'), 10)
    .option('--all', 'include in-flight and delayed messages')
    .action(
      run(async (client, options, queue: string) => {
        const { count, all } = options as GlobalOptions & { count: number; all?: boolean };
        const messages = await client.request<MessageJson[]>('POST', queuePath(options, queue, 'peek'), {
          count,
          includeInFlight: all === true,
          includeDelayed: all === true,
        });
        return options.json ? messages : messagesTable(messages);
      }),
    );

  command('take', 'lease one message by id (from peek) and print it')
    .argument('<queue>')
    .argument('<id>')
    .option('--lease <seconds>', 'lease length', seconds('--lease'), 30)
    .option('--ack', 'remove it from the queue at once')
    .action(
      run(async (client, options, queue: string, id: string) => {
        const { lease, ack } = options as GlobalOptions & { lease: number; ack?: boolean };
        const m = await client.request<MessageJson>('POST', queuePath(options, queue, 'take'), {
          id,
          leaseMs: lease * 1000,
        });
        if (ack) await settle(client, options, queue, 'ack', [m]);
        return options.json ? m : deliveryText(m) + (ack ? 'acked\n' : '');
      }),
    );

  command('receive', 'lease the next messages (they come back after the lease unless --ack)')
    .argument('<queue>')
    .option('--max <n>', 'most messages', positiveInt('--max'), 1)
    .option(
      '--wait <seconds>',
      'wait this long for a message when none is ready (at most 60)',
      seconds('--wait'),
      0,
    )
    .option('--lease <seconds>', 'lease length', seconds('--lease'), 30)
    .option('--ack', 'ack what was received')
    .action(
      run(async (client, options, queue: string) => {
        const { max, wait, lease, ack } = options as GlobalOptions & {
          max: number;
          wait: number;
          lease: number;
          ack?: boolean;
        };
        const messages = await client.request<MessageJson[]>(
          'POST',
          queuePath(options, queue, 'receive'),
          { max, waitMs: Math.round(wait * 1000), leaseMs: lease * 1000 },
          wait * 1000,
        );
        if (ack) await settle(client, options, queue, 'ack', messages);
        if (options.json) return messages;
        if (messages.length === 0) return 'no messages\n';
        return messages.map(deliveryText).join('\n') + (ack ? `acked ${messages.length}\n` : '');
      }),
    );

  command('send', 'send a message straight to a queue')
    .argument('<queue>')
    .argument('<body>')
    .option('--content-type <type>', 'content type')
    .option('--persistent', 'persistent message (survives a restart on a durable queue)')
    .option('--header <key=value...>', 'a header; repeat for more')
    .action(
      run(async (client, options, queue: string, body: string) => {
        const { contentType, persistent, header } = options as GlobalOptions & {
          contentType?: string;
          persistent?: boolean;
          header?: string[];
        };
        const headers: Record<string, string> = {};
        for (const pair of header ?? []) {
          const eq = pair.indexOf('=');
          if (eq < 1) throw new AdminError(`--header must be key=value, got "${pair}"`, 0, 'USAGE');
          headers[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        const properties = {
          ...(contentType === undefined ? {} : { contentType }),
          ...(persistent ? { persistent: true } : {}),
          ...(header === undefined ? {} : { headers }),
        };
        const result = await client.request<{ routed: boolean; queues: string[]; rejected: string[] }>(
          'POST',
          queuePath(options, queue, 'send'),
          { payload: body, payloadEncoding: 'string', properties },
        );
        if (options.json) return result;
        if (result.rejected.length > 0)
          throw new AdminError(`queue '${queue}' refused the message (full)`, 409, 'QUEUE_FULL');
        return `sent to ${queue}\n`;
      }),
    );

  command('purge', 'remove every ready and delayed message of a queue')
    .argument('<queue>')
    .action(
      run(async (client, options, queue: string) => {
        const result = await client.request<{ purged: number }>(
          'DELETE',
          queuePath(options, queue, 'contents'),
        );
        return options.json ? result : `purged ${result.purged} messages from ${queue}\n`;
      }),
    );

  command('redrive', 'move dead-lettered messages back to where they died (or --to a queue)')
    .argument('<dlq>')
    .option('--to <queue>', 'queue to move them to')
    .option('--max <n>', 'at most this many', positiveInt('--max'))
    .action(
      run(async (client, options, dlq: string) => {
        const { to, max } = options as GlobalOptions & { to?: string; max?: number };
        const result = await client.request<{ moved: number }>('POST', queuePath(options, dlq, 'redrive'), {
          ...(to === undefined ? {} : { to }),
          ...(max === undefined ? {} : { max }),
        });
        return options.json
          ? result
          : `moved ${result.moved} messages from ${dlq}${to === undefined ? '' : ` to ${to}`}\n`;
      }),
    );

  command('stats', 'broker overview: messages, rates of work, connections, memory').action(
    run(async (client, options) => {
      const o = await client.request<{
        version: string;
        uptimeMs: number;
        store: string;
        blocked: boolean;
        memoryBytes: number;
        queueTotals: { ready: number; inFlight: number; delayed: number };
        messageStats: { published: number; delivered: number; acked: number; deadLettered: number };
        connections: { amqp: number; mqtt: number };
      }>('GET', '/api/overview');
      if (options.json) return o;
      const rows: [string, string][] = [
        ['version', o.version],
        ['uptime', `${Math.round(o.uptimeMs / 1000)} s`],
        ['store', o.store],
        ['publishers blocked', o.blocked ? 'yes (memory high watermark)' : 'no'],
        ['message memory', `${o.memoryBytes} bytes`],
        [
          'messages',
          `${o.queueTotals.ready} ready, ${o.queueTotals.inFlight} in flight, ${o.queueTotals.delayed} delayed`,
        ],
        ['published', String(o.messageStats.published)],
        ['delivered', String(o.messageStats.delivered)],
        ['acked', String(o.messageStats.acked)],
        ['dead-lettered', String(o.messageStats.deadLettered)],
        ['connections', `${o.connections.amqp} amqp, ${o.connections.mqtt} mqtt`],
      ];
      return rows.map(([k, v]) => `${`${k}:`.padEnd(20)}${v}`).join('\n') + '\n';
    }),
  );
}
