/**
 * VppDataplane against the fake VPP: health (down / degraded / ok, version),
 * linux-cp missing, an incompatible VPP, and a VPP restart (onReset, then an
 * agent-like rebuild).
 */
import { describe, expect, it } from 'vitest';
import { FibManager, type FibRoute } from '#fib/index';
import { LINUX_CP_MISSING, type VppDataplane, type VppDataplaneOptions } from '#vpp/dataplane';
import { hostRoutes } from '#wg/spec';
import { fakeVppHarness, tunnelSpecs, until } from '../fake-vpp/harness.js';

const harness = fakeVppHarness('vpp-dp-');
const spec = tunnelSpecs('wgd-');

function dataplane(socketPath: string, opts: Partial<VppDataplaneOptions> & { required?: readonly string[] } = {}): { dp: VppDataplane; resets: () => number } {
  const { required, ...dpOpts } = opts;
  const { dp } = harness.dataplane(socketPath, {
    connection: { maxBackoffMs: 50, ...(required !== undefined ? { required } : {}) },
    dataplane: { connectWaitMs: 300, ...dpOpts },
  });
  let resets = 0;
  dp.onReset(() => resets++);
  return { dp, resets: () => resets };
}

describe('VppDataplane.health', () => {
  it('down while VPP is unreachable (the connect error), ok once connected, with the version', async () => {
    const fake = harness.newFake({ version: '25.10-release' });
    const { dp, resets } = dataplane(fake.socketPath);
    expect(dp.health()).toEqual({ state: 'down', detail: 'VPP dataplane not started', vppVersion: null });
    dp.start();
    await until(() => dp.health().detail?.includes('ENOENT') === true, 'connect error');
    expect(dp.health().state).toBe('down');
    await expect(dp.wireguard.ensure(spec(1), null)).rejects.toThrow(/^VPP API not connected: .*ENOENT/);
    await expect(dp.fib.apply([{ op: 'delete', prefix: '10.0.0.0/8', previous: { prefix: '10.0.0.0/8', nexthops: [{ address: '10.255.1.1', interface: 'wgd-1' }] } }])).rejects.toThrow(/VPP API not connected/);
    expect(await dp.wireguard.list()).toEqual([]);
    await fake.start();
    await until(() => dp.health().state === 'ok', 'connected');
    expect(dp.health()).toEqual({ state: 'ok', detail: null, vppVersion: '25.10-release' });
    expect(resets()).toBe(1);
  });

  it('before the first connection, backend calls wait for it instead of failing', async () => {
    const fake = harness.newFake();
    await fake.start();
    const { dp } = dataplane(fake.socketPath);
    dp.start();
    expect(await dp.wireguard.ensure(spec(1), null)).toBe('created'); // no wait in the test: ensure waits
  });

  it('linux-cp wanted but its plugin absent: degraded with the reason; everything else works, no lcp message', async () => {
    const fake = harness.newFake({ omit: ['lcp_itf_pair_add_del', 'lcp_itf_pair_add_del_reply', 'lcp_itf_pair_get', 'lcp_itf_pair_get_reply', 'lcp_itf_pair_details'] });
    await fake.start();
    const { dp } = dataplane(fake.socketPath, { linuxCp: true });
    dp.start();
    await until(() => dp.health().state !== 'down', 'connected');
    expect(dp.health()).toMatchObject({ state: 'degraded', detail: LINUX_CP_MISSING });
    expect(await dp.wireguard.ensure(spec(1), null)).toBe('created');
    expect(await dp.fib.apply([{ op: 'add', route: { prefix: '10.1.0.0/16', nexthops: [{ address: '10.255.1.1', interface: 'wgd-1' }] } }])).toEqual([]);
    expect(fake.state.peers.size).toBe(1);
    expect(fake.state.apiRoutes(4, 0).size).toBe(1);
    expect(fake.requests.filter((r) => r.name.startsWith('lcp_'))).toEqual([]);
    expect(dp.health().detail).toBe(LINUX_CP_MISSING);
  });

  it('a VPP whose ip_route_add_del layout differs: down, naming the message', async () => {
    const fake = harness.newFake({ crcOverrides: { ip_route_add_del: 'deadbeef' } });
    await fake.start();
    const { dp } = dataplane(fake.socketPath);
    dp.start();
    await until(() => dp.health().detail !== null && dp.health().detail!.includes('ip_route_add_del'), 'incompatible');
    const h = dp.health();
    expect(h.state).toBe('down');
    expect(h.detail).toContain('ip_route_add_del_b8ecfe0d: VPP has ip_route_add_del_deadbeef');
    await expect(dp.wireguard.ensure(spec(1), null)).rejects.toThrow(/VPP API not connected: VPP API incompatible/);
  });

  it('the same when the connection was made without the required list: the dataplane checks itself', async () => {
    const fake = harness.newFake({ crcOverrides: { ip_route_add_del: 'deadbeef' }, omit: ['wireguard_peer_add', 'wireguard_peer_add_reply'] });
    await fake.start();
    const { dp } = dataplane(fake.socketPath, { required: [] });
    dp.start();
    await until(() => dp.health().detail?.includes('incompatible') === true, 'incompatible');
    expect(dp.health().state).toBe('down');
    expect(dp.health().detail).toContain('ip_route_add_del');
    expect(dp.health().detail).toContain('wireguard_peer_add_9b8aad61: missing');
  });
});

describe('VPP restart', () => {
  it('down while VPP is away, ok when back; onReset fires and an agent-like rebuild restores tunnels and routes', async () => {
    const fake = harness.newFake();
    await fake.start();
    const { dp, resets } = dataplane(fake.socketPath);
    const specs = [spec(1), spec(2)];
    const fib = new FibManager(dp.fib);
    // What the agent does on reset: ensure every tunnel again, then re-send the whole FIB.
    const rebuilt: Promise<void>[] = [];
    dp.onReset(() => {
      rebuilt.push((async () => {
        for (const s of specs) await dp.wireguard.ensure(s, null);
        fib.dataplaneLost();
        await fib.flush();
      })());
    });
    dp.start();
    await until(() => resets() === 1, 'first connect');
    await Promise.all(rebuilt);
    for (const s of specs) for (const p of hostRoutes(s)) fib.set({ prefix: p, nexthops: [{ interface: s.interface }] });
    fib.set({ prefix: '10.1.0.0/16', nexthops: [{ address: '10.255.1.1', interface: 'wgd-1' }] });
    fib.set({ prefix: '2001:db8:2::/48', nexthops: [{ address: 'fd00:255:2::1', interface: 'wgd-2' }] });
    await fib.flush();
    const snapshot = (): unknown => ({
      tags: [...fake.state.interfaces.values()].filter((i) => i.wireguard).map((i) => [i.tag, i.adminUp, i.addresses]).sort(),
      peers: fake.state.peers.size,
      v4: [...fake.state.apiRoutes(4, 0).keys()].sort(),
      v6: [...fake.state.apiRoutes(6, 0).keys()].sort(),
    });
    const before = snapshot();
    expect(before).toMatchObject({ peers: 2, v4: ['10.1.0.0/16', '10.255.1.1/32', '10.255.2.1/32'] });

    await fake.stop();
    await until(() => dp.health().state === 'down', 'down');
    expect(dp.health().detail).toBeTruthy();
    await expect(dp.wireguard.ensure(specs[0]!, null)).rejects.toThrow(/^VPP API not connected/);
    await expect(dp.wireguard.status(specs[0]!)).rejects.toThrow(/VPP API not connected/);

    await fake.start(); // a fresh VPP: nothing of ours
    expect(fake.state.peers.size).toBe(0);
    await until(() => resets() === 2, 'reset after reconnect');
    await Promise.all(rebuilt);
    expect(dp.health().state).toBe('ok');
    expect(snapshot()).toEqual(before);
    expect((await dp.wireguard.list()).sort()).toEqual(['wgd-1', 'wgd-2']);
  });

  it('a restart through fake.restart(): the same, and status works again', async () => {
    const fake = harness.newFake();
    await fake.start();
    const { dp, resets } = dataplane(fake.socketPath);
    dp.start();
    const s = spec(1);
    await dp.wireguard.ensure(s, null);
    await until(() => resets() === 1, 'first reset');
    await fake.restart();
    await until(() => resets() === 2, 'second reset');
    expect(await dp.wireguard.list()).toEqual([]);
    expect(await dp.wireguard.status(s)).toBeNull();
    expect(await dp.wireguard.ensure(s, null)).toBe('created');
    expect((await dp.wireguard.status(s))!.up).toBe(true);
  });
});

describe('routes of a later FIB write', () => {
  it('are tracked by the manager across a reconcile on the same VPP (nothing rewritten)', async () => {
    const fake = harness.newFake();
    await fake.start();
    const { dp } = dataplane(fake.socketPath);
    dp.start();
    await dp.wireguard.ensure(spec(3), null);
    const fib = new FibManager(dp.fib);
    const r: FibRoute = { prefix: '10.9.0.0/16', nexthops: [{ address: 'fe80::3:2', interface: 'wgd-3' }] };
    fib.set(r);
    await fib.flush();
    const writes = fake.requests.filter((x) => x.name === 'ip_route_add_del').length;
    expect(await fib.reconcile()).toEqual({ removed: 0, added: 0, kept: 1 });
    expect(fake.requests.filter((x) => x.name === 'ip_route_add_del').length).toBe(writes);
  });
});
