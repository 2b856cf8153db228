/**
 * The `flip` command: one binary, subcommands in the manner of `serf agent` / `consul members`.
 * Each subcommand lives in commands/; this file only wires them and maps errors to exit codes.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/errors.js';
import { SCENARIO_NAMES } from '../sim/scenario-names.js';
import type { ChangeCommand } from './change-args.js';
import type { ChangeCommandOptions } from './commands/change.js';
import { SIM_RANGES, type SimCommandOptions } from './commands/sim-options.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './exit-codes.js';
import { collect, once } from './options.js';

const out = (text: string) => process.stdout.write(`${text}\n`);
const err = (text: string) => process.stderr.write(`${text}\n`);

export function buildProgram(): Command {
  const program = new Command('flip')
    .description('quorum-based failover of virtual IPs and other data over authenticated gossip')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();

  const config = program
    .command('config')
    .description('check a config file or print its JSON Schema; show the committed config and its history');
  config
    .command('check')
    .description('validate a config file and its scripts, and print a summary')
    .argument('<file>', 'config file (.json or .yaml)')
    .option(
      '--id <id>',
      "check as this server (its scripts must exist here); default: $FLIP_ID, the file's id, or the server whose ip is on this host",
      once,
    )
    .action(async (file: string, options: { id?: string }) =>
      (await import('./commands/config.js')).configCheck(file, options, out, err),
    );
  config
    .command('schema')
    .description('print the JSON Schema of the config, for editors')
    .action(async () => (await import('./commands/config.js')).configSchema(out));
  withApi(
    config
      .command('show')
      .description("the cluster's committed config and its version, through an agent's API (secrets hidden)"),
  ).action(async (options: ChangeCommandOptions) => {
    process.exitCode = await (await import('./commands/change.js')).configShow(options, { out, err });
  });
  withApi(
    config
      .command('history')
      .description("the newest committed changes, a version and a line each, through an agent's API")
      .option('--limit <n>', 'how many (1-1024, default 20)', once),
  ).action(async (options: ChangeCommandOptions & { limit?: string }) => {
    process.exitCode = await (await import('./commands/change.js')).configHistory(options, { out, err });
  });

  withApi(
    program
      .command('reload')
      .description(
        'an agent reads its config file again, as on SIGHUP: its item edits go to the cluster as changes; exit 0 done, 5 the file is refused (errors, or more than items changed: restart), 6-9 a change not committed',
      ),
  ).action(async (options: ChangeCommandOptions) => {
    process.exitCode = await (await import('./commands/change.js')).reload(options, { out, err });
  });

  addChangeCommands(program);

  program
    .command('agent')
    .description("run this server's agent: gossip, agree on failures, run the scripts")
    .option('--config <file>', 'config file (default: $FLIP_CONFIG)', once)
    .option(
      '--id <id>',
      "this server's id; default: $FLIP_ID, the file's id, or the one server whose ip is on this host",
      once,
    )
    .option('--pretty', 'human-readable logs even when stdout is not a terminal')
    .option(
      '--join <host:port>',
      "a running agent's API: complete a minimal config file (id, key, own settings) with the cluster's committed config first",
      once,
    )
    .option('--token <token>', 'the API token for --join (default: $FLIP_TOKEN)', once)
    .action(
      async (options: { config?: string; pretty?: boolean; id?: string; join?: string; token?: string }) => {
        // Each command loads only its own modules: an agent does not carry the simulator.
        process.exitCode = await (await import('./commands/agent.js')).agent(options);
      },
    );

  for (const view of ['status', 'members'] as const) {
    apiOptions(
      program
        .command(view)
        .description(
          view === 'status'
            ? "one agent's view through its API: members, who holds which items, failing scripts; exit 0 healthy, 3 not, 4 API unreachable"
            : "one agent's view of the members: state, last heard, round trip; exit 0 healthy, 3 not, 4 API unreachable",
        ),
    )
      .option('--json', 'print the status document as JSON (with --watch: events as JSON lines)')
      .option('--watch', 'then follow the event stream and print each event')
      .action(async (options: import('./commands/status.js').StatusCommandOptions) => {
        process.exitCode = await (await import('./commands/status.js')).status(view, options, out);
      });
  }

  program
    .command('demo')
    .description(
      'run a local cluster on 127.0.0.1 (the README example by default), kill one agent, show the failover',
    )
    .option('--config <file>', 'a config whose servers to run on loopback', once)
    .action(async (options: { config?: string }) => {
      process.exitCode = await (await import('./commands/demo.js')).demo(options, out);
    });

  program
    .command('plan')
    .description('print which server holds which items when the given servers are down')
    .argument('<file>', 'config file (.json or .yaml)')
    .option('--down <ids>', 'comma-separated ids of the servers that are down (may be repeated)', collect)
    .option('--json', 'print JSON instead of tables')
    .action(async (file: string, options: { down?: string[]; json?: boolean }) =>
      (await import('./commands/plan.js')).plan(file, options, out),
    );

  program
    .command('sim')
    .description('simulate a cluster running the real protocol through faults, and check the outcome')
    .option(
      '--scenario <names>',
      `comma-separated: ${SCENARIO_NAMES.join(', ')}, or all (default: all)`,
      once,
    )
    .option(
      '--nodes <n>',
      `cluster size, ${SIM_RANGES.nodes.join('-')} (default: 3, the README example)`,
      once,
    )
    .option('--seed <s>', 'seed of the run (default: 1)', once)
    .option(
      '--runs <r>',
      `random: how many fault schedules, ${SIM_RANGES.runs.join('-')} (default: 100)`,
      once,
    )
    .option('--loss <p>', 'packet loss, 0-0.99 (default: 0)', once)
    .option('--duration <s>', `virtual seconds of fault-free phases, ${SIM_RANGES.duration.join('-')}`, once)
    .option('--interval <ms>', `gossip_interval override, ${SIM_RANGES.interval.join('-')}`, once)
    .option('--timeout <ms>', `ping_timeout override, ${SIM_RANGES.timeout.join('-')}`, once)
    .option('--pings <k>', `ping_per_interval override, ${SIM_RANGES.pings.join('-')}`, once)
    .option('--quorum <q>', 'quorum override, at most --nodes', once)
    .option('--policy <p>', "every system's no_quorum_policy: keep or release (default: keep)", once)
    .option('--lease', 'every system has a lease program: items lapse on a host nobody renews them on')
    .option('--no-preempt', 'every system has preempt false: items stay with their holder until it fails')
    .option('--hash', 'every shard system has type hash: items placed by rendezvous hashing')
    .option('--json', 'print every outcome and figure as JSON')
    .action(async (options: SimCommandOptions) => {
      process.exitCode = (await import('./commands/sim.js')).sim(options, out);
    });

  return program;
}

/** Where an agent's API is and its token: the options of every command that talks to one. */
function apiOptions(command: Command): Command {
  return command
    .option(
      '--api <url>',
      "the agent's API (default: from --config, $FLIP_CONFIG or /etc/flip/flip.json)",
      once,
    )
    .option('--config <file>', "read the API address from this config's server", once)
    .option('--id <id>', "with --config: that server (default: $FLIP_ID, else the file's id)", once)
    .option('--token <token>', 'the API token (default: $FLIP_TOKEN)', once);
}

/** The options of every command that talks to an agent's API about changes. */
function withApi(command: Command): Command {
  return apiOptions(command).option('--json', "print the API's JSON answer");
}

/** Sends the change of a command; --base-version on each. */
function changeCommand(command: Command, build: (...args: unknown[]) => ChangeCommand): Command {
  return withApi(command)
    .option(
      '--base-version <n>',
      'the committed version the change is made against (default: the one the agent has now)',
      once,
    )
    .action(async (...args: unknown[]) => {
      // commander passes the arguments, then the options, then the command.
      const options = args.at(-2) as ChangeCommandOptions;
      process.exitCode = await (await import('./commands/change.js')).change(build(...args), options, {
        out,
        err,
      });
    });
}

const EXIT_NOTE =
  'exit 0 committed (or nothing to change), 2 bad input, 4 API unreachable, 5 invalid, 6 conflict, 7 no quorum, 8 unknown server, 9 no answer in time, 10 token refused, 11 not available';

function addChangeCommands(program: Command): void {
  const data = program
    .command('data')
    .description(`add or remove items of a system, through an agent's API; ${EXIT_NOTE}`);
  for (const verb of ['add', 'rm'] as const)
    changeCommand(
      data
        .command(verb)
        .description(`${verb === 'add' ? 'add items to' : 'remove items from'} a system`)
        .argument('<system>', 'the system')
        .argument('<items...>', 'the items'),
      (system, items) => ({ command: `data ${verb}`, system: system as string, items: items as string[] }),
    );

  const server = program
    .command('server')
    .description(`add or remove a server (one at a time), through an agent's API; ${EXIT_NOTE}`);
  changeCommand(
    server
      .command('add')
      .description('add a server')
      .argument('<id>', 'its id')
      .requiredOption('--ip <ip>', 'the address it gossips on', once)
      .requiredOption('--port <port>', 'the UDP port it gossips on', once)
      .option('--priority <n>', 'lower is first in placement order (default: last)', once)
      .option(
        '--systems <names>',
        'systems it is a member of, comma-separated (default: none, an arbiter)',
        collect,
      ),
    (id, options) => {
      const { ip, port, priority, systems } = options as {
        ip: string;
        port: string;
        priority?: string;
        systems?: string[];
      };
      return { command: 'server add', id: id as string, ip, port, priority, systems };
    },
  );
  changeCommand(server.command('rm').description('remove a server').argument('<id>', 'its id'), (id) => ({
    command: 'server rm',
    id: id as string,
  }));

  const system = program
    .command('system')
    .description(`set a system's keys, add or remove a system, through an agent's API; ${EXIT_NOTE}`);
  changeCommand(
    system
      .command('set')
      .description(
        `set keys of a system: key=value, the value as JSON when it is JSON, else as text; key=null removes an optional key`,
      )
      .argument('<system>', 'the system')
      .argument('<key=value...>', 'keys as in the config file: type, alive, down, config, delay, check, ...'),
    (name, pairs) => ({ command: 'system set', system: name as string, pairs: pairs as string[] }),
  );
  changeCommand(
    system
      .command('add')
      .description(
        `add a system with its keys (alive, down, type and data at least; data=a,b or a JSON list)`,
      )
      .argument('<system>', 'the new system')
      .argument('<key=value...>', 'its keys, as in the config file')
      .requiredOption('--members <ids>', 'the servers that are its members, comma-separated', collect),
    (name, pairs, options) => ({
      command: 'system add',
      system: name as string,
      pairs: pairs as string[],
      members: (options as { members: string[] }).members,
    }),
  );
  changeCommand(
    system.command('rm').description('remove a system').argument('<system>', 'the system'),
    (name) => ({ command: 'system rm', system: name as string }),
  );
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
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
