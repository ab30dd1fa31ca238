/**
 * What the OSPF lab tests need beyond helpers/agents.ts: the kernel's OSPF
 * routes of a namespace (what zebra installed) and the route it forwards with
 * (`ip route get`), pings one at a time or as a 10/s flow, polling with an
 * asynchronous check at a chosen period (a failover is timed to tens of
 * milliseconds), and a node's FRR read directly (vtysh JSON, the AS-external
 * LSAs of its OSPF databases).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  metric?: number;
  nexthops?: { gateway?: string; dev?: string }[];
}

/** `ip -j [-6] route show ARGS` in a namespace. */
export async function ipRoutes(ns: string, family: '-4' | '-6', ...args: string[]): Promise<IpRoute[]> {
  const { stdout } = await run('ip', ['-n', ns, '-j', family, 'route', 'show', ...args]);
  return JSON.parse(stdout.trim() || '[]') as IpRoute[];
}

/** The devices of the next hops of the kernel's `proto ospf` route for `prefix` ([] when there is none). */
export async function ospfDevs(ns: string, prefix: string): Promise<string[]> {
  const routes = await ipRoutes(ns, prefix.includes(':') ? '-6' : '-4', prefix, 'proto', 'ospf');
  return routes.flatMap((r) => (r.nexthops ?? [r]).map((h) => h.dev ?? '?'));
}

/** One ping from `from` to `to` inside `ns` (2 s to answer). */
export function pingOnce(ns: string, from: string, to: string): boolean {
  const family = to.includes(':') ? ['-6'] : [];
  return spawnSync('ip', ['netns', 'exec', ns, 'ping', ...family, '-c1', '-W2', '-I', from, to], { stdio: 'ignore' }).status === 0;
}

/** A 10/s ping in the background; stop() ends it and returns what was sent and answered. */
export function pingFlow(ns: string, from: string, to: string): { stop: () => Promise<{ sent: number; received: number }> } {
  const family = to.includes(':') ? ['-6'] : [];
  const child = spawn('ip', ['netns', 'exec', ns, 'ping', ...family, '-q', '-i', '0.1', '-W', '1', '-I', from, to], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    stop: async () => {
      child.kill('SIGINT');
      await exited;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0) };
    },
  };
}

/** Polls `fn` every `pollMs` until it returns something truthy; a throw counts as "not yet". */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000, pollMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** `ip -j [-6] route get ADDR [from SRC]` in a namespace: the route the kernel would forward with. */
export async function routeGet(ns: string, addr: string, from?: string): Promise<IpRoute & { prefsrc?: string }> {
  const family = addr.includes(':') ? '-6' : '-4';
  const { stdout } = await run('ip', ['-n', ns, '-j', family, 'route', 'get', addr, ...(from === undefined ? [] : ['from', from])]);
  return (JSON.parse(stdout) as (IpRoute & { prefsrc?: string })[])[0]!;
}

/** `vtysh -N <pathspace> -c CMD` (JSON output parsed) against a lab node's FRR; the runner's pathspace is the namespace name. */
export function vtyshJson<T>(pathspace: string, cmd: string): T {
  const r = spawnSync('vtysh', ['-N', pathspace, '-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vtysh -N ${pathspace} -c '${cmd}' exited ${String(r.status)}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** One AS-external LSA of a router's database: the prefix, who originated it, its tag (OSPFv2 only; FRR's OSPFv3 listing has none) and age (3600: being flushed). */
export interface ExternalLsa {
  prefix: string;
  advRouter: string;
  tag: number | null;
  age: number;
}

/** The AS-external LSAs in a lab node's OSPFv2 and OSPFv3 databases (FRR 8.4's JSON). */
export function ospfExternalLsas(pathspace: string): ExternalLsa[] {
  const v4 = vtyshJson<{ asExternalLinkStates?: { linkStateId: string; networkMask: number; advertisingRouter: string; externalRouteTag?: number; lsaAge: number }[] }>(
    pathspace,
    'show ip ospf database external json',
  );
  const v6 = vtyshJson<{ asScopedLinkStateDb?: { lsa?: { type: string; advRouter: string; payload: string; age: number }[] }[] }>(
    pathspace,
    'show ipv6 ospf6 database as-external json',
  );
  return [
    ...(v4.asExternalLinkStates ?? []).map((l) => ({ prefix: `${l.linkStateId}/${l.networkMask}`, advRouter: l.advertisingRouter, tag: l.externalRouteTag ?? null, age: l.lsaAge })),
    ...(v6.asScopedLinkStateDb ?? []).flatMap((db) => db.lsa ?? []).filter((l) => l.type === 'ASE').map((l) => ({ prefix: l.payload, advRouter: l.advRouter, tag: null, age: l.age })),
  ];
}
