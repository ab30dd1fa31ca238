/**
 * The `wgbgp` command line (design.md "The operator's contract") as commander
 * parses it: every command, its options and help. main.ts loads it for every
 * command line but the daemon's own. Exit codes: 0 done, 1 failed (invalid
 * config, agent unreachable, reload rejected), 2 usage error.
 */
import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { NeighborAction } from '#api/types';
import { MAX_SHUTDOWN_COMMUNICATION, checkShutdownCommunication } from '#bgp/wire/cease';
import { DEFAULT_CONTROL_SOCKET } from '#config/defaults';
import { LOG_COMPONENTS, LOG_LEVELS } from '#lib/log-names';
import { parseIp, parsePrefix, canonicalPrefix, formatIp } from '#lib/prefix';
import type { CliIo } from './commands.js';
import { DEFAULT_AGENT_CONFIG, reportFailure, runAgentCommand } from './io.js';
import { errorText } from '#lib/error-text';

/** package.json sits two levels above both src/cli/main.ts and dist/cli/main.js. */
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

const NOT_A_TARGET = 'expected a prefix (10.1.0.0/24) or an address (10.1.0.5).';

/** `routes` takes an exact prefix or an address (longest match); anything else is a usage error. */
export function parseRouteQuery(v: string): string {
  if (v.includes('/')) {
    if (!parsePrefix(v, true)) throw new InvalidArgumentError(NOT_A_TARGET);
    if (!parsePrefix(v, false)) throw new InvalidArgumentError(`host bits set (did you mean ${canonicalPrefix(v)}?)`);
    return canonicalPrefix(v) ?? v;
  }
  const ip = parseIp(v);
  if (!ip || v.includes('%')) throw new InvalidArgumentError(NOT_A_TARGET);
  return formatIp(ip.bytes);
}

const NEIGHBOR_ACTIONS: readonly NeighborAction[] = ['shutdown', 'enable', 'reset'];

/** RFC 9003 §2: refused here, before the agent is asked, rather than cut short on the wire. */
export function parseShutdownMessage(v: string): string {
  const problem = checkShutdownCommunication(v);
  if (problem !== null) throw new InvalidArgumentError(`the message ${problem}.`);
  return v;
}

function choice(what: string, allowed: readonly string[]): (v: string) => string {
  return (v) => {
    if (!allowed.includes(v)) throw new InvalidArgumentError(`unknown ${what} (expected one of ${allowed.join(', ')})`);
    return v;
  };
}

function socketOption(): Option {
  return new Option('--socket <path>', `control socket of the agent (default: control.socket of --config, else ${DEFAULT_CONTROL_SOCKET})`);
}

function configOption(): Option {
  return new Option('--config <file>', "the agent's configuration file, to find its control socket");
}

/**
 * The socket to ask: --socket, else `control.socket` of --config (read, not
 * validated: `config check` does that), else the default.
 */
async function resolveSocket(o: { socket?: string; config?: string }): Promise<string> {
  if (o.socket !== undefined) return o.socket;
  if (o.config === undefined) return DEFAULT_CONTROL_SOCKET;
  const { readFile } = await import('node:fs/promises');
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(await readFile(o.config, 'utf8'));
  } catch (err) {
    throw new Error(`--config ${o.config}: ${errorText(err)}`);
  }
  const control = typeof doc === 'object' && doc !== null ? (doc as { control?: { socket?: unknown } }).control : undefined;
  return typeof control?.socket === 'string' ? control.socket : DEFAULT_CONTROL_SOCKET;
}

/**
 * The commands (and their tables) are loaded when one runs: `wgbgp agent` is the
 * daemon's process and has no use for them.
 */
const commands = (): Promise<typeof import('./commands.js')> => import('./commands.js');

function buildProgram(io: CliIo, setCode: (code: number) => void): Command {
  const program = new Command('wgbgp')
    .description('One WireGuard interface per neighbor, BGP across it, routes into the Linux or VPP FIB')
    .version(version(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run `wgbgp --help` for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (t, write) => write(`wgbgp: ${t}`) })
    .allowExcessArguments(false);
  const run = (p: Promise<number> | number): Promise<void> => Promise.resolve(p).then(setCode);

  program
    .command('agent')
    .description('run the routing agent (the daemon; systemd Type=notify)')
    .option('--config <file>', 'configuration file', DEFAULT_AGENT_CONFIG)
    .action(async (o: { config: string }) => setCode(await runAgentCommand(o.config, io)));

  const config = program.command('config').description('configuration tools');
  config
    .command('check')
    .description('validate a configuration file without touching the system')
    .argument('<file>', 'configuration file')
    .option('--strict', 'treat warnings (a missing private key file) as errors', false)
    .action(async (file: string, o: { strict: boolean }) => run((await commands()).configCheck(io, file, o.strict)));

  /** A read-only view: `--json`, `--socket`, `--config`, and the command's function of the same options. */
  const view = (parent: Command, name: string, description: string, fn: 'status' | 'tunnels' | 'ospfNeighbors' | 'ospfRoutes'): void => {
    parent
      .command(name)
      .description(description)
      .option('--json', 'print the agent\'s JSON', false)
      .addOption(socketOption())
      .addOption(configOption())
      .action(async (o: { json: boolean; socket?: string; config?: string }) => run((await commands())[fn](io, { json: o.json, socket: await resolveSocket(o) })));
  };
  view(program, 'status', 'show the agent and dataplane state (exit 1 when degraded or a neighbor is down, 3 when unreachable)', 'status');
  view(program, 'tunnels', 'show the WireGuard tunnels', 'tunnels');

  program
    .command('neighbors')
    .description('show the BGP neighbors, or one in full (capabilities, timers, counters, last error)')
    .argument('[name]', 'a neighbor name (neighbors[].name)')
    .option('--json', 'print the agent\'s JSON', false)
    .addOption(socketOption())
    .addOption(configOption())
    .action(async (name: string | undefined, o: { json: boolean; socket?: string; config?: string }) =>
      run((await commands()).neighbors(io, { json: o.json, socket: await resolveSocket(o) }, name)),
    );

  program
    .command('neighbor')
    .description('shut a BGP neighbor down (Cease with an RFC 9003 shutdown communication) until enabled, enable it, reset its session, or refresh its routes without a reset (root only)')
    .argument('<name>', 'a neighbor name (neighbors[].name)')
    .addArgument(
      new Argument(
        '<action>',
        'shutdown: down until enable; enable: up again (also ends a max-prefix hold-down); reset: down and straight back up; refresh: route refresh (RFC 2918/7313), both directions unless --in or --out',
      ).choices([...NEIGHBOR_ACTIONS, 'refresh']),
    )
    .option('--in', 'refresh: ask the peer to send its routes again (ROUTE-REFRESH)')
    .option('--out', 'refresh: send the peer our routes again')
    .addOption(new Option('--message <text>', `shutdown communication sent to the peer with shutdown or reset (UTF-8, at most ${MAX_SHUTDOWN_COMMUNICATION} octets)`).argParser(parseShutdownMessage))
    .option('--json', 'print the agent\'s JSON', false)
    .addOption(socketOption())
    .addOption(configOption())
    .action(async (name: string, action: NeighborAction | 'refresh', o: { message?: string; in?: boolean; out?: boolean; json: boolean; socket?: string; config?: string }, command: Command) => {
      if (action !== 'refresh' && (o.in === true || o.out === true)) command.error('error: --in and --out go with refresh');
      if (action === 'refresh') {
        if (o.message !== undefined) command.error('error: --message goes with shutdown or reset, not refresh');
        // Both or neither: both directions.
        const direction = o.in === true && o.out !== true ? 'in' : o.out === true && o.in !== true ? 'out' : undefined;
        await run((await commands()).neighborRefresh(io, { json: o.json, socket: await resolveSocket(o) }, name, direction));
        return;
      }
      if (action === 'enable' && o.message !== undefined) command.error('error: --message goes with shutdown or reset, not enable');
      await run((await commands()).neighborAction(io, { json: o.json, socket: await resolveSocket(o) }, name, action, o.message));
    });

  program
    .command('watch')
    .description('stream the agent\'s events (sessions, route counts, handshakes, dataplane, reloads) until Ctrl-C')
    .option('--json', 'one JSON object per line', false)
    .addOption(socketOption())
    .addOption(configOption())
    .action(async (o: { json: boolean; socket?: string; config?: string }) => run((await commands()).watch(io, { json: o.json, socket: await resolveSocket(o) })));

  program
    .command('log-level')
    .description(`show the log level of each component, or set one while the agent runs (${LOG_COMPONENTS.join(', ')})`)
    .argument('[component]', `one of ${LOG_COMPONENTS.join(', ')}`, choice('component', LOG_COMPONENTS))
    .argument('[level]', `one of ${LOG_LEVELS.join(', ')}`, choice('level', LOG_LEVELS))
    .option('--json', 'print the agent\'s JSON', false)
    .addOption(socketOption())
    .addOption(configOption())
    .action(async (component: string | undefined, level: string | undefined, o: { json: boolean; socket?: string; config?: string }) =>
      run((await commands()).logLevel(io, { json: o.json, socket: await resolveSocket(o) }, component, level)),
    );

  const ospf = program.command('ospf').description('the OSPF bridge: FRR\'s adjacencies and routes on the tunnels');
  view(ospf, 'neighbors', 'OSPFv2 and OSPFv3 adjacencies (from FRR)', 'ospfNeighbors');
  view(ospf, 'routes', 'OSPF\'s own routes: type, cost, area, next hops (from FRR)', 'ospfRoutes');

  program
    .command('routes')
    .description('show the Loc-RIB: all routes, or one prefix (exact, or the longest match for an address) with every path and the step that chose the best')
    .argument('[target]', 'PREFIX (exact) or ADDRESS (longest match)', parseRouteQuery)
    .option('--json', 'print the agent\'s JSON', false)
    .addOption(socketOption())
    .addOption(configOption())
    .action(async (target: string | undefined, o: { json: boolean; socket?: string; config?: string }) =>
      run((await commands()).routes(io, { json: o.json, socket: await resolveSocket(o) }, target)),
    );

  program
    .command('reload')
    .description('re-read the configuration, like SIGHUP; fails with the errors when it is rejected')
    .option('--dry-run', 'apply nothing: say what the reload would change, and per neighbor what its new policies would accept, reject, send and stop sending', false)
    .option('--json', 'print the agent\'s JSON', false)
    .addOption(socketOption())
    .addOption(configOption())
    .action(async (o: { dryRun: boolean; json: boolean; socket?: string; config?: string }) =>
      run(o.dryRun ? (await commands()).reloadDryRun(io, { json: o.json, socket: await resolveSocket(o) }) : (await commands()).reload(io, await resolveSocket(o), o.json)),
    );

  program
    .command('genkey')
    .description('print a new WireGuard private key (like `wg genkey`)')
    .action(async () => run((await commands()).genkey(io)));
  program
    .command('pubkey')
    .description('read a private key on stdin, print its public key (like `wg pubkey`)')
    .action(async () => run((await commands()).pubkey(io)));

  const lab = program.command('lab').description('run a lab topology in network namespaces');
  lab
    .command('up')
    .description('start the topology')
    .argument('<labdir>', 'lab folder (holds topology.clab.yml)')
    .action(async (dir: string) => {
      const { labUp } = await import('#lab/index');
      await labUp(dir);
      setCode(0);
    });
  lab
    .command('down')
    .description('stop the topology and remove its namespaces')
    .argument('<labdir>', 'lab folder')
    .action(async (dir: string) => {
      const { labDown } = await import('#lab/index');
      await labDown(dir);
      setCode(0);
    });
  lab
    .command('test')
    .description("check the lab's assertions; exit 1 when one fails")
    .argument('<labdir>', 'lab folder')
    .action(async (dir: string) => {
      const { labTest } = await import('#lab/index');
      setCode((await labTest(dir)) ? 0 : 1);
    });

  // Both walk the finished tree when they run (docs.ts): whatever --help lists, they list.
  program
    .command('completion')
    .description('print the shell completion script (bash: source it; zsh: save it as _wgbgp in $fpath)')
    .addArgument(program.createArgument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action(async (shell: 'bash' | 'zsh') => {
      const docs = await import('./docs.js');
      io.stdout(shell === 'bash' ? docs.bashCompletion(program) : docs.zshCompletion(program));
      setCode(0);
    });
  program
    .command('man')
    .description('print the manual page wgbgp(1) in roff (`wgbgp man | man -l -`)')
    .action(async () => {
      const { manPage } = await import('./docs.js');
      io.stdout(manPage(program));
      setCode(0);
    });

  return program;
}

/** Runs one command line (without "node wgbgp") and returns the exit code. */
export async function runProgram(argv: string[], io: CliIo): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end through here with exit code 0; anything else is a usage error.
      return e.exitCode === 0 ? 0 : 2;
    }
    reportFailure(e, io);
    return 1;
  }
}
