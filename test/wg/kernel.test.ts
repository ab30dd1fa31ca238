/**
 * The kernel WireGuard backend (src/wg/kernel.ts) against recorded generic
 * netlink exchanges (test/vectors/wireguard: each request must be the exact
 * bytes recorded, each answer is replayed), with the rtnetlink side in
 * memory. The module is absent on this host: test/lab/kernel-wireguard.test.ts
 * says so and runs the lab on it where it exists.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { splitMessages, type NlMessage } from '#netlink/codec';
import type { LinkInfo, LinkOps } from '#netlink/types';
import { silentLogger } from '#lib/log';
import { KernelWireguard, WgGenl, genlSocket, kernelWireguardPresent, type GenlTransport } from '#wg/kernel';
import type { TunnelSpec } from '#wg/types';

function vector(name: string): Buffer {
  const text = readFileSync(new URL(`../vectors/wireguard/${name}`, import.meta.url), 'utf8');
  return Buffer.from(text.split('\n').map((l) => l.replace(/#.*$/, '')).join('').replace(/\s+/g, ''), 'hex');
}

/** Replays [request, answer] pairs in order; a request that differs from the recording fails. */
class Recorded implements GenlTransport {
  sent = 0;
  constructor(private readonly script: [string, string][]) {}
  async exchange(request: Buffer, seq: number): Promise<NlMessage[]> {
    const step = this.script[this.sent++];
    if (step === undefined) throw new Error(`unexpected request ${request.toString('hex')}`);
    expect(request.toString('hex'), step[0]).toBe(vector(step[0]).toString('hex'));
    return splitMessages(vector(step[1])).filter((m) => m.seq === seq);
  }
  close(): void {}
}

/** rtnetlink in memory: links by name with kind, MTU, addresses, state. */
class Links implements LinkOps {
  readonly all = new Map<string, LinkInfo & { addrs: string[] }>();
  readonly calls: string[] = [];
  async link(name: string): Promise<LinkInfo | null> {
    const l = this.all.get(name);
    return l ? { index: l.index, name, up: l.up, mtu: l.mtu, ...(l.kind ? { kind: l.kind } : {}) } : null;
  }
  async links(): Promise<LinkInfo[]> {
    return [...this.all.keys()].map((n) => this.all.get(n)!);
  }
  async linkAdd(name: string, kind: string): Promise<void> {
    this.calls.push(`add ${name} ${kind}`);
    this.all.set(name, { index: 7, name, up: false, mtu: 1420, kind, addrs: [] });
  }
  async linkSetUp(name: string): Promise<void> {
    this.calls.push(`up ${name}`);
    this.all.get(name)!.up = true;
  }
  async linkDelete(name: string): Promise<void> {
    this.calls.push(`delete ${name}`);
    this.all.delete(name);
  }
  async linkSetAddrGenModeNone(name: string): Promise<void> {
    this.calls.push(`addrgenmode none ${name}`);
  }
  async linkSetMtu(name: string, mtu: number): Promise<void> {
    this.calls.push(`mtu ${name} ${mtu}`);
    this.all.get(name)!.mtu = mtu;
  }
  async addresses(name: string): Promise<string[]> {
    return [...(this.all.get(name)?.addrs ?? [])];
  }
  async addressAdd(name: string, cidr: string): Promise<void> {
    this.calls.push(`addr add ${cidr}`);
    this.all.get(name)!.addrs.push(cidr);
  }
  async addressDelete(name: string, cidr: string): Promise<void> {
    this.all.get(name)!.addrs = this.all.get(name)!.addrs.filter((a) => a !== cidr);
  }
}

const seqBytes = (n: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => n + i);
const spec: TunnelSpec = {
  name: 'b',
  interface: 'wg0',
  privateKey: seqBytes(0),
  peerPublicKey: Buffer.from(seqBytes(0x20)).toString('base64'),
  endpoint: '198.18.0.2:51820',
  listenPort: 51821,
  persistentKeepalive: 25,
  mtu: 1400,
  addresses: ['10.255.0.0/31', 'fe80::1/64'],
  peerAddresses: ['10.255.0.1', 'fe80::2'],
  sourceAddress: null,
};

describe('kernel WireGuard backend over recorded generic netlink exchanges', () => {
  it('a new tunnel: the wireguard link, the family id asked once, the device read, one SET; MTU, addresses, up', async () => {
    const transport = new Recorded([
      ['ctrl-getfamily.hex', 'ctrl-newfamily.hex'],
      ['wg-get-device.hex', 'wg-get-device-new.hex'],
      ['wg-set-device-new.hex', 'wg-ack.hex'],
    ]);
    const links = new Links();
    const wg = new KernelWireguard({ links, genl: new WgGenl(transport, 0), log: silentLogger(), now: () => 0 });
    expect(await wg.ensure({ ...spec, mtu: 1400 }, null)).toBe('created');
    expect(transport.sent).toBe(3);
    expect(links.calls).toEqual(['add wg0 wireguard', 'addrgenmode none wg0', 'mtu wg0 1400', 'addr add 10.255.0.0/31', 'addr add fe80::1/64', 'up wg0']);
    expect(await wg.list()).toEqual(['wg0']);
  });

  it('a link of that name that is not a kernel WireGuard link is not touched', async () => {
    const links = new Links();
    links.all.set('wg0', { index: 3, name: 'wg0', up: true, mtu: 1420, addrs: [] });
    const wg = new KernelWireguard({ links, genl: new WgGenl(new Recorded([]), 0), log: silentLogger() });
    await expect(wg.ensure(spec, null)).rejects.toThrow(/not a kernel WireGuard link/);
    await wg.remove('wg0');
    expect(links.calls).toEqual([]);
  });

  it('remove deletes the link (the kernel drops its peers with it)', async () => {
    const links = new Links();
    await links.linkAdd('wg0', 'wireguard');
    const wg = new KernelWireguard({ links, genl: new WgGenl(new Recorded([]), 0), log: silentLogger() });
    await wg.remove('wg0');
    expect(links.all.has('wg0')).toBe(false);
  });

  it('presence is /sys/module/wireguard (absent on this host: the lab test says so)', () => {
    expect(kernelWireguardPresent('/nonexistent/wireguard')).toBe(false);
    expect(kernelWireguardPresent('/proc/self')).toBe(true);
  });
});

describe('generic netlink against this kernel (the controller is always there)', () => {
  it('CTRL_CMD_GETFAMILY: "nlctrl" is 0x10; "wireguard" is ENOENT without the module, a number with it', async () => {
    const genl = new WgGenl(genlSocket());
    try {
      expect(await genl.resolve('nlctrl')).toBe(0x10);
      if (kernelWireguardPresent()) expect(await genl.resolve('wireguard')).toBeGreaterThan(0x10);
      else await expect(genl.resolve('wireguard')).rejects.toMatchObject({ errno: 2 });
    } finally {
      genl.close();
    }
  });
});
