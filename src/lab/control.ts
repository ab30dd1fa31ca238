import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { run, type RunResult } from './netns.js';

/**
 * The runner talks to agents the way an operator does: through the wgbgp CLI
 * (`status|neighbors --json --socket PATH`), so it depends on the documented
 * command line and JSON, not on the control socket's framing.
 */

/** The checkout this module belongs to (src/lab or dist/lab, two levels down). */
export const CHECKOUT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** node + this checkout's built CLI. */
export function defaultCli(): string[] {
  return [process.execPath, join(CHECKOUT_ROOT, 'dist', 'cli', 'main.js')];
}

export function runCli(cli: readonly string[], args: readonly string[], timeoutMs = 10_000): Promise<RunResult> {
  return run([...cli, ...args], { timeoutMs });
}

/**
 * Parses the JSON a `--json` command printed; null with a reason when it is
 * not JSON. `status` exits 1 when degraded or a neighbor is down and still
 * prints its JSON (docs/cli.md): that is an answer too.
 */
export function parseCliJson(r: RunResult): { value: unknown } | { error: string } {
  if (r.code !== 0 && !(r.code === 1 && r.stdout.trimStart().startsWith('{'))) {
    return { error: lastLine(r.stderr) || lastLine(r.stdout) || `exit ${r.code}` };
  }
  try {
    return { value: JSON.parse(r.stdout) as unknown };
  } catch {
    return { error: `not JSON: ${r.stdout.slice(0, 200)}` };
  }
}

export function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.trim() ?? '';
}

/** True when something accepts connections on the unix socket (a live agent, not a stale file). */
export function socketAnswers(path: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const sock = createConnection(path);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolvePromise(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
