/**
 * Interop with a real BIRD 2 on loopback (after jwhited/corebgp's BIRD test).
 * BIRD listens on 127.0.0.2 and we on 127.0.0.1; both sides are active, so the
 * RFC 4271 §6.8 collision code runs against a real implementation too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '#lib/log';
import { BgpListener } from '#bgp/session/index';
import type { BgpSession } from '#bgp/session/index';
import { config, ipv4Update, side, waitFor } from './helpers.js';
import type { Side } from './helpers.js';

const BIRD = '/usr/sbin/bird';
const BIRDC = '/usr/sbin/birdc';
const BIRD_ADDR = '127.0.0.2';
const OUR_ADDR = '127.0.0.1';

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function birdc(sock: string, cmd: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(BIRDC, ['-s', sock, ...cmd.split(' ')], (_err, stdout) => resolve(stdout));
  });
}

describe.skipIf(!existsSync(BIRD))('interop with BIRD 2', () => {
  let dir = '';
  let bird: ChildProcess | null = null;
  let birdLog = '';
  let listener: BgpListener;
  let ours: Side;
  let session: BgpSession;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wgbgp-bird-'));
    listener = new BgpListener({ log: silentLogger() }, { port: 0, host: OUR_ADDR });
    await listener.listen();
    const birdPort = await freePort(BIRD_ADDR);
    // multihop: BIRD does not treat a loopback neighbor as directly connected.
    // Next hops are real unicast addresses: the codec treats a loopback NEXT_HOP
    // as withdrawn (RFC 7606 §7.3).
    const conf = `
log stderr all;
router id 192.0.2.2;
protocol device { }
protocol static s4 { ipv4; route 10.99.0.0/24 blackhole; }
protocol static s6 { ipv6; route 2001:db8:99::/48 blackhole; }
protocol bgp wgbgp {
  local ${BIRD_ADDR} port ${birdPort} as 65002;
  neighbor ${OUR_ADDR} port ${listener.port} as 65001;
  multihop;
  hold time 9;
  connect retry time 1;
  enable extended messages on;
  ipv4 {
    import all;
    export filter { bgp_ext_community.add((rt, 65002, 100)); bgp_large_community.add((65002, 1, 2)); accept; };
    next hop address 192.0.2.2;
  };
  ipv6 { import all; export all; next hop address fd00::2; };
}
`;
    await writeFile(join(dir, 'bird.conf'), conf);
    bird = spawn(BIRD, ['-f', '-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl'), '-P', join(dir, 'bird.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    bird.stderr?.on('data', (d: Buffer) => (birdLog += d.toString()));
    ours = side(
      config({
        name: 'bird',
        localAsn: 65001,
        routerId: '192.0.2.1',
        peerAsn: 65002,
        peerAddress: BIRD_ADDR,
        localAddress: OUR_ADDR,
        port: birdPort,
        holdTime: 30,
      }),
    );
    session = ours.session;
    await listener.register(session, BIRD_ADDR, { device: 'lo', localAddress: OUR_ADDR });
    session.start();
  });

  afterAll(async () => {
    await session?.stop('test done');
    await listener?.close();
    if (bird && bird.exitCode === null) {
      const exited = new Promise((r) => bird!.once('exit', r));
      bird.kill('SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reaches Established with BIRD and negotiates its capabilities', async () => {
    await waitFor(() => session.state === 'Established', `Established with BIRD (BIRD log:\n${birdLog})`, 12_000);
    const n = session.negotiated!;
    expect(n.peerAsn).toBe(65002);
    expect(n.peerRouterId).toBe('192.0.2.2');
    expect(n.holdTime).toBe(9); // min(30, BIRD's 9)
    expect(n.fourOctetAs).toBe(true);
    expect(n.routeRefresh).toBe(true);
    expect(n.extendedMessages).toBe(true); // RFC 8654, BIRD's 'enable extended messages'
    expect(n.families).toEqual([
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ]);
  });

  it("receives BIRD's static routes through onUpdate (IPv4 NLRI and IPv6 MP_REACH)", async () => {
    const v4 = () => ours.rec.updates.find((u) => u.nlri.includes('10.99.0.0/24'));
    const v6 = () => ours.rec.updates.find((u) => u.mpReach?.nlri.includes('2001:db8:99::/48'));
    await waitFor(() => v4() !== undefined && v6() !== undefined, 'routes from BIRD');
    expect(v4()!.attributes.nextHop).toBe('192.0.2.2');
    expect(v4()!.attributes.asPath).toEqual([{ type: 2, asns: [65002] }]);
    // RFC 4360 route target 65002:100 (type 0x00, sub-type 0x02) and RFC 8092 65002:1:2, as BIRD encodes them.
    expect(v4()!.attributes.extendedCommunities).toEqual([[0x0002fdea, 100]]);
    expect(v4()!.attributes.largeCommunities).toEqual([[65002, 1, 2]]);
    expect(v6()!.mpReach!.nextHops[0]).toBe('fd00::2');
  });

  it('BIRD accepts the route we send, with its extended and large communities', async () => {
    const u = ipv4Update('10.1.0.0/24', 65001);
    u.attributes.extendedCommunities = [[0x0002fde9, 9]];
    u.attributes.largeCommunities = [[65001, 7, 8]];
    expect(session.send(u)).toBe(true);
    const sock = join(dir, 'bird.ctl');
    let out = '';
    for (let i = 0; i < 50 && !out.includes('10.1.0.0/24'); i++) {
      out = await birdc(sock, 'show route all protocol wgbgp');
      if (!out.includes('10.1.0.0/24')) await new Promise((r) => setTimeout(r, 100));
    }
    expect(out).toContain('10.1.0.0/24');
    expect(out).toMatch(/BGP\.ext_community: \(rt, 65001, 9\)/);
    expect(out).toMatch(/BGP\.large_community: \(65001, 7, 8\)/);
  });
});
