// `conveyor policies`, `set-policy`, `clear-policy`: RabbitMQ's policies (rabbitmqctl's names)
// through a running broker's management API, in the vhost of --vhost.
import { InvalidArgumentError, type Command } from 'commander';
import { AdminClient } from './admin-client.js';
import { run, withConnectionOptions, type GlobalOptions } from './admin-commands.js';
import { formatTable } from './table.js';

interface PolicyJson {
  vhost: string;
  name: string;
  pattern: string;
  'apply-to': string;
  definition: Record<string, unknown>;
  priority: number;
}

function policyPath(options: GlobalOptions, name: string): string {
  return AdminClient.path('/api/policies', options.vhost, name);
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('--priority must be a whole number');
  return n;
}

export function registerPolicyCommands(program: Command): void {
  const command = (name: string, description: string): Command =>
    withConnectionOptions(program.command(name).description(description));

  command('policies', 'list the policies of a vhost').action(
    run(async (client, options) => {
      const policies = await client.request<PolicyJson[]>(
        'GET',
        AdminClient.path('/api/policies', options.vhost),
      );
      if (options.json) return policies;
      if (policies.length === 0) return 'no policies\n';
      return formatTable(
        ['NAME', 'PATTERN', 'APPLY TO', 'PRIORITY', 'DEFINITION'],
        policies.map((p) => [p.name, p.pattern, p['apply-to'], p.priority, JSON.stringify(p.definition)]),
      );
    }),
  );

  command('set-policy', 'set a policy: queues whose name matches PATTERN run with DEFINITION (JSON)')
    .argument('<name>')
    .argument('<pattern>', 'regular expression on queue names, e.g. "^orders\\."')
    .argument('<definition>', 'JSON, RabbitMQ\'s keys: {"message-ttl":60000,"dead-letter-exchange":"dlx"}')
    .option('--priority <n>', 'the highest priority wins where several match [default: 0]', integer)
    .option('--apply-to <what>', 'queues, exchanges or all [default: all]')
    .action(
      run(async (client, options, name: string, pattern: string, text: string) => {
        let definition: unknown;
        try {
          definition = JSON.parse(text);
        } catch (err) {
          throw new Error(`the definition is not JSON: ${text}`, { cause: err });
        }
        const { priority, applyTo } = options as GlobalOptions & { priority?: number; applyTo?: string };
        const result = await client.request<PolicyJson & { ignored: string[] }>(
          'PUT',
          policyPath(options, name),
          {
            pattern,
            definition,
            ...(priority === undefined ? {} : { priority }),
            ...(applyTo === undefined ? {} : { 'apply-to': applyTo }),
          },
        );
        if (options.json) return result;
        const ignored =
          result.ignored.length === 0
            ? ''
            : ` (not applied, Conveyor has no such behaviour: ${result.ignored.join(', ')})`;
        return `policy ${name} set${ignored}\n`;
      }),
    );

  command('clear-policy', 'remove a policy')
    .argument('<name>')
    .action(
      run(async (client, options, name: string) => {
        const result = await client.request<{ deleted: boolean }>('DELETE', policyPath(options, name));
        if (options.json) return result;
        return result.deleted ? `policy ${name} cleared\n` : `no policy ${name}\n`;
      }),
    );
}
