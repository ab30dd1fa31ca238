/**
 * The `wgbgp` command's entry (design.md "The operator's contract"). The
 * daemon's own command line, `wgbgp agent [--config FILE]` as its unit runs
 * it, starts the agent straight away; every other one, help and usage errors
 * included, goes to the commander program (program.ts), which the agent's
 * process then never loads.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CliIo } from './commands.js';
import { DEFAULT_AGENT_CONFIG, processIo, runAgentCommand } from './io.js';

export type { CliIo } from './commands.js';
export { processIo, useColor } from './io.js';

/** The configuration file of `agent`, `agent --config FILE` or `agent --config=FILE`; null for any other command line. */
export function plainAgentCommand(argv: readonly string[]): string | null {
  if (argv[0] !== 'agent') return null;
  if (argv.length === 1) return DEFAULT_AGENT_CONFIG;
  if (argv.length === 2 && argv[1]!.startsWith('--config=') && argv[1]!.length > '--config='.length) return argv[1]!.slice('--config='.length);
  if (argv.length === 3 && argv[1] === '--config' && !argv[2]!.startsWith('-')) return argv[2]!;
  return null;
}

/** Runs one command line (without "node wgbgp") and returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const config = plainAgentCommand(argv);
  if (config !== null) return runAgentCommand(config, io);
  const { runProgram } = await import('./program.js');
  return runProgram(argv, io);
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // `wgbgp routes | head`: a reader that goes away is the end of the output, not a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await main(process.argv.slice(2));
}
