/**
 * A throw-away network namespace per test file. Everything the tests create
 * lives inside it (`ip -n NAME …`), so the host's interfaces and routes are
 * never touched; deleting the namespace removes it all.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Rtnetlink } from '#netlink/index';

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

/** A veth pair made inside a test namespace: `name` (up, with `addresses`) and its `peer` end. */
export interface TestLink {
  name: string;
  peer: string;
  /** v4 and v6 prefixes on `name` (v6 without duplicate address detection). */
  addresses?: readonly string[];
}

/** The tunnel-like link of the FIB tests: wg-a (10.255.0.0/31, fd00:255::/127) to wg-b. */
export const WG_LINK: TestLink = { name: 'wg-a', peer: 'wg-b', addresses: ['10.255.0.0/31', 'fd00:255::/127'] };

/** The netlink tests' "uplink": va (10.0.0.1/24, fd00::1/64) to vb; neighbours 10.0.0.2/.3 and fd00::2/::3 are on it. */
export const VA_LINK: TestLink = { name: 'va', peer: 'vb', addresses: ['10.0.0.1/24', 'fd00::1/64'] };

/** A new namespace with `links`, and an rtnetlink socket in it: a test file's beforeAll. */
export async function netnsWithLinks(links: readonly TestLink[]): Promise<{ ns: TestNetns; nl: Rtnetlink }> {
  const ns = TestNetns.create();
  for (const l of links) {
    ns.veth(l.name, l.peer);
    for (const a of l.addresses ?? []) ns.ip('addr', 'add', a, 'dev', l.name, ...(a.includes(':') ? ['nodad'] : []));
  }
  return { ns, nl: await Rtnetlink.open({ netns: ns.name }) };
}

/** netnsWithLinks undone (either may be unset when the beforeAll failed): a test file's afterAll. */
export async function closeNetns(ns: TestNetns | undefined, nl: Rtnetlink | undefined): Promise<void> {
  await nl?.close();
  ns?.destroy();
}
