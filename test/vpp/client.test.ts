import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import type { Socket } from 'node:net';
import { libc, socketFd } from '#lib/libc';
import { DEFAULT_MAX_IN_FLIGHT, VppClient } from '#vpp/client';
import type { VppRecord } from '#vpp/codec';
import { VppApiError, VppClosedError, VppIncompatibleError, VppTimeoutError, VppUnavailableError } from '#vpp/errors';
import { toVppAddressUnion, toVppPrefix } from '#vpp/address';
import { HANDLE, Responder } from './responder.js';

const log = silentLogger();
const REQUIRED = [
  'sw_interface_set_flags',
  'sw_interface_dump',
  'want_interface_events',
  'ip_route_add_del',
  'wireguard_peer_add',
  'wireguard_interface_create',
] as const;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(
  opts: Parameters<typeof Responder.start>[0] = {},
  clientOpts: Partial<Parameters<typeof VppClient.connect>[0]> = {},
): Promise<{ vpp: Responder; client: VppClient }> {
  const vpp = await Responder.start(opts);
  cleanup.push(() => vpp.close());
  const client = await VppClient.connect({ socketPath: vpp.path, log, required: REQUIRED, ...clientOpts });
  cleanup.push(() => client.close());
  return { vpp, client };
}

/** Lets socket I/O run (the responder answers on the next turns of the loop). */
const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).toBe(true);
};

const route = (i: number): VppRecord => ({
  is_add: true,
  route: {
    table_id: i,
    prefix: toVppPrefix(`10.${(i >> 8) & 0xff}.${i & 0xff}.0/24`),
    paths: [{ sw_if_index: 5, proto: 0, weight: 1, nh: { address: toVppAddressUnion('10.255.0.1') } }],
  },
});

describe('VppClient (fact sheet §1)', () => {
  it('§1.4: registers with sockclnt_create and maps names through the table it returns', async () => {
    const { vpp, client } = await setup();
    expect(client.clientIndex).toBe(HANDLE);
    expect(vpp.received[0]).toMatchObject({ name: 'sockclnt_create', values: { name: 'wgbgp' } });
    expect(client.messageId('control_ping')).toBe(23);
    expect(client.messageId('ip_route_add_del')).toBe(vpp.ids.get('ip_route_add_del'));
    expect(client.has('bfd_udp_add')).toBe(false);
    const r = await client.request('sw_interface_set_flags', { sw_if_index: 5, flags: 1 });
    expect(r.retval).toBe(0);
    // Every later request carries the registration handle, or VPP would drop the reply.
    const req = vpp.received.find((m) => m.name === 'sw_interface_set_flags')!;
    expect(req.values).toMatchObject({ client_index: HANDLE, sw_if_index: 5, flags: 1 });
    expect(req.values.context).not.toBe(0);
  });

  it('§3: a changed or missing required message fails the connect, one line per message', async () => {
    const vpp = await Responder.start({ crcs: { ip_route_add_del: 'deadbeef' }, omit: ['wireguard_peer_add_reply'] });
    cleanup.push(() => vpp.close());
    const err = await VppClient.connect({ socketPath: vpp.path, log, required: REQUIRED }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VppIncompatibleError);
    const e = err as VppIncompatibleError;
    expect(e.mismatched).toEqual([
      { name: 'ip_route_add_del', expected: 'b8ecfe0d', actual: 'deadbeef' },
      { name: 'wireguard_peer_add_reply', expected: '084a0cd3', actual: null },
    ]);
    const lines = e.message.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('ip_route_add_del_b8ecfe0d: VPP has ip_route_add_del_deadbeef');
    expect(lines[2]).toContain('wireguard_peer_add_reply_084a0cd3: missing');
  });

  it('an optional message VPP lacks (linux-cp not loaded) is just unavailable', async () => {
    const { client } = await setup({ omit: ['lcp_itf_pair_add_del', 'lcp_itf_pair_add_del_reply'] }, {
      optional: ['lcp_itf_pair_add_del'],
    });
    expect(client.has('lcp_itf_pair_add_del')).toBe(false);
    await expect(client.request('lcp_itf_pair_add_del', { is_add: true })).rejects.toBeInstanceOf(VppUnavailableError);
    expect((await client.request('sw_interface_set_flags', { sw_if_index: 1 })).retval).toBe(0);
  });

  it('§5: 10000 pipelined requests on one connection all resolve, in order, within the window', async () => {
    const { vpp, client } = await setup({}, { maxInFlight: 256 });
    let outstanding = 0;
    let maxOutstanding = 0;
    vpp.on('ip_route_add_del', (v, io) => {
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      const table = (v.route as VppRecord).table_id as number;
      // Answer a little later, so requests pile up against the window.
      setImmediate(() => {
        outstanding--;
        io.answer('ip_route_add_del_reply', { retval: 0, stats_index: table });
      });
    });
    const order: number[] = [];
    const all = Array.from({ length: 10_000 }, (_, i) =>
      client.request('ip_route_add_del', route(i)).then((r) => {
        order.push(r.stats_index as number);
      }),
    );
    await Promise.all(all);
    expect(order).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect(vpp.connections).toBe(1);
    expect(maxOutstanding).toBeLessThanOrEqual(256);
    expect(maxOutstanding).toBeGreaterThan(1);
    expect(client.pending).toEqual({ inFlight: 0, queued: 0 });
  });

  it('a control_ping request (the liveness check) goes out once, not with a second one as a fence', async () => {
    const { vpp, client } = await setup();
    const before = vpp.received.filter((m) => m.name === 'control_ping').length;
    await client.request('control_ping');
    await new Promise((r) => setTimeout(r, 20));
    expect(vpp.received.filter((m) => m.name === 'control_ping').length - before).toBe(1);
  });

  it('§1.5: a dump collects details until the control_ping sent with the same context', async () => {
    const { vpp, client } = await setup();
    vpp.on('sw_interface_dump', (_v, io) => {
      for (const [i, name] of ['local0', 'loop0', 'wg0'].entries()) {
        io.answer('sw_interface_details', { sw_if_index: i, interface_name: name });
      }
    });
    const details = await client.dump('sw_interface_dump', { sw_if_index: 0xffffffff });
    expect(details.map((d) => d.interface_name)).toEqual(['local0', 'loop0', 'wg0']);
    const dump = vpp.received.find((m) => m.name === 'sw_interface_dump')!;
    const ping = vpp.received.find((m) => m.name === 'control_ping')!;
    expect(ping.values.context).toBe(dump.values.context);
    expect(vpp.received.indexOf(ping)).toBe(vpp.received.indexOf(dump) + 1);
    // An empty dump is just the fence.
    vpp.on('sw_interface_dump', () => undefined);
    expect(await client.dump('sw_interface_dump', {})).toEqual([]);
  });

  it('§1.3: an event is demuxed by message id, even when its client_index equals a pending context', async () => {
    const { vpp, client } = await setup();
    const events: VppRecord[] = [];
    client.subscribe('sw_interface_event', (e) => events.push(e));
    vpp.on('want_interface_events', (v, io) => {
      // Bytes 2..5 of an event are client_index: make them look like this request's context.
      io.reply('sw_interface_event', { client_index: v.context as number, pid: 7, sw_if_index: 5, flags: 1 });
      io.answer('want_interface_events_reply', { retval: 0 });
    });
    const r = await client.request('want_interface_events', { enable_disable: 1, pid: 7 });
    expect(r.retval).toBe(0);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ sw_if_index: 5, flags: 1, deleted: false });
  });

  it('§2.5: a negative retval rejects with VppApiError naming the request and the error', async () => {
    const { vpp, client } = await setup();
    vpp.on('wireguard_peer_add', (_v, io) => io.answer('wireguard_peer_add_reply', { retval: -116 }));
    const err = await client.request('wireguard_peer_add', { peer: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VppApiError);
    expect((err as VppApiError).retval).toBe(-116);
    expect((err as VppApiError).message).toContain('wireguard_peer_add: VNET_API_ERROR_ENTRY_ALREADY_EXISTS');
  });

  it('§1.6: a request VPP silently drops times out, and the connection carries on', async () => {
    const clock = new ManualClock();
    const { vpp, client } = await setup({}, { clock, timeoutMs: 1000 });
    vpp.on('wireguard_interface_create', () => undefined);
    const dropped = client.request('wireguard_interface_create', { interface: {} });
    const caught = dropped.catch((e: unknown) => e);
    await until(() => vpp.received.some((m) => m.name === 'wireguard_interface_create'));
    clock.advance(999);
    expect(client.pending.inFlight).toBe(1);
    clock.advance(1);
    const err = await caught;
    expect(err).toBeInstanceOf(VppTimeoutError);
    expect((err as Error).message).toContain('wireguard_interface_create');
    expect(client.pending.inFlight).toBe(0);
    expect((await client.request('sw_interface_set_flags', { sw_if_index: 5 })).retval).toBe(0);
  });

  it('a request queued behind a long dump does not time out while VPP still sends that dump (a full table takes VPP seconds); one VPP passed by does', async () => {
    const clock = new ManualClock();
    const { vpp, client } = await setup({}, { clock, timeoutMs: 1000 });
    // The dump's details come in slowly, one per 400 ms of the clock, 10 of them; then its control_ping fence.
    let send: ((i: number) => void) | null = null;
    vpp.on('ip_route_dump', (_v, io) => {
      send = (i) => io.answer('ip_route_details', { route: { table_id: 0, stats_index: 0, prefix: toVppPrefix(`10.0.${i}.0/24`), n_paths: 0, paths: [] } });
    });
    let ping: (() => void) | null = null;
    vpp.on('control_ping', (v, io) => {
      ping = () => io.answer('control_ping_reply', { retval: 0, client_index: v.client_index ?? 0, vpe_pid: 1 });
    });
    // VPP answers in order: the request behind the dump is answered after the dump's fence.
    let answerBehind: (() => void) | null = null;
    vpp.on('sw_interface_set_flags', (_v, io) => {
      answerBehind = () => io.answer('sw_interface_set_flags_reply', { retval: 0 });
    });
    const dump = client.dump('ip_route_dump', { table: { table_id: 0, is_ip6: false, name: '' } });
    const behind = client.request('sw_interface_set_flags', { sw_if_index: 5 });
    await until(() => send !== null && answerBehind !== null);
    for (let i = 0; i < 10; i++) {
      send!(i);
      await new Promise((r) => setTimeout(r, 10));
      clock.advance(400);
      expect(client.pending.inFlight).toBe(2);
    }
    // 4 s on the clock, far beyond the timeout: neither the dump nor the request behind it gave up.
    expect(client.counters.timeouts).toBe(0);
    ping!();
    answerBehind!();
    vpp.on('sw_interface_set_flags', (_v, io) => io.answer('sw_interface_set_flags_reply', { retval: 0 }));
    expect(await dump).toHaveLength(10);
    expect((await behind).retval).toBe(0);
    // A request VPP drops while it answers a later one: that answer does not keep it waiting.
    vpp.on('wireguard_interface_create', () => undefined);
    const dropped = client.request('wireguard_interface_create', { interface: {} }).catch((e: unknown) => e);
    const later = client.request('sw_interface_set_flags', { sw_if_index: 6 });
    expect((await later).retval).toBe(0);
    clock.advance(1000);
    expect(await dropped).toBeInstanceOf(VppTimeoutError);
  });

  it('close() unregisters with sockclnt_delete; later requests reject as closed', async () => {
    const { vpp, client } = await setup();
    const reasons: (Error | null)[] = [];
    client.onClose((r) => reasons.push(r));
    await client.close();
    expect(vpp.received.some((m) => m.name === 'sockclnt_delete' && m.values.index === HANDLE)).toBe(true);
    expect(reasons).toEqual([null]);
    await expect(client.request('sw_interface_set_flags', {})).rejects.toBeInstanceOf(VppClosedError);
  });

  it('a VPP that goes away rejects what is pending and reports why', async () => {
    const { vpp, client } = await setup();
    vpp.on('ip_route_add_del', () => undefined);
    const reasons: (Error | null)[] = [];
    client.onClose((r) => reasons.push(r));
    const p = client.request('ip_route_add_del', route(1)).catch((e: unknown) => e);
    await until(() => vpp.received.some((m) => m.name === 'ip_route_add_del'));
    await vpp.close();
    expect(await p).toBeInstanceOf(VppClosedError);
    await until(() => reasons.length === 1);
    expect(reasons[0]).toBeInstanceOf(Error);
  });

  it('showVersion() reads show_version_reply', async () => {
    const { client } = await setup();
    expect(await client.showVersion()).toMatchObject({ program: 'vpe', version: '25.10-release' });
  });

  it('§5: the socket takes the whole window of route requests at once (send buffer ≥ 16 384 × 240 bytes, as root)', async () => {
    const { client } = await setup();
    const socket = (client as unknown as { socket: Socket }).socket;
    const fd = socketFd(socket);
    expect(fd).not.toBeNull();
    const got = Buffer.alloc(4);
    expect(libc().getsockopt(fd!, 1 /* SOL_SOCKET */, 7 /* SO_SNDBUF */, got, [4])).toBe(0);
    // The kernel doubles what it was asked for; the default is ~208 KiB (~900 route requests).
    const expected = process.getuid?.() === 0 ? DEFAULT_MAX_IN_FLIGHT * 240 : 0;
    expect(got.readInt32LE(0)).toBeGreaterThanOrEqual(expected);
  });

  it('a socket that does not exist fails the connect with the system error', async () => {
    const err = await VppClient.connect({ socketPath: '/nonexistent/api.sock', log, required: [] }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
