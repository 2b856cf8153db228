/**
 * The `flip` command: one binary, subcommands in the manner of `serf agent` / `consul members`.
 * Each subcommand lives in commands/; this file only wires them and maps errors to exit codes.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.js';
import { configCheck, configSchema } from './commands/config.js';
import { plan } from './commands/plan.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './exit-codes.js';

const out = (text: string) => process.stdout.write(`${text}\n`);

export function buildProgram(): Command {
  const program = new Command('flip')
    .description('quorum-based failover of virtual IPs and other data over authenticated gossip')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();

  const config = program.command('config').description('check a config file or print its JSON Schema');
  config
    .command('check')
    .description('validate a config file and print a summary')
    .argument('<file>', 'config file (.json or .yaml)')
    .action((file: string) => configCheck(file, out));
  config
    .command('schema')
    .description('print the JSON Schema of the config, for editors')
    .action(() => configSchema(out));

  program
    .command('plan')
    .description('print which server holds which items when the given servers are down')
    .argument('<file>', 'config file (.json or .yaml)')
    .option('--down <ids>', 'comma-separated ids of the servers that are down')
    .option('--json', 'print JSON instead of tables')
    .action((file: string, options: { down?: string; json?: boolean }) => plan(file, options, out));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has already printed help or its message.
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`invalid config:\n${error.message}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof CliError) {
    process.stderr.write(`flip: ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`flip: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
  return EXIT_FAILURE;
}
