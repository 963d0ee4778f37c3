// `conveyor definitions export|import`: RabbitMQ's definitions JSON through a running broker's
// management API (an administrator's login; the file carries password hashes).
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ImportSummary } from '../definitions/import-definitions.js';
import { AdminClient } from './admin-client.js';
import { run, withConnectionOptions, type GlobalOptions } from './admin-commands.js';

/** One vhost only when --vhost is on the command line; else the whole broker, as rabbitmqctl. */
function definitionsPath(command: Command, options: GlobalOptions): string {
  return command.getOptionValueSource('vhost') === 'cli'
    ? AdminClient.path('/api/definitions', options.vhost)
    : '/api/definitions';
}

export function registerDefinitionsCommand(program: Command): void {
  const definitions = program
    .command('definitions')
    .description("RabbitMQ's definitions JSON: topology, users with password hashes, permissions");
  const exporting = withConnectionOptions(
    definitions
      .command('export')
      .description("write the broker's definitions (or one vhost's with --vhost) to FILE, or to stdout")
      .argument('[file]'),
  );
  exporting.action(
    run(async (client, options, file: string | undefined) => {
      const document = await client.request<object>('GET', definitionsPath(exporting, options));
      const text = `${JSON.stringify(document, null, 2)}\n`;
      if (file === undefined) return text;
      writeFileSync(file, text, { mode: 0o600 }); // password hashes: for its owner only
      return options.json ? { file } : `definitions written to ${file}\n`;
    }),
  );
  const importing = withConnectionOptions(
    definitions
      .command('import')
      .description(
        "apply a definitions file (RabbitMQ's export format) to the broker, or to one vhost with --vhost",
      )
      .argument('<file>'),
  );
  importing.action(
    run(async (client, options, file: string) => {
      let document: unknown;
      try {
        document = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new Error(`cannot read ${file} as JSON: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
      }
      const summary = await client.request<ImportSummary>(
        'POST',
        definitionsPath(importing, options),
        document,
      );
      if (options.json) return summary;
      const skipped = Object.entries(summary.skipped)
        .filter(([, n]) => n > 0)
        .map(([what, n]) => `${n} ${what}`);
      return (
        `imported ${summary.vhosts} vhosts, ${summary.users} users, ${summary.exchanges} exchanges, ` +
        `${summary.queues} queues, ${summary.bindings} bindings, ${summary.policies} policies` +
        (summary.ignoredPolicyKeys.length > 0
          ? `; policy keys not applied: ${summary.ignoredPolicyKeys.join(', ')}`
          : '') +
        (skipped.length > 0 ? `; skipped (not supported yet): ${skipped.join(', ')}` : '') +
        '\n'
      );
    }),
  );
}
