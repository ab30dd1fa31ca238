/**
 * A throw-away network namespace per test file. Everything the tests create
 * lives inside it (`ip -n NAME …`), so the host's interfaces and routes are
 * never touched; deleting the namespace removes it all.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const live = new Set<string>();
let hooked = false;

export class TestNetns {
  private constructor(readonly name: string) {}

  static create(): TestNetns {
    const name = `wgbgp-t-${randomBytes(4).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', name]);
    live.add(name);
    if (!hooked) {
      hooked = true;
      // A crashed test file still removes its namespaces.
      process.on('exit', () => {
        for (const n of live) {
          try {
            execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
          } catch {
            // already gone
          }
        }
      });
    }
    const ns = new TestNetns(name);
    ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  /** `ip -n NAME args…`; returns stdout. */
  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.name, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  }

  /** `ip netns exec NAME args…` (a command in the namespace, e.g. a per-namespace sysctl); returns stdout. */
  exec(...args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, ...args], { encoding: 'utf8' });
  }

  /** `ip -j -n NAME args…`, parsed. */
  json<T = unknown>(...args: string[]): T {
    const out = execFileSync('ip', ['-j', '-n', this.name, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    return (out.trim() === '' ? [] : JSON.parse(out)) as T;
  }

  /** A veth pair inside the namespace, both ends up. */
  veth(a: string, b: string): void {
    this.ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    this.ip('link', 'set', a, 'up');
    this.ip('link', 'set', b, 'up');
  }

  destroy(): void {
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    live.delete(this.name);
  }
}
