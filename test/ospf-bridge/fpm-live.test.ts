/**
 * The FPM listener against a real FRR 8.4 zebra. Two namespaces, OSPFv2 and
 * OSPFv3 between them; zebra in A streams its FIB to an FpmListener in this
 * process through a veth to the root namespace:
 *
 *   A: zebra -M dplane_fpm_nl, ospfd, ospf6d        B: zebra, ospfd, ospf6d
 *      a1 10.255.0.0/31 ----------------------------- b1 10.255.0.1/31
 *      fpm0 169.254.x.2/30 --- root: FpmListener         lan-b 10.10.2.1/24 fd00:10:2::1/64
 *                                                        lan-c 10.10.3.1/24 fd00:10:3::1/64
 *
 * Needs root and FRR in /usr/lib/frr. Without them the file is skipped, with
 * the reason printed; under CI=true it fails instead.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import { FpmListener } from '#ospf/fpm';
import { FPM_SETTLE_MS, FpmTable, type FpmRouteChange, type FpmTableEvent } from '#ospf/fpm-table';
import { cleanupPrefix, createNamespaces, execIn, netnsSupported, uniqueName, withVethPair } from '../lab/helpers/netns.js';

const FRR = '/usr/lib/frr';
const DAEMONS = ['zebra', 'ospfd', 'ospf6d'] as const;
const CI = process.env.CI === 'true';

function missingPrerequisite(): string | null {
  if (!netnsSupported()) return 'needs root and `ip netns`';
  for (const d of DAEMONS) if (!existsSync(join(FRR, d))) return `${FRR}/${d} is not installed (apt install frr)`;
  return null;
}

const missing = missingPrerequisite();
if (missing !== null && !CI) console.log(`ospf-bridge/fpm-live: skipped: ${missing}`);

interface Seen {
  at: number;
  change: FpmRouteChange;
}

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(missing !== null && !CI)('FPM from a real zebra (FRR 8.4, OSPFv2 and OSPFv3 in namespaces)', () => {
  const prefix = uniqueName('fpml');
  const rootLink = `${prefix}r`;
  // A /30 of 169.254/16 of our own, so parallel runs do not share an address.
  const subnet = 4 * (1 + (randomBytes(2).readUInt16BE(0) % 16_000));
  const rootAddr = `169.254.${subnet >> 8}.${(subnet & 0xff) + 1}`;
  const fpmAddr = `169.254.${subnet >> 8}.${(subnet & 0xff) + 2}`;
  let dir = '';
  let nsA = '';
  let nsB = '';
  let frr = { uid: 0, gid: 0 };
  let table: FpmTable;
  let listener: FpmListener;
  const seen: Seen[] = [];
  const events: FpmTableEvent[] = [];

  function writeConf(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    chownSync(path, frr.uid, frr.gid);
    return path;
  }

  async function startDaemons(ns: string, node: 'a' | 'b'): Promise<void> {
    for (const d of DAEMONS) {
      const args = ['-d', '-N', ns, '-P', '0', '-f', join(dir, `${d}-${node}.conf`), '-i', join(dir, `${d}-${node}.pid`)];
      if (d === 'zebra' && node === 'a') args.push('-M', 'dplane_fpm_nl');
      await execIn(ns, [join(FRR, d), ...args]);
    }
  }

  function daemonConfs(node: 'a' | 'b', port: number): void {
    const rid = node === 'a' ? '10.10.1.1' : '10.10.2.1';
    const link = node === 'a' ? 'a1' : 'b1';
    const lans = node === 'a' ? ['lan-a'] : ['lan-b', 'lan-c'];
    let zebra = `hostname ${node}\nlog file ${dir}/zebra-${node}.log\n`;
    if (node === 'a') zebra += `fpm address ${rootAddr} port ${port}\n`;
    let v4 = `hostname ${node}\nlog file ${dir}/ospfd-${node}.log\n`;
    v4 += `interface ${link}\n ip ospf area 0\n ip ospf network point-to-point\n ip ospf hello-interval 1\n ip ospf dead-interval 4\n`;
    let v6 = `hostname ${node}\nlog file ${dir}/ospf6d-${node}.log\n`;
    v6 += `interface ${link}\n ipv6 ospf6 area 0\n ipv6 ospf6 network point-to-point\n ipv6 ospf6 hello-interval 1\n ipv6 ospf6 dead-interval 4\n`;
    for (const l of lans) {
      v4 += `interface ${l}\n ip ospf area 0\n ip ospf passive\n`;
      v6 += `interface ${l}\n ipv6 ospf6 area 0\n ipv6 ospf6 passive\n`;
    }
    v4 += `router ospf\n ospf router-id ${rid}\n timers throttle spf 0 50 500\n`;
    v6 += `router ospf6\n ospf6 router-id ${rid}\n`;
    writeConf(`zebra-${node}.conf`, zebra);
    writeConf(`ospfd-${node}.conf`, v4);
    writeConf(`ospf6d-${node}.conf`, v6);
  }

  function logs(): string {
    return ['zebra-a.log', 'ospfd-a.log', 'ospf6d-a.log']
      .map((f) => {
        try {
          return `--- ${f}\n${readFileSync(join(dir, f), 'utf8').split('\n').slice(-15).join('\n')}`;
        } catch {
          return `--- ${f}: none`;
        }
      })
      .join('\n');
  }

  const announced = (p: string) => table.routes().find((r) => r.prefix === p);
  const changesOf = (p: string, from = 0) => seen.slice(from).filter((s) => s.change.route.prefix === p).map((s) => s.change.op);

  beforeAll(async () => {
    if (missing !== null) throw new Error(`CI=true and this test cannot run: ${missing}`);
    frr = {
      uid: Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim()),
      gid: Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim()),
    };
    dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    chownSync(dir, frr.uid, frr.gid);
    [nsA, nsB] = (await createNamespaces(prefix)) as [string, string];
    for (const ns of [nsA, nsB]) {
      mkdirSync(`/var/run/frr/${ns}`, { recursive: true });
      chownSync(`/var/run/frr/${ns}`, frr.uid, frr.gid);
    }
    await withVethPair(nsA, nsB, { nameA: 'a1', nameB: 'b1', addrA: '10.255.0.0/31', addrB: '10.255.0.1/31' });
    execFileSync('ip', ['link', 'add', rootLink, 'type', 'veth', 'peer', 'name', `${prefix}f`]);
    execFileSync('ip', ['link', 'set', `${prefix}f`, 'netns', nsA]);
    await execIn(nsA, `ip link set ${prefix}f name fpm0 && ip addr add ${fpmAddr}/30 dev fpm0 && ip link set fpm0 up`);
    execFileSync('ip', ['addr', 'add', `${rootAddr}/30`, 'dev', rootLink]);
    execFileSync('ip', ['link', 'set', rootLink, 'up']);
    await execIn(nsA, 'ip link add lan-a type ifb && ip addr add 10.10.1.1/24 dev lan-a && ip addr add fd00:10:1::1/64 dev lan-a nodad && ip link set lan-a up');
    for (const [lan, n] of [['lan-b', 2], ['lan-c', 3]] as const) {
      await execIn(nsB, `ip link add ${lan} type ifb && ip addr add 10.10.${n}.1/24 dev ${lan} && ip addr add fd00:10:${n}::1/64 dev ${lan} nodad && ip link set ${lan} up`);
    }

    table = new FpmTable({ clock: new SystemClock(), holdMs: 120_000 });
    table.subscribe((cs) => {
      for (const change of cs) seen.push({ at: Date.now(), change });
    });
    table.watch((e) => events.push(e));
    listener = new FpmListener({ table, log: silentLogger(), host: rootAddr, port: 0 });
    await listener.start();
    daemonConfs('a', listener.address()!.port);
    daemonConfs('b', 0);
    await startDaemons(nsB, 'b');
    await startDaemons(nsA, 'a');
  });

  afterAll(async () => {
    await listener?.close();
    table?.close();
    await cleanupPrefix(prefix);
    for (const ns of [nsA, nsB]) if (ns !== '') rmSync(`/var/run/frr/${ns}`, { recursive: true, force: true });
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('zebra connects and its OSPFv2 and OSPFv3 routes arrive, with next hops resolved through its next-hop groups', async () => {
    const a1 = (JSON.parse((await execIn(nsA, 'ip -j link show a1')).stdout) as { ifindex: number }[])[0]!.ifindex;
    const b1 = JSON.parse((await execIn(nsB, 'ip -j -6 addr show dev b1 scope link')).stdout) as { addr_info: { local: string }[] }[];
    const b1ll = b1[0]!.addr_info[0]!.local;
    await until('the OSPF routes', () => ['10.10.2.0/24', '10.10.3.0/24', 'fd00:10:2::/64', 'fd00:10:3::/64'].every(announced)).catch((e: Error) => {
      throw new Error(`${e.message}\n${logs()}`);
    });
    expect(announced('10.10.2.0/24')).toEqual({
      family: 4,
      prefix: '10.10.2.0/24',
      table: 254,
      protocol: 188,
      type: 1,
      metric: 20,
      nexthops: [{ address: '10.255.0.1', ifindex: a1 }],
    });
    expect(announced('fd00:10:2::/64')).toMatchObject({ family: 6, protocol: 188, nexthops: [{ address: b1ll, ifindex: a1 }] });
    expect(table.routes().every((r) => r.protocol === 188)).toBe(true);
    expect(listener.status()).toMatchObject({ framingErrors: 0 });
    expect(table.counters).toMatchObject({ connects: 1, decodeErrors: 0 });
    expect(table.counters.nexthopMessages).toBeGreaterThan(0);
  }, 90_000);

  it('a route withdrawn in OSPF is withdrawn here, and comes back', async () => {
    const from = seen.length;
    await execIn(nsB, 'ip addr del 10.10.3.1/24 dev lan-c');
    await until('10.10.3.0/24 withdrawn', () => announced('10.10.3.0/24') === undefined, 45_000);
    expect(changesOf('10.10.3.0/24', from)).toEqual(['delete']);
    await execIn(nsB, 'ip addr add 10.10.3.1/24 dev lan-c');
    await until('10.10.3.0/24 back', () => announced('10.10.3.0/24') !== undefined, 45_000);
    expect(changesOf('10.10.3.0/24', from)).toEqual(['delete', 'add']);
  }, 90_000);

  it('zebra killed and restarted (with its OSPF daemons, as watchfrr does): the routes are held, nothing flaps, a route removed meanwhile goes after the settle', async () => {
    const from = seen.length;
    events.splice(0);
    for (const d of DAEMONS) {
      const pid = readFileSync(join(dir, `${d}-a.pid`), 'utf8').trim();
      execFileSync('kill', ['-KILL', pid]);
    }
    await until('the disconnect', () => table.state().phase === 'holding', 10_000);
    // Meanwhile 10.10.3.0/24 disappears from OSPF; the others stay as they are.
    await execIn(nsB, 'ip addr del 10.10.3.1/24 dev lan-c');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(table.state()).toMatchObject({ phase: 'holding', announced: 4 });
    expect(seen.length).toBe(from);

    await startDaemons(nsA, 'a');
    await until('the reconnect', () => table.counters.connects === 2, 20_000);
    const connectedAt = Date.now();
    await until('the end of the resync', () => events.some((e) => e.kind === 'resync-done'), 70_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${logs()}`);
    });
    expect(events).toEqual([expect.objectContaining({ kind: 'resync-done', reason: 'settled', withdrawn: 1, unresolved: 0 })]);
    expect(seen.slice(from).map((s) => `${s.change.op} ${s.change.route.prefix}`)).toEqual(['delete 10.10.3.0/24']);
    expect(seen.at(-1)!.at - connectedAt).toBeGreaterThanOrEqual(FPM_SETTLE_MS - 200);
    for (const p of ['10.10.2.0/24', 'fd00:10:2::/64', 'fd00:10:3::/64']) expect(announced(p), p).toBeDefined();
    // The routes held were sent again on the new connection (with renumbered groups), not merely kept.
    expect(table.state()).toMatchObject({ phase: 'synced', routes: 3, stale: 0, announced: 3 });
  }, 120_000);
});
