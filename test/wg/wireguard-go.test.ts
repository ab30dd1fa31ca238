/**
 * The wireguard-go backend against the real wireguard-go, in two network
 * namespaces joined by a veth. Each backend runs inside its namespace in a
 * driver child (driver.ts, netns.ts); the test runs in the root namespace,
 * where `wg` still reads every namespace's interfaces through the shared
 * UAPI socket directory.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePrivateKey, linkLocalPair, publicKeyOf, type EnsureResult, type TunnelStatus } from '#wg/index';
import type { WireSpec } from './driver.js';
import { buildForNetns, createNetnsPair, NsRpc, randomSuffix, sh, type NetnsBuild, type NetnsPair } from './netns.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/wireguard-go') && existsSync('/usr/bin/wg');

type WireStatus = Omit<TunnelStatus, 'latestHandshake'> & { latestHandshake: string | null };

/** Runs and is not a zombie (an orphaned wireguard-go may be reaped late). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

async function until<T>(what: string, fn: () => Promise<T | null | false>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v !== null && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ping = (ns: string, addr: string, v6 = false): Promise<string> =>
  sh('ip', ['netns', 'exec', ns, 'ping', ...(v6 ? ['-6'] : []), '-c1', '-W1', addr]);

describe.skipIf(!canRun)('wireguard-go backend in network namespaces', () => {
  const suffix = randomSuffix();
  const ifA = `wga${suffix}`;
  const ifB = `wgb${suffix}`;
  const privA = generatePrivateKey();
  const privB = generatePrivateKey();
  const pubA = publicKeyOf(privA);
  const pubB = publicKeyOf(privB);
  const llA = linkLocalPair(pubA, pubB);
  const llB = linkLocalPair(pubB, pubA);
  // 1…250: with 0 the IPv6 text would be fd00:255:0::, which the kernel shows as fd00:255:: (a test that failed 1 run in 250).
  const net = (Number.parseInt(suffix, 16) % 250) + 1;
  const [PA, PB, PA2] = [51820, 51821, 51830];

  let build: NetnsBuild | null = null;
  let pair: NetnsPair | null = null;
  let stateDir = '';
  let a: NsRpc | null = null;
  let b: NsRpc | null = null;
  let specA: WireSpec;
  let specB: WireSpec;

  const A = (): NsRpc => a!;
  const B = (): NsRpc => b!;
  const startDriver = (ns: string): NsRpc => NsRpc.start(ns, build!.js('test/wg/driver.ts'), ['--state-dir', stateDir]);

  beforeAll(async () => {
    build = await buildForNetns(['test/wg/driver.ts']);
    pair = await createNetnsPair('wgt', suffix);
    stateDir = mkdtempSync(join(tmpdir(), 'wgbgp-wgtest-'));
    a = startDriver(pair.a);
    b = startDriver(pair.b);
    specA = {
      name: 'b', interface: ifA, privateKey: privA, peerPublicKey: pubB,
      endpoint: `${pair.ipB}:${PB}`, listenPort: PA, persistentKeepalive: 0, mtu: 1420,
      addresses: [`10.255.${net}.0/31`, `fd00:255:${net}::/127`, llA.local],
      peerAddresses: [`10.255.${net}.1`, `fd00:255:${net}::1`, llA.remote], sourceAddress: null,
    };
    specB = {
      name: 'a', interface: ifB, privateKey: privB, peerPublicKey: pubA,
      endpoint: `${pair.ipA}:${PA}`, listenPort: PB, persistentKeepalive: 0, mtu: 1420,
      addresses: [`10.255.${net}.1/31`, `fd00:255:${net}::1/127`, llB.local],
      peerAddresses: [`10.255.${net}.0`, `fd00:255:${net}::`, llB.remote], sourceAddress: null,
    };
  });

  afterAll(async () => {
    await a?.close().catch(() => undefined);
    await b?.close().catch(() => undefined);
    // Kills what is left in the namespaces (the detached wireguard-go processes) by PID.
    await pair?.cleanup();
    for (const i of [ifA, ifB]) {
      const sock = `/var/run/wireguard/${i}.sock`;
      if (existsSync(sock)) unlinkSync(sock);
    }
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    build?.cleanup();
  });

  it('creates both tunnels: link up, addrgenmode none, exactly the spec addresses', async () => {
    expect(await A().call<EnsureResult>('ensure', specA, null)).toBe('created');
    expect(await B().call<EnsureResult>('ensure', specB, null)).toBe('created');
    const detail = await sh('ip', ['-n', pair!.a, '-d', 'link', 'show', 'dev', ifA]);
    expect(detail).toContain('addrgenmode none');
    expect(detail).toMatch(/<[^>]*\bUP\b/);
    const addrs = JSON.parse(await sh('ip', ['-n', pair!.a, '-j', 'addr', 'show', 'dev', ifA])) as
      { addr_info: { local: string; prefixlen: number }[] }[];
    const have = addrs[0]!.addr_info.map((i) => `${i.local}/${i.prefixlen}`).sort();
    // No random kernel link-local next to the derived one.
    expect(have).toEqual([...specA.addresses].sort());
  });

  it('handshakes, and pings cross the tunnel on IPv4, IPv6 and the derived link-local', async () => {
    await until('IPv4 ping', () => ping(pair!.a, specA.peerAddresses[0]!));
    await ping(pair!.a, specA.peerAddresses[1]!, true);
    await ping(pair!.a, `${llA.remote}%${ifA}`, true);
    await ping(pair!.b, `${llB.remote}%${ifB}`, true);
    const sa = await A().call<WireStatus>('status', specA);
    const sb = await B().call<WireStatus>('status', specB);
    expect(sa).toMatchObject({ interface: ifA, dataplaneInterface: ifA, publicKey: pubB, up: true, endpoint: `${pair!.ipB}:${PB}` });
    expect(sa.latestHandshake).not.toBeNull();
    expect(sb.latestHandshake).not.toBeNull();
    expect(Math.abs(Date.parse(sa.latestHandshake!) - Date.now())).toBeLessThan(60_000);
    expect(sa.rxBytes).toBeGreaterThan(0);
  });

  it('exactly one peer, whose allowed IPs are 0.0.0.0/0 and ::/0', async () => {
    for (const [i, peer] of [[ifA, pubB], [ifB, pubA]] as const) {
      expect((await sh('wg', ['show', i, 'peers'])).trim()).toBe(peer);
      expect((await sh('wg', ['show', i, 'allowed-ips'])).trim()).toBe(`${peer}\t0.0.0.0/0 ::/0`);
    }
  });

  it('a second ensure() is "unchanged" and keeps the same process', async () => {
    const pid = await A().call<number | null>('pid', ifA);
    expect(pid).toBeGreaterThan(0);
    expect(await A().call<EnsureResult>('ensure', specA, specA)).toBe('unchanged');
    expect(await A().call<EnsureResult>('ensure', specA, null)).toBe('unchanged');
    expect(await A().call<number | null>('pid', ifA)).toBe(pid);
  });

  it('changing the keepalive is "updated"', async () => {
    const next = { ...specA, persistentKeepalive: 5 };
    expect(await A().call<EnsureResult>('ensure', next, specA)).toBe('updated');
    expect((await sh('wg', ['show', ifA, 'persistent-keepalive'])).trim()).toBe(`${pubB}\t5`);
    specA = next;
  });

  it('a roamed endpoint is kept while the configured endpoint is unchanged, replaced when it changes', async () => {
    // A moves to another port: B learns it from A's authenticated packets.
    const moved = { ...specA, listenPort: PA2 };
    expect(await A().call<EnsureResult>('ensure', moved, specA)).toBe('updated');
    specA = moved;
    const roamed = `${pair!.ipA}:${PA2}`;
    await until('B to see A roam', async () => {
      await ping(pair!.a, specA.peerAddresses[0]!).catch(() => undefined);
      return (await B().call<WireStatus>('status', specB)).endpoint === roamed;
    });
    // B's configured endpoint (A's old port) did not change: keep what B learned.
    const nextB = { ...specB, persistentKeepalive: 7 };
    expect(await B().call<EnsureResult>('ensure', nextB, specB)).toBe('updated');
    expect((await B().call<WireStatus>('status', nextB)).endpoint).toBe(roamed);
    expect(await B().call<EnsureResult>('ensure', nextB, nextB)).toBe('unchanged');
    await ping(pair!.b, specB.peerAddresses[0]!);
    // The operator configures a new endpoint: it is written.
    const reconfigured = { ...nextB, endpoint: `${pair!.ipA}:${PA2 + 1}` };
    expect(await B().call<EnsureResult>('ensure', reconfigured, nextB)).toBe('updated');
    expect((await B().call<WireStatus>('status', reconfigured)).endpoint).toBe(`${pair!.ipA}:${PA2 + 1}`);
    specB = reconfigured;
  });

  it('list() reports only interfaces whose link is in its namespace (sockets are host-wide)', async () => {
    expect(existsSync(`/var/run/wireguard/${ifB}.sock`)).toBe(true);
    expect(await A().call<string[]>('list')).toEqual([ifA]);
    expect(await B().call<string[]>('list')).toEqual([ifB]);
  });

  it('refuses a name whose live tunnel is in another namespace', async () => {
    await expect(A().call('ensure', { ...specA, interface: ifB }, null)).rejects.toMatchObject({
      remoteName: 'WgInterfaceConflictError',
    });
    expect((await B().call<WireStatus>('status', specB)).up).toBe(true);
  });

  it('keep-on-stop: the tunnel outlives the agent and is adopted unchanged by the next one', async () => {
    const pid = await B().call<number | null>('pid', ifB);
    await B().close();
    expect(alive(pid!)).toBe(true);
    b = startDriver(pair!.b);
    expect(await B().call<EnsureResult>('ensure', specB, null)).toBe('unchanged');
    expect(await B().call<number | null>('pid', ifB)).toBe(pid);
  });

  it('remove() deletes the link, the process and the socket', async () => {
    for (const [rpc, ns, i] of [[A(), pair!.a, ifA], [B(), pair!.b, ifB]] as const) {
      const pid = await rpc.call<number | null>('pid', i);
      expect(pid).toBeGreaterThan(0);
      await rpc.call('remove', i);
      expect(alive(pid!)).toBe(false);
      expect(existsSync(`/var/run/wireguard/${i}.sock`)).toBe(false);
      await expect(sh('ip', ['-n', ns, 'link', 'show', 'dev', i])).rejects.toThrow(/does not exist/);
      expect(await rpc.call<string[]>('list')).toEqual([]);
      expect(await rpc.call('status', i === ifA ? specA : specB)).toBeNull();
    }
  });
});
