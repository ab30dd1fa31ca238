/**
 * What the command line and the daemon's own start share, without commander:
 * the process's I/O, how a failure is printed, and `wgbgp agent` itself.
 */
import type { CliIo } from './commands.js';
import { errorText } from '#lib/error-text';

/** `wgbgp agent` without --config. */
export const DEFAULT_AGENT_CONFIG = '/etc/wgbgp/wgbgp.yaml';

export function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    stdoutFd: 1,
    now: () => new Date(),
    color: useColor(),
    // Only `watch` takes Ctrl-C over; every other command keeps the default (exit at once).
    interrupted: () =>
      new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      }),
  };
}

/** Colour only on a terminal, and never with NO_COLOR (no-color.org) or TERM=dumb. */
export function useColor(env: NodeJS.ProcessEnv = process.env, isTty = process.stdout.isTTY === true): boolean {
  return isTty && (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb';
}

/** A failed command on stderr: one line, or as is when it is a list of config issues (each names its file). */
export function reportFailure(e: unknown, io: CliIo): void {
  const message = errorText(e);
  io.stderr(message.includes('\n') ? `${message}\n` : `wgbgp: ${message}\n`);
}

/** `wgbgp agent`: runs the daemon until it is stopped; 0 then, 1 when it could not start. */
export async function runAgentCommand(configPath: string, io: CliIo): Promise<number> {
  try {
    // Loaded on demand: the agent's modules are not needed to query it.
    const { runAgent } = await import('#agent/index');
    await runAgent({ configPath });
    return 0;
  } catch (e) {
    reportFailure(e, io);
    return 1;
  }
}
