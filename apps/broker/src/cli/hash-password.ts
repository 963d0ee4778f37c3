// `conveyor hash-password`: a passwordHash for the users file, in RabbitMQ's format.
import { hashPassword, type HashingAlgorithm } from '@conveyor/core';
import { Option, type Command } from 'commander';

const ALGORITHMS: Record<string, HashingAlgorithm> = {
  sha256: 'rabbit_password_hashing_sha256',
  sha512: 'rabbit_password_hashing_sha512',
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function registerHashPassword(program: Command): void {
  program
    .command('hash-password')
    .description(
      'print a passwordHash for the users file (RabbitMQ format); the password comes from stdin when not given',
    )
    .argument('[password]', 'the password (better: on stdin, so it stays out of the shell history)')
    .addOption(
      new Option('--algorithm <name>', 'sha256 (RabbitMQ default) or sha512')
        .choices(Object.keys(ALGORITHMS))
        .default('sha256'),
    )
    .action(async (password: string | undefined, flags: { algorithm: string }) => {
      const plain = password ?? (await readStdin());
      if (plain === '') {
        process.stderr.write('conveyor: hash-password: no password given\n');
        process.exit(2);
      }
      const algorithm = ALGORITHMS[flags.algorithm]!;
      process.stdout.write(`${hashPassword(plain, algorithm)}\n`);
      if (algorithm !== 'rabbit_password_hashing_sha256')
        process.stderr.write(`conveyor: put hashingAlgorithm: ${algorithm} beside it\n`);
    });
}
