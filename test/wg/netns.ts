/**
 * Running project code inside network namespaces from a vitest file.
 *
 * A Node process cannot change namespace, so the code under test runs in a
 * child started with `ip netns exec <ns> node <driver.js>`. The driver is
 * compiled (with what it imports from src/) by `buildForNetns` into a temp
 * directory that has its own package.json mapping the `#…/*` aliases onto the
 * compiled tree, so it does not depend on dist/ or on the rest of the project
 * compiling cleanly. Parent and child talk JSON lines over stdin/stdout:
 * `serveJsonLines` is the child side, `NsRpc` the parent side.
 *
 * Nothing here imports vitest, so drivers may import it too.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs a command, resolving with stdout; rejects with its stderr in the message. */
export async function sh(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  try {
    return (await run(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 10_000 })).stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${err.stderr?.trim() || err.message}`);
  }
}

export const randomSuffix = (): string => Math.floor(Math.random() * 0xfffff).toString(16).padStart(5, '0');

export interface NetnsBuild {
  /** Root of the compiled tree; `src/…` and `test/…` keep their repo layout under it. */
  outDir: string;
  /** The compiled .js path of a repo-relative .ts path ("test/wg/driver.ts"). */
  js(tsPath: string): string;
  cleanup(): void;
}

/**
 * Compiles `entries` (repo-relative .ts files) and everything they import with
 * the project's tsconfig into a temp dir. Type errors elsewhere in the tree do
 * not stop the emit; a missing output does. `extraIncludes` adds globs for
 * modules that are only imported dynamically.
 */
export async function buildForNetns(entries: string[], extraIncludes: string[] = []): Promise<NetnsBuild> {
  const dir = mkdtempSync(join(tmpdir(), 'wgbgp-netns-build-'));
  const outDir = join(dir, 'out');
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(REPO, 'tsconfig.json'),
        compilerOptions: {
          rootDir: REPO,
          outDir,
          noEmit: false,
          sourceMap: false,
          typeRoots: [join(REPO, 'node_modules/@types')],
        },
        files: entries.map((e) => join(REPO, e)),
        include: extraIncludes.map((g) => join(REPO, g)),
      }),
    );
    await run(join(REPO, 'node_modules/.bin/tsc'), ['-p', join(dir, 'tsconfig.json')], { cwd: REPO, timeout: 60_000 })
      .catch(() => undefined);
    const missing = entries.filter((e) => !existsSync(jsPath(outDir, e)));
    if (missing.length > 0) throw new Error(`tsc emitted nothing for ${missing.join(', ')}`);
    // The compiled code keeps its `#lib/prefix`-style imports: map them here.
    // Every alias of the repository's package.json, pointed at the compiled tree.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      imports: Record<string, unknown>;
    };
    const imports: Record<string, string> = {};
    for (const alias of Object.keys(pkg.imports)) {
      imports[alias] = `./src/${alias.slice(1, alias.indexOf('/'))}/*.js`;
    }
    writeFileSync(join(outDir, 'package.json'), JSON.stringify({ type: 'module', imports }));
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  } catch (e) {
    cleanup();
    throw e;
  }
  return { outDir, js: (e) => jsPath(outDir, e), cleanup };
}

function jsPath(outDir: string, tsPath: string): string {
  return join(outDir, relative(REPO, join(REPO, tsPath))).replace(/\.ts$/, '.js');
}

/** Two namespaces joined by a veth: `a` has 198.18.<n>.1/24, `b` has .2. */
export interface NetnsPair {
  a: string;
  b: string;
  ipA: string;
  ipB: string;
  /** Kills every process left in the namespaces (by their PIDs), then deletes them. */
  cleanup(): Promise<void>;
}

export async function createNetnsPair(prefix: string, suffix: string): Promise<NetnsPair> {
  const a = `${prefix}-a-${suffix}`;
  const b = `${prefix}-b-${suffix}`;
  const n = Number.parseInt(suffix, 16) % 250;
  const ipA = `198.18.${n}.1`;
  const ipB = `198.18.${n}.2`;
  const cleanup = async (): Promise<void> => {
    for (const ns of [a, b]) {
      const pids = await sh('ip', ['netns', 'pids', ns]).catch(() => '');
      for (const pid of pids.split('\n').map(Number).filter((p) => p > 0)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
  };
  try {
    await sh('ip', ['netns', 'add', a]);
    await sh('ip', ['netns', 'add', b]);
    await sh('ip', ['link', 'add', `va${suffix}`, 'netns', a, 'type', 'veth', 'peer', 'name', `vb${suffix}`, 'netns', b]);
    for (const [ns, dev, addr] of [[a, `va${suffix}`, ipA], [b, `vb${suffix}`, ipB]] as const) {
      await sh('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
      await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      await sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
  return { a, b, ipA, ipB, cleanup };
}

interface RpcReply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string };
}

/** An error thrown in the child, with its class name kept. */
export class RemoteError extends Error {
  constructor(
    readonly remoteName: string,
    message: string,
  ) {
    super(`${remoteName}: ${message}`);
  }
}

/** Parent side: a driver script running in a namespace, called op by op. */
export class NsRpc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stderr = '';
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: RpcReply;
      try {
        msg = JSON.parse(line) as RpcReply;
      } catch {
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new RemoteError(msg.error?.name ?? 'Error', msg.error?.message ?? 'unknown'));
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-8000);
    });
    child.on('exit', () => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`driver exited: ${this.stderr}`));
      this.pending.clear();
    });
  }

  static start(ns: string, script: string, args: string[] = []): NsRpc {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new NsRpc(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** What the child wrote to stderr (its logs), for failure messages. */
  get log(): string {
    return this.stderr;
  }

  call<T>(op: string, ...args: unknown[]): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`driver exited: ${this.stderr}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** Ends the child (stdin EOF), killing it by PID if it lingers. */
  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await done;
    clearTimeout(timer);
  }
}

/** Child side: answers JSON-line calls on stdin with the handlers; exits at EOF. */
export function serveJsonLines(handlers: Record<string, (...args: never[]) => Promise<unknown>>): void {
  const rl = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  rl.on('line', (line) => {
    queue = queue.then(async () => {
      const { id, op, args } = JSON.parse(line) as { id: number; op: string; args: never[] };
      let reply: RpcReply;
      try {
        const h = handlers[op];
        if (!h) throw new Error(`unknown op ${op}`);
        reply = { id, ok: true, value: (await h(...args)) ?? null };
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        reply = { id, ok: false, error: { name: err.name, message: err.message } };
      }
      process.stdout.write(`${JSON.stringify(reply)}\n`);
    });
  });
  rl.on('close', () => {
    void queue.then(() => process.exit(0));
  });
}
