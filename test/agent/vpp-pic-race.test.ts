/**
 * The agent on the VPP FIB backend (src/fib/vpp.ts) over the fake VPP, which
 * resolves recursive paths as VPP does: a neighbor whose session comes back
 * within milliseconds of its failover (issue 10: BFD Down or Hold Timer
 * Expired, BIRD Established again 3 ms later in bird-bfd) must find its
 * routes forwarding through its tunnel again.
 *
 * The race: PIC failover withdraws the host route of the neighbor's next hop
 * from the PIC tables (vpp-pic.ts), the RIB's withdrawal of its routes and
 * the same routes sent again by the new session meet in one flush, and the
 * FibManager finds them wanted as installed: nothing is written, and without
 * its host route every route through that next hop stays unresolved in VPP
 * (the ones with a backup by it, the others dropped) until it changes.
 */
import { describe, expect, it } from 'vitest';
import { PIC_BACKUP, PIC_PRIMARY } from '#fib/vpp-pic';
import { fakeVppHarness, tunnelSpecs, until } from '../fake-vpp/harness.js';
import { announce, config, harness, neighbor, type Harness } from './harness.js';

const vpp = fakeVppHarness('agent-vpp-pic-');
const spec = tunnelSpecs('wg-');

/** Turns of the manual clock (the flush debounce) with real time between them for the fake's socket, until `cond`. */
async function settleUntil(h: Harness, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) {
    await h.tick();
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Agent on the VPP FIB: PIC failover, and the neighbor back before its withdrawal was written (issue 10)', () => {
  it('its routes forward through its tunnel again: the host route the failover withdrew comes back with the session, with no route written', async () => {
    const fake = await vpp.startFake();
    const { dp } = vpp.dataplane(fake.socketPath);
    dp.start();
    await until(() => dp.health().state !== 'down');
    // The agent's tunnels in VPP (what VppWireguard makes for neighbors b and c: same names and addresses).
    await dp.wireguard.ensure(spec(1, { interface: 'wg-b' }), null);
    await dp.wireguard.ensure(spec(2, { interface: 'wg-c' }), null);
    const sw = (name: string): number => [...fake.state.interfaces.values()].find((x) => x.tag === name)!.swIfIndex;
    const h = await harness(config([neighbor('b', 1), neighbor('c', 2)]), undefined, { fib: dp.fib });
    vpp.cleanup.push(() => h.agent.stop());
    const b = h.sessions.get('b')!;
    const c = h.sessions.get('c')!;
    b.establish();
    c.establish();
    // 10.9/24 from both (b best: lower router id tie-break falls to b's address; c its backup), 10.8/24 from b alone.
    b.update(announce(['10.9.0.0/24', '10.8.0.0/24']));
    c.update(announce(['10.9.0.0/24']));
    const host = (t: number): boolean => fake.state.apiRoutes(4, t).has('10.255.1.1/32');
    const viaB = (): boolean =>
      fake.state.forwardingInterfaces('10.9.0.0/24').join() === String(sw('wg-b')) && fake.state.forwardingInterfaces('10.8.0.0/24').join() === String(sw('wg-b'));
    await settleUntil(h, () => viaB() && fake.state.apiRoutes(4, 0).get('10.9.0.0/24')?.length === 2);
    expect(viaB()).toBe(true);
    expect(host(PIC_PRIMARY.id) && host(PIC_BACKUP.id)).toBe(true);

    // b's session ends (our Hold Timer Expired): the failover withdraws 10.255.1.1's host route at once.
    b.lost({ notification: true, holdTimerExpired: true });
    await until(() => !host(PIC_PRIMARY.id) && !host(PIC_BACKUP.id), 'the failover');
    expect(fake.state.forwardingInterfaces('10.9.0.0/24')).toEqual([sw('wg-c')]);
    expect(fake.state.forwarding('10.8.0.0/24')).toEqual({ kind: 'drop' });
    // Back before the withdrawal was flushed (the manual clock has not moved: no flush yet), the same routes again.
    const from = fake.requests.length;
    b.establish();
    b.update(announce(['10.9.0.0/24', '10.8.0.0/24']));
    await settleUntil(h, viaB);
    expect(fake.state.forwardingInterfaces('10.9.0.0/24')).toEqual([sw('wg-b')]);
    expect(fake.state.forwardingInterfaces('10.8.0.0/24')).toEqual([sw('wg-b')]);
    expect(host(PIC_PRIMARY.id) && host(PIC_BACKUP.id)).toBe(true);
    // The host route back in both tables; the routes themselves were not written again.
    const writes = fake.requests.slice(from).filter((r) => r.name === 'ip_route_add_del').map((r) => (r.values.route as { table_id: number }).table_id);
    expect(writes.filter((t) => t === 0)).toEqual([]);
    expect(h.agent.neighbors().find((n) => n.name === 'b')).toMatchObject({ state: 'Established', prefixesReceived: 2 });
  }, 30_000);
});
