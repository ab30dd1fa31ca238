/**
 * The VPP WireGuard backend against the fake VPP (pure mode: no Linux
 * realization): creation, adoption, peer replacement, roaming, status,
 * linux-cp. Every test asserts the fake saw no protocol error.
 */
import { describe, expect, it } from 'vitest';
import type { LinkInfo, LinkOps } from '#netlink/types';
import type { VppDataplane } from '#vpp/dataplane';
import { generatePrivateKey, publicKeyOf } from '#wg/keys';
import { defaultListenPort } from '#wg/vpp';
import type { TunnelSpec } from '#wg/types';
import { fakeVppHarness, tunnelSpecs, until } from '../fake-vpp/harness.js';
import { HOST_TUN, type FakeInterface, type FakePeer, type FakeVpp } from '../fake-vpp/index.js';

const harness = fakeVppHarness('wg-vpp-');
const spec = tunnelSpecs('wgt-');

/** Host interfaces as linux-cp would create them in the agent's namespace (from the fake's pairs). */
class HostLinks implements LinkOps {
  readonly addrs = new Map<string, string[]>();
  readonly upLinks = new Set<string>();
  readonly mtus = new Map<string, number>();
  constructor(private readonly fake: FakeVpp) {}
  private exists(name: string): boolean {
    return [...this.fake.state.lcpPairs.values()].some((p) => p.hostIfName === name);
  }
  async link(name: string): Promise<LinkInfo | null> {
    return this.exists(name) ? { index: 100, name, up: this.upLinks.has(name), mtu: this.mtus.get(name) ?? 9000 } : null;
  }
  async links(): Promise<LinkInfo[]> {
    return [];
  }
  async linkSetUp(name: string): Promise<void> {
    this.upLinks.add(name);
  }
  async linkDelete(): Promise<void> {}
  async linkSetAddrGenModeNone(): Promise<void> {}
  async linkSetMtu(name: string, mtu: number): Promise<void> {
    this.mtus.set(name, mtu);
  }
  async addresses(name: string): Promise<string[]> {
    return [...(this.addrs.get(name) ?? [])];
  }
  async addressAdd(name: string, cidr: string): Promise<void> {
    this.addrs.set(name, [...(this.addrs.get(name) ?? []), cidr]);
  }
  async addressDelete(name: string, cidr: string): Promise<void> {
    this.addrs.set(name, (this.addrs.get(name) ?? []).filter((a) => a !== cidr));
  }
}

interface Setup {
  fake: FakeVpp;
  dp: VppDataplane;
  hostLinks: HostLinks;
  resets: number[];
}

async function dataplane(
  fake: FakeVpp,
  opts: { linuxCp?: boolean; netns?: string | null; hostLinks?: boolean; now?: () => Date } = {},
): Promise<Setup> {
  const hostLinks = new HostLinks(fake);
  const { dp } = harness.dataplane(fake.socketPath, {
    connection: { maxBackoffMs: 100 },
    dataplane: {
      linuxCp: opts.linuxCp ?? false,
      linuxCpNetns: opts.netns ?? null,
      hostLinks: opts.hostLinks ? hostLinks : null,
      hostLinkWaitMs: 200,
      ...(opts.now ? { now: opts.now } : {}),
    },
  });
  const resets: number[] = [];
  dp.onReset(() => resets.push(Date.now()));
  dp.start();
  await until(() => dp.health().state !== 'down', 'VPP connected');
  return { fake, dp, hostLinks, resets };
}

function wgByTag(fake: FakeVpp, tag: string): FakeInterface {
  const i = [...fake.state.interfaces.values()].find((x) => x.tag === tag && x.wireguard !== null);
  if (!i) throw new Error(`no wg interface tagged ${tag}`);
  return i;
}

function peersOf(fake: FakeVpp, sw: number): FakePeer[] {
  return [...fake.state.peers.values()].filter((p) => p.swIfIndex === sw);
}

const names = (fake: FakeVpp, from: number): string[] => fake.requests.slice(from).map((r) => r.name);

describe('VppWireguard.ensure', () => {
  it('an address VPP already holds is accepted: IPv4 re-add answers -105 on VPP 26.06, IPv6 -127', async () => {
    const { fake, dp } = await dataplane(await harness.startFake());
    const s = spec(7);
    expect(await dp.wireguard.ensure(s, null)).toBe('created');
    const sw = wgByTag(fake, 'wgt-7').swIfIndex;
    // Behind the agent's back (an operator, or an earlier run) the next addresses appear in VPP.
    const v4 = Uint8Array.from([10, 255, 70, 0]);
    const v6 = Uint8Array.from([0xfd, 0, 2, 0x55, 0, 0x70, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(fake.state.addDelAddress(sw, true, false, 4, v4, 31)).toBe(0);
    expect(fake.state.addDelAddress(sw, true, false, 6, v6, 127)).toBe(0);
    const next = { ...s, addresses: [...s.addresses, '10.255.70.0/31', 'fd00:255:70::/127'] };
    expect(await dp.wireguard.ensure(next, s)).toBe('updated');
    expect(wgByTag(fake, 'wgt-7').addresses).toEqual(['10.255.7.0/31', 'fd00:255:7::/127', '10.255.70.0/31', 'fd00:255:70::/127']);
  });

  it('creates the interface, tags it, sets addresses, IPv6 and admin up, adds the one peer (0.0.0.0/0, ::/0)', async () => {
    const { fake, dp } = await dataplane(await harness.startFake());
    const s = spec(1);
    expect(await dp.wireguard.ensure(s, null)).toBe('created');
    const itf = wgByTag(fake, 'wgt-1');
    expect(itf.name).toMatch(/^wg\d+$/);
    expect(itf.adminUp).toBe(true);
    expect(itf.ip6Enabled).toBe(true);
    expect(itf.addresses).toEqual(['10.255.1.0/31', 'fd00:255:1::/127']);
    expect(itf.linkLocal).toBe('fe80::1:1'); // the /64 of the spec, as a /128 in VPP
    expect(itf.wireguard).toMatchObject({ port: 51821, srcIp: '198.51.100.1' });
    expect(itf.wireguard!.publicKey.toString('base64')).toBe(publicKeyOf(s.privateKey));
    const peers = peersOf(fake, itf.swIfIndex);
    expect(peers).toHaveLength(1);
    expect(peers[0]!.allowedIps.sort()).toEqual(['0.0.0.0/0', '::/0']);
    expect(peers[0]).toMatchObject({ endpoint: '198.51.100.11', port: 51820, persistentKeepalive: 25, tableId: 0 });
    expect(peers[0]!.publicKey.toString('base64')).toBe(s.peerPublicKey);
    expect(peers[0]!.subscribers.size).toBe(1); // want_wireguard_peer_events for the new peer_index
    expect(await dp.wireguard.list()).toEqual(['wgt-1']);
  });

  it('a second ensure sends nothing and reports unchanged', async () => {
    const { fake, dp } = await dataplane(await harness.startFake());
    const s = spec(1);
    await dp.wireguard.ensure(s, null);
    const before = fake.requests.length;
    expect(await dp.wireguard.ensure(s, null)).toBe('unchanged');
    expect(await dp.wireguard.ensure(s, s)).toBe('unchanged');
    expect(names(fake, before)).toEqual([]);
  });

  it('a changed keepalive replaces that peer only (VPP cannot modify a peer)', async () => {
    const { fake, dp } = await dataplane(await harness.startFake());
    const a = spec(1);
    const b = spec(2);
    await dp.wireguard.ensure(a, null);
    await dp.wireguard.ensure(b, null);
    const itfA = wgByTag(fake, 'wgt-1');
    const itfB = wgByTag(fake, 'wgt-2');
    const peerA = peersOf(fake, itfA.swIfIndex)[0]!;
    const peerB = peersOf(fake, itfB.swIfIndex)[0]!;
    const before = fake.requests.length;
    const a2 = { ...a, persistentKeepalive: 10 };
    expect(await dp.wireguard.ensure(a2, a)).toBe('updated');
    expect(names(fake, before).filter((n) => n !== 'wireguard_peers_dump' && n !== 'control_ping')).toEqual([
      'wireguard_peer_remove',
      'wireguard_peer_add',
      'want_wireguard_peer_events',
    ]);
    const newA = peersOf(fake, itfA.swIfIndex);
    expect(newA).toHaveLength(1);
    expect(newA[0]!.serial).not.toBe(peerA.serial);
    expect(newA[0]!.persistentKeepalive).toBe(10);
    expect(wgByTag(fake, 'wgt-1').serial).toBe(itfA.serial);
    expect(peersOf(fake, itfB.swIfIndex)[0]!.serial).toBe(peerB.serial);
    expect(wgByTag(fake, 'wgt-2').serial).toBe(itfB.serial);
  });

  it('two neighbors with the same public key: VPP refuses the second peer with -116', async () => {
    const { fake, dp } = await dataplane(await harness.startFake());
    const a = spec(1);
    const b = spec(2, { peerPublicKey: a.peerPublicKey });
    await dp.wireguard.ensure(a, null);
    await expect(dp.wireguard.ensure(b, null)).rejects.toThrow(/-116/);
    expect(dp.health()).toMatchObject({ state: 'degraded' });
    expect(dp.health().detail).toContain('wgt-2');
    expect(peersOf(fake, wgByTag(fake, 'wgt-1').swIfIndex)).toHaveLength(1);
  });

  it('requires a source address and an endpoint of its family', async () => {
    const { dp } = await dataplane(await harness.startFake());
    await expect(dp.wireguard.ensure(spec(1, { sourceAddress: null }), null)).rejects.toThrow(/source address/);
    await expect(dp.wireguard.ensure(spec(2, { endpoint: '[2001:db8::2]:51820' }), null)).rejects.toThrow(/same family/);
  });

  it('without listen-port picks a stable port from the name', async () => {
    const { fake, dp } = await dataplane(await harness.startFake());
    await dp.wireguard.ensure(spec(1, { listenPort: null }), null);
    expect(wgByTag(fake, 'wgt-1').wireguard!.port).toBe(defaultListenPort('wgt-1'));
    expect(defaultListenPort('wgt-1')).toBe(defaultListenPort('wgt-1'));
  });

  it('a remote-access server peer (no endpoint) is added with 0.0.0.0 port 0', async () => {
    const { fake, dp } = await dataplane(await harness.startFake());
    await dp.wireguard.ensure(spec(1, { endpoint: null }), null);
    const p = peersOf(fake, wgByTag(fake, 'wgt-1').swIfIndex)[0]!;
    expect(p).toMatchObject({ endpoint: null, port: 0 });
  });
});

describe('roaming and status', () => {
  it('keeps a roamed endpoint while the configured one is unchanged; a changed configuration overwrites it', async () => {
    const { fake, dp } = await dataplane(await harness.startFake());
    const s = spec(1);
    await dp.wireguard.ensure(s, null);
    const sw = wgByTag(fake, 'wgt-1').swIfIndex;
    const p = peersOf(fake, sw)[0]!;
    fake.roamPeer(p.peerIndex, '203.0.113.9', 40000);
    expect(await dp.wireguard.ensure(s, s)).toBe('unchanged');
    expect(peersOf(fake, sw)[0]).toMatchObject({ serial: p.serial, endpoint: '203.0.113.9', port: 40000 });
    expect((await dp.wireguard.status(s))!.endpoint).toBe('203.0.113.9:40000');

    const moved = { ...s, endpoint: '198.51.100.99:51820' };
    expect(await dp.wireguard.ensure(moved, s)).toBe('updated');
    expect(peersOf(fake, sw)[0]).toMatchObject({ endpoint: '198.51.100.99', port: 51820 });
  });

  it('a keepalive change keeps the roamed endpoint in the new peer', async () => {
    const { fake, dp } = await dataplane(await harness.startFake());
    const s = spec(1);
    await dp.wireguard.ensure(s, null);
    const sw = wgByTag(fake, 'wgt-1').swIfIndex;
    fake.roamPeer(peersOf(fake, sw)[0]!.peerIndex, '203.0.113.9', 40000);
    await dp.wireguard.ensure({ ...s, persistentKeepalive: 5 }, s);
    expect(peersOf(fake, sw)[0]).toMatchObject({ endpoint: '203.0.113.9', port: 40000, persistentKeepalive: 5 });
  });

  it('issue 12: a new public key of the neighbor swaps its peer only; a learned endpoint (remote-access server) carries over', async () => {
    const { fake, dp } = await dataplane(await harness.startFake());
    const s = spec(1, { endpoint: null });
    const other = spec(2);
    await dp.wireguard.ensure(s, null);
    await dp.wireguard.ensure(other, null);
    const itf = wgByTag(fake, 'wgt-1');
    const otherPeer = peersOf(fake, wgByTag(fake, 'wgt-2').swIfIndex)[0]!;
    fake.roamPeer(peersOf(fake, itf.swIfIndex)[0]!.peerIndex, '203.0.113.9', 40000);
    await dp.wireguard.status(s);
    const rotated = { ...s, peerPublicKey: publicKeyOf(generatePrivateKey()) };
    const before = fake.requests.length;
    expect(await dp.wireguard.ensure(rotated, s)).toBe('updated');
    expect(names(fake, before).filter((n) => n !== 'wireguard_peers_dump' && n !== 'control_ping')).toEqual([
      'wireguard_peer_remove',
      'wireguard_peer_add',
      'want_wireguard_peer_events',
    ]);
    const peers = peersOf(fake, itf.swIfIndex);
    expect(peers).toHaveLength(1);
    expect(peers[0]!.publicKey.toString('base64')).toBe(rotated.peerPublicKey);
    expect(peers[0]).toMatchObject({ endpoint: '203.0.113.9', port: 40000, persistentKeepalive: 25 });
    expect(wgByTag(fake, 'wgt-1')).toMatchObject({ serial: itf.serial, addresses: ['10.255.1.0/31', 'fd00:255:1::/127'] });
    expect(peersOf(fake, wgByTag(fake, 'wgt-2').swIfIndex)[0]!.serial).toBe(otherPeer.serial);
  });

  it('status: VPP name, endpoint, admin state; latestHandshake = when ESTABLISHED was first seen', async () => {
    const { fake, dp } = await dataplane(await harness.startFake());
    const s = spec(1);
    await dp.wireguard.ensure(s, null);
    const itf = wgByTag(fake, 'wgt-1');
    let st = (await dp.wireguard.status(s))!;
    expect(st).toMatchObject({ name: 'n1', interface: 'wgt-1', dataplaneInterface: itf.name, endpoint: '198.51.100.11:51820', latestHandshake: null, up: true, rxBytes: null, txBytes: null });
    const t0 = Date.now();
    fake.setPeerEstablished(peersOf(fake, itf.swIfIndex)[0]!.peerIndex, true);
    st = (await dp.wireguard.status(s))!;
    expect(st.latestHandshake).toBeInstanceOf(Date);
    expect(st.latestHandshake!.getTime()).toBeGreaterThanOrEqual(t0 - 1);
    const first = st.latestHandshake!.getTime();
    await new Promise((r) => setTimeout(r, 5));
    expect((await dp.wireguard.status(s))!.latestHandshake!.getTime()).toBe(first); // first seen, not "now"
    fake.setPeerEstablished(peersOf(fake, itf.swIfIndex)[0]!.peerIndex, false);
    expect((await dp.wireguard.status(s))!.latestHandshake).toBeNull();
    expect(await dp.wireguard.status(spec(9))).toBeNull();
  });

  it('the peer event alone records the handshake (no status poll needed)', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const { fake, dp } = await dataplane(await harness.startFake(), { now: () => now });
    const s = spec(1);
    await dp.wireguard.ensure(s, null);
    const peer = peersOf(fake, wgByTag(fake, 'wgt-1').swIfIndex)[0]!;
    fake.setPeerEstablished(peer.peerIndex, true); // wireguard_peer_event
    await new Promise((r) => setTimeout(r, 300));
    now = new Date('2026-01-01T00:05:00Z'); // what a status poll would record
    expect((await dp.wireguard.status(s))!.latestHandshake).toEqual(new Date('2026-01-01T00:00:00Z'));
  });
});

describe('adoption after an agent restart', () => {
  it('adopts matching interfaces without touching them, keeps a live roamed endpoint', async () => {
    const fake = await harness.startFake();
    const first = await dataplane(fake);
    const a = spec(1);
    const b = spec(2);
    await first.dp.wireguard.ensure(a, null);
    await first.dp.wireguard.ensure(b, null);
    const swA = wgByTag(fake, 'wgt-1').swIfIndex;
    const swB = wgByTag(fake, 'wgt-2').swIfIndex;
    const pa = peersOf(fake, swA)[0]!;
    const pb = peersOf(fake, swB)[0]!;
    fake.roamPeer(pa.peerIndex, '203.0.113.9', 40000);
    fake.setPeerEstablished(pa.peerIndex, true); // live
    fake.roamPeer(pb.peerIndex, '203.0.113.10', 40001); // stale: not established
    await first.dp.close();

    const second = await dataplane(fake);
    expect((await second.dp.wireguard.list()).sort()).toEqual(['wgt-1', 'wgt-2']);
    const before = fake.requests.length;
    expect(await second.dp.wireguard.ensure(a, null)).toBe('unchanged');
    const sent = names(fake, before);
    expect(sent.filter((n) => n.startsWith('wireguard_') && n !== 'wireguard_peers_dump')).toEqual([]);
    expect(peersOf(fake, swA)[0]).toMatchObject({ serial: pa.serial, endpoint: '203.0.113.9' });
    expect((await second.dp.wireguard.status(a))!.latestHandshake).toBeInstanceOf(Date);
    // Not established: the configured endpoint wins over the stale roamed one.
    expect(await second.dp.wireguard.ensure(b, null)).toBe('updated');
    expect(peersOf(fake, swB)[0]).toMatchObject({ endpoint: '198.51.100.12', port: 51820 });
    expect(wgByTag(fake, 'wgt-2').swIfIndex).toBe(swB);
  });

  it('a changed listen port (VPP cannot change it) recreates that interface and asks for a reset', async () => {
    const fake = await harness.startFake();
    const { dp, resets } = await dataplane(fake);
    const a = spec(1);
    await dp.wireguard.ensure(a, null);
    const old = wgByTag(fake, 'wgt-1');
    const n = resets.length;
    expect(await dp.wireguard.ensure({ ...a, listenPort: 40000 }, a)).toBe('created');
    const now = wgByTag(fake, 'wgt-1');
    expect(now.serial).not.toBe(old.serial);
    expect(now.wireguard!.port).toBe(40000);
    expect(peersOf(fake, now.swIfIndex)).toHaveLength(1);
    await until(() => resets.length > n, 'reset after recreate');
  });

  it('remove deletes the peer, the interface; only that tunnel', async () => {
    const fake = await harness.startFake();
    const { dp } = await dataplane(fake);
    await dp.wireguard.ensure(spec(1), null);
    await dp.wireguard.ensure(spec(2), null);
    const sw1 = wgByTag(fake, 'wgt-1').swIfIndex;
    await dp.wireguard.remove('wgt-1');
    expect([...fake.state.interfaces.values()].some((i) => i.tag === 'wgt-1')).toBe(false);
    expect(peersOf(fake, sw1)).toEqual([]);
    expect(fake.state.peers.size).toBe(1);
    expect(await dp.wireguard.list()).toEqual(['wgt-2']);
    await dp.wireguard.remove('wgt-1'); // idempotent
  });
});

describe('IPv4 on an unnumbered tunnel', () => {
  const unnumbered = (i: number): TunnelSpec => spec(i, { addresses: [`fe80::${i}:1/64`], peerAddresses: [`fe80::${i}:2`] });

  it('borrows IPv4 from a loopback (sw_interface_set_unnumbered)', async () => {
    const fake = await harness.startFake({
      setup: (s) => {
        const lo = s.addInterface({ kind: 'loopback', adminUp: true });
        s.addDelAddress(lo.swIfIndex, true, false, 4, Buffer.from([192, 0, 2, 1]), 32);
      },
    });
    const { dp } = await dataplane(fake);
    const s = unnumbered(1);
    await dp.wireguard.ensure(s, null);
    const itf = wgByTag(fake, 'wgt-1');
    expect(itf.unnumberedTo).toBe(fake.state.interfaceByName('loop0')!.swIfIndex);
    expect(dp.health().state).toBe('ok');
    const before = fake.requests.length;
    expect(await dp.wireguard.ensure(s, null)).toBe('unchanged');
    expect(names(fake, before)).toEqual([]); // the loopback's address seen on the tunnel is not deleted
  });

  it('without a loopback: degraded, with the reason', async () => {
    const fake = await harness.startFake();
    const { dp } = await dataplane(fake);
    await dp.wireguard.ensure(unnumbered(1), null);
    expect(dp.health().state).toBe('degraded');
    expect(dp.health().detail).toMatch(/wgt-1 has no IPv4 address.*loopback/);
  });
});

describe('linux-cp', () => {
  it('on: a TUN pair named like the tunnel in the configured netns; the host side gets the addresses and goes up', async () => {
    const fake = await harness.startFake();
    const { dp, hostLinks } = await dataplane(fake, { linuxCp: true, netns: 'dataplane', hostLinks: true });
    const s = spec(1);
    expect(await dp.wireguard.ensure(s, null)).toBe('created');
    const itf = wgByTag(fake, 'wgt-1');
    const pair = fake.state.lcpPairs.get(itf.swIfIndex);
    expect(pair).toMatchObject({ hostIfName: 'wgt-1', hostIfType: HOST_TUN, netns: 'dataplane' });
    expect(hostLinks.addrs.get('wgt-1')).toEqual(s.addresses);
    expect(hostLinks.upLinks.has('wgt-1')).toBe(true);
    expect(dp.health().state).toBe('ok');
    const before = fake.requests.length;
    expect(await dp.wireguard.ensure(s, s)).toBe('unchanged');
    expect(names(fake, before)).toEqual([]);
    await dp.wireguard.remove('wgt-1');
    expect(fake.state.lcpPairs.size).toBe(0);
    expect(fake.requests.some((r) => r.name === 'lcp_itf_pair_add_del' && r.values.is_add === false)).toBe(true);
  });

  it('MTU (issue 12): the wg interface gets L3 = mtu (VPP starts it at 0/0/0/0), the host side the same; a change is made in place', async () => {
    const fake = await harness.startFake();
    const { dp, hostLinks } = await dataplane(fake, { linuxCp: true, netns: 'dataplane', hostLinks: true });
    const s = spec(1);
    expect(await dp.wireguard.ensure(s, null)).toBe('created');
    const itf = wgByTag(fake, 'wgt-1');
    expect(itf.mtu).toEqual([1420, 0, 0, 0]);
    expect(hostLinks.mtus.get('wgt-1')).toBe(1420);
    const peer = peersOf(fake, itf.swIfIndex)[0]!;
    const before = fake.requests.length;
    const next = { ...s, mtu: 1400 };
    expect(await dp.wireguard.ensure(next, s)).toBe('updated');
    expect(names(fake, before)).toEqual(['sw_interface_set_mtu']);
    // The same interface and peer: nothing rebuilt.
    expect(wgByTag(fake, 'wgt-1').swIfIndex).toBe(itf.swIfIndex);
    expect(peersOf(fake, itf.swIfIndex)[0]!.peerIndex).toBe(peer.peerIndex);
    expect(itf.mtu).toEqual([1400, 0, 0, 0]);
    expect(hostLinks.mtus.get('wgt-1')).toBe(1400);
    expect(await dp.wireguard.ensure(next, next)).toBe('unchanged');
  });

  it('on, adopting: an existing pair is found with lcp_itf_pair_get and not added again', async () => {
    const fake = await harness.startFake();
    const first = await dataplane(fake, { linuxCp: true });
    const s = spec(1);
    await first.dp.wireguard.ensure(s, null);
    await first.dp.close();
    const second = await dataplane(fake, { linuxCp: true });
    const before = fake.requests.length;
    expect(await second.dp.wireguard.ensure(s, null)).toBe('unchanged');
    expect(names(fake, before).filter((n) => n.startsWith('lcp_'))).toEqual([]);
    expect(fake.state.lcpPairs.size).toBe(1);
  });

  it('off: no lcp message at all', async () => {
    const fake = await harness.startFake();
    const { dp } = await dataplane(fake, { linuxCp: false });
    await dp.wireguard.ensure(spec(1), null);
    await dp.wireguard.status(spec(1));
    await dp.wireguard.remove('wgt-1');
    expect(fake.requests.filter((r) => r.name.startsWith('lcp_'))).toEqual([]);
    expect(fake.state.lcpPairs.size).toBe(0);
  });

  it('a host interface that never shows in our namespace is a clear error', async () => {
    const fake = await harness.startFake();
    const { dp, hostLinks } = await dataplane(fake, { linuxCp: true, netns: 'elsewhere', hostLinks: true });
    hostLinks.link = async () => null;
    await expect(dp.wireguard.ensure(spec(1), null)).rejects.toThrow(/not in the agent's network namespace.*elsewhere/);
    expect(wgByTag(fake, 'wgt-1').adminUp).toBe(true); // the VPP side is done
    expect(dp.health().detail).toContain('wgt-1');
  });
});

describe('objects removed behind the agent\'s back', () => {
  it('an interface deleted with vppctl is created again by the next ensure; a removed peer is added again', async () => {
    const fake = await harness.startFake();
    const { dp, resets } = await dataplane(fake);
    const s = spec(1);
    await dp.wireguard.ensure(s, null);
    const peer = peersOf(fake, wgByTag(fake, 'wgt-1').swIfIndex)[0]!;
    fake.state.peerRemove(peer.peerIndex);
    expect((await dp.wireguard.status(s))!.endpoint).toBeNull();
    expect(await dp.wireguard.ensure(s, s)).toBe('updated');
    expect(peersOf(fake, wgByTag(fake, 'wgt-1').swIfIndex)).toHaveLength(1);

    fake.state.wgDelete(wgByTag(fake, 'wgt-1').swIfIndex);
    const n = resets.length;
    expect(await dp.wireguard.ensure({ ...s, persistentKeepalive: 7 }, s)).toBe('created');
    const itf = wgByTag(fake, 'wgt-1');
    expect(itf.adminUp).toBe(true);
    expect(peersOf(fake, itf.swIfIndex)[0]!.persistentKeepalive).toBe(7);
    await until(() => resets.length > n, 'reset after recreate');
  });
});
