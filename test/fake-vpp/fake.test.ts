/**
 * The fake VPP API server, driven with raw frames built from the shared
 * definitions (raw-client.ts), not with the real client.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MESSAGES } from '#vpp/defs/index';
import { fromVppAddress, fromVppAddressWithPrefix, fromVppPrefix, toVppAddress, toVppPrefix } from '#vpp/address';
import type { VppRecord } from '#vpp/codec';
import { generatePrivateKey, publicKeyOf } from '#wg/keys';
import { FakeVpp, NO_INDEX, PEER_ESTABLISHED, RV } from './index.js';
import { RawClient } from './raw-client.js';

const run = promisify(execFile);
const sh = async (cmd: string, args: string[]): Promise<string> => (await run(cmd, args, { encoding: 'utf8', timeout: 10_000 })).stdout;

const key = (b64: string): Buffer => Buffer.from(b64, 'base64');
const newKeyPair = (): { priv: Buffer; pub: Buffer } => {
  const priv = generatePrivateKey();
  return { priv: key(priv), pub: key(publicKeyOf(priv)) };
};

function wgCreate(c: RawClient, port = 51820, priv?: Buffer): Promise<VppRecord> {
  return c.request('wireguard_interface_create', {
    interface: { user_instance: NO_INDEX, private_key: priv ?? newKeyPair().priv, port, src_ip: toVppAddress('198.51.100.1') },
    generate_key: priv === undefined,
  });
}

function peerAdd(c: RawClient, swIfIndex: number, pub: Buffer, allowed: string[] = ['0.0.0.0/0', '::/0'], endpoint = '198.51.100.2'): Promise<VppRecord> {
  return c.request('wireguard_peer_add', {
    peer: {
      public_key: pub,
      port: 51820,
      persistent_keepalive: 25,
      table_id: 0,
      endpoint: toVppAddress(endpoint),
      sw_if_index: swIfIndex,
      allowed_ips: allowed.map((a) => toVppPrefix(a)),
    },
  });
}

function path(swIfIndex: number, nh: string | null, extra: VppRecord = {}): VppRecord {
  const v6 = nh?.includes(':') ?? false;
  return {
    sw_if_index: swIfIndex,
    weight: 1,
    proto: v6 ? 1 : 0,
    nh: { address: toVppAddress(nh ?? '0.0.0.0').un },
    ...extra,
  };
}

function route(c: RawClient, isAdd: boolean, prefix: string, paths: VppRecord[], opts: { multipath?: boolean; table?: number } = {}): Promise<VppRecord> {
  const [addr, len] = prefix.split('/') as [string, string];
  return c.request('ip_route_add_del', {
    is_add: isAdd,
    is_multipath: opts.multipath ?? false,
    // By hand, so a bad length (/33) can be sent.
    route: { table_id: opts.table ?? 0, prefix: { address: toVppAddress(addr), len: Number(len) }, paths },
  });
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fake-vpp-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fake VPP (pure)', () => {
  let fake: FakeVpp;
  let c: RawClient;
  let n = 0;

  beforeEach(async () => {
    fake = new FakeVpp({ socketPath: join(dir, `api${n++}.sock`), setup: (s) => s.addInterface({ kind: 'loopback' }) });
    await fake.start();
    c = await RawClient.connect(fake.socketPath);
  });

  afterEach(async () => {
    c.close();
    await fake.stop();
    expect(fake.errors).toEqual([]);
  });

  it('handshake: fixed 15/16, a table of real names and CRCs, client index with bit 31', () => {
    expect(c.clientIndex >>> 31).toBe(1);
    for (const def of MESSAGES.values()) {
      expect(c.table).toContain(`${def.name}_${def.crc}`);
    }
    expect(c.ids.get('sockclnt_create')).toBe(15);
    expect(c.ids.get('sockclnt_create_reply')).toBe(16);
    expect(new Set(c.ids.values()).size).toBe(c.ids.size);
    expect(fake.requests[0]!.name).toBe('sockclnt_create');
  });

  it('answers a dump with details, fenced by control_ping_reply with the same context', async () => {
    const details = await c.dump('sw_interface_dump', { sw_if_index: NO_INDEX });
    expect(details.map((d) => [d.name, d.values.interface_name])).toEqual([
      ['sw_interface_details', 'local0'],
      ['sw_interface_details', 'loop0'],
    ]);
    const filtered = await c.dump('sw_interface_dump', { sw_if_index: NO_INDEX, name_filter_valid: true, name_filter: 'LOOP' });
    expect(filtered.map((d) => d.values.interface_name)).toEqual(['loop0']);
    expect(await c.dump('wireguard_peers_dump', { peer_index: NO_INDEX })).toEqual([]);
    const v = await c.request('show_version');
    expect([v.program, v.version]).toEqual(['vpe', '25.10-release']);
  });

  it('answers pipelined requests in order', async () => {
    const contexts: number[] = [];
    for (let i = 0; i < 50; i++) {
      const ctx = c.context();
      contexts.push(ctx);
      c.sendRaw(c.body(i % 10 === 0 ? 'sw_interface_dump' : 'control_ping', i % 10 === 0 ? { sw_if_index: NO_INDEX } : {}, ctx));
    }
    const got: number[] = [];
    while (got.length < 45 + 5 * 2) got.push((await c.next()).values.context as number);
    const seen = got.filter((x, i) => got.indexOf(x) === i);
    expect(seen).toEqual(contexts);
  });

  it('has a handler for every request message of the definitions', async () => {
    const { HANDLERS } = await import('./handlers.js');
    const serverLevel = new Set(['sockclnt_create', 'sockclnt_delete', 'control_ping', 'want_interface_events']);
    const requests = [...MESSAGES.values()]
      .filter((d) => d.name === 'sockclnt_create' || (d.fields[0]?.name === 'client_index' && d.fields[1]?.name === 'context' && !/_(reply|details)$/.test(d.name)))
      .map((d) => d.name);
    expect(requests.filter((n) => !serverLevel.has(n) && !(n in HANDLERS))).toEqual([]);
  });

  it('creates a wireguard interface: wg0, admin-down, public key derived from the private key', async () => {
    const { priv, pub } = newKeyPair();
    const r = await wgCreate(c, 51821, priv);
    expect(r.retval).toBe(0);
    const sw = r.sw_if_index as number;
    const [itf] = await c.dump('sw_interface_dump', { sw_if_index: sw });
    expect(itf!.values).toMatchObject({ interface_name: 'wg0', interface_dev_type: 'Wireguard Tunnel', flags: 0 });
    const [wg] = await c.dump('wireguard_interface_dump', { show_private_key: false, sw_if_index: NO_INDEX });
    const i = wg!.values.interface as VppRecord;
    expect(Buffer.from(i.public_key as Buffer).equals(pub)).toBe(true);
    expect(Buffer.from(i.private_key as Buffer).equals(Buffer.alloc(32))).toBe(true);
    expect([i.sw_if_index, i.port, i.user_instance]).toEqual([sw, 51821, 0]);
    const [withKey] = await c.dump('wireguard_interface_dump', { show_private_key: true, sw_if_index: sw });
    expect(Buffer.from((withKey!.values.interface as VppRecord).private_key as Buffer).equals(priv)).toBe(true);
    // A second one with generate_key is wg1; instance 0 is taken.
    expect((await wgCreate(c)).retval).toBe(0);
    expect(fake.state.interfaceByName('wg1')?.wireguard?.instance).toBe(1);
    const taken = await c.request('wireguard_interface_create', { interface: { user_instance: 0, port: 1 }, generate_key: true });
    expect(taken.retval).toBe(RV.INVALID_REGISTRATION);
  });

  it('peers: one public key on the whole box (-116), at least one allowed IP (-7), no such peer (-6)', async () => {
    const a = (await wgCreate(c)).sw_if_index as number;
    const b = (await wgCreate(c)).sw_if_index as number;
    const { pub } = newKeyPair();
    const first = await peerAdd(c, a, pub);
    expect(first.retval).toBe(0);
    expect((await peerAdd(c, b, pub)).retval).toBe(RV.ENTRY_ALREADY_EXISTS);
    expect((await peerAdd(c, b, newKeyPair().pub, [])).retval).toBe(RV.INVALID_VALUE);
    expect((await peerAdd(c, 1 /* loop0 */, newKeyPair().pub)).retval).toBe(RV.INVALID_SW_IF_INDEX);
    const peers = await c.dump('wireguard_peers_dump', { peer_index: NO_INDEX });
    expect(peers).toHaveLength(1);
    const p = peers[0]!.values.peer as VppRecord;
    expect(p).toMatchObject({ peer_index: first.peer_index, sw_if_index: a, port: 51820, persistent_keepalive: 25, n_allowed_ips: 2, flags: 0 });
    // Roaming shows in the dump; ESTABLISHED flips come as events to registered clients.
    fake.roamPeer(first.peer_index as number, '203.0.113.9', 40000);
    const [roamed] = await c.dump('wireguard_peers_dump', { peer_index: first.peer_index as number });
    expect((roamed!.values.peer as VppRecord).port).toBe(40000);
    expect((await c.request('want_wireguard_peer_events', { sw_if_index: NO_INDEX, peer_index: NO_INDEX, enable_disable: 1, pid: 42 })).retval).toBe(0);
    fake.setPeerEstablished(first.peer_index as number, true);
    const ev = await c.event((m) => m.name === 'wireguard_peer_event');
    expect(ev.values).toMatchObject({ peer_index: first.peer_index, flags: PEER_ESTABLISHED, client_index: 0, pid: 0 });
    // A peer added after the registration is not subscribed.
    const later = await peerAdd(c, b, newKeyPair().pub);
    fake.setPeerEstablished(later.peer_index as number, true);
    // Admin-down clears ESTABLISHED (an event for the subscribed peer only).
    await c.request('sw_interface_set_flags', { sw_if_index: a, flags: 1 });
    await c.request('sw_interface_set_flags', { sw_if_index: a, flags: 0 });
    const down = await c.event((m) => m.name === 'wireguard_peer_event');
    expect(down.values).toMatchObject({ peer_index: first.peer_index, flags: 0 });
    expect(c.events.filter((m) => m.name === 'wireguard_peer_event')).toEqual([]);
    expect((await c.request('wireguard_peer_remove', { peer_index: 77 })).retval).toBe(RV.NO_SUCH_ENTRY);
    // Deleting the interface removes its peers.
    expect((await c.request('wireguard_interface_delete', { sw_if_index: a })).retval).toBe(0);
    expect([...fake.state.peers.values()].map((x) => x.peerIndex)).toEqual([later.peer_index]);
    expect((await c.request('wireguard_interface_delete', { sw_if_index: 1 })).retval).toBe(RV.INVALID_VALUE);
  });

  it('interfaces: flags + events, tags, addresses (-105 / -127 / -60; IPv4 re-add is -105 as on VPP 26.06), link-local /128 only, unnumbered', async () => {
    const sw = (await wgCreate(c)).sw_if_index as number;
    expect((await c.request('want_interface_events', { enable_disable: 1, pid: 7 })).retval).toBe(0);
    expect((await c.request('sw_interface_set_flags', { sw_if_index: sw, flags: 1 })).retval).toBe(0);
    const ev = await c.event((m) => m.name === 'sw_interface_event');
    expect(ev.values).toMatchObject({ sw_if_index: sw, flags: 3, deleted: false, pid: 7, client_index: c.clientIndex });
    expect((await c.request('sw_interface_set_flags', { sw_if_index: 99, flags: 1 })).retval).toBe(RV.INVALID_SW_IF_INDEX);
    expect((await c.request('sw_interface_tag_add_del', { is_add: true, sw_if_index: sw, tag: 'wg-site-b' })).retval).toBe(0);
    const [d] = await c.dump('sw_interface_dump', { sw_if_index: sw });
    expect(d!.values).toMatchObject({ tag: 'wg-site-b', flags: 3 });

    const addr = (isAdd: boolean, p: string, i = sw): Promise<VppRecord> =>
      c.request('sw_interface_add_del_address', { sw_if_index: i, is_add: isAdd, prefix: toVppPrefix(p) });
    expect((await addr(true, '10.255.0.0/31')).retval).toBe(0);
    expect((await addr(true, '10.255.0.0/31')).retval).toBe(RV.ADDRESS_IN_USE);
    expect((await addr(true, '10.255.0.1/24', 1)).retval).toBe(RV.ADDRESS_IN_USE);
    expect((await addr(true, 'fd00:255::/127')).retval).toBe(0);
    expect((await addr(true, 'fd00:255::1/64', 1)).retval).toBe(RV.DUPLICATE_IF_ADDRESS);
    expect((await addr(false, '10.9.9.9/32')).retval).toBe(RV.ADDRESS_NOT_FOUND_FOR_INTERFACE);
    expect((await addr(true, 'fe80::1/64')).retval).toBe(-59);
    expect((await addr(true, 'fe80::1/128')).retval).toBe(0);
    const v4 = await c.dump('ip_address_dump', { sw_if_index: sw, is_ipv6: false });
    expect(v4.map((m) => fromVppAddressWithPrefix(m.values.prefix))).toEqual(['10.255.0.0/31']);
    const v6 = await c.dump('ip_address_dump', { sw_if_index: sw, is_ipv6: true });
    expect(v6).toHaveLength(1);
    // Interface addresses put 'interface' entries in the FIB, which ip_route_dump shows.
    const fib = (await c.dump('ip_route_dump', { table: { table_id: 0, is_ip6: false } })).map((m) => m.values.route as VppRecord);
    const prefixes = fib.map((r) => fromVppPrefix(r.prefix));
    for (const p of ['10.255.0.0/31', '10.255.0.0/32', '10.255.0.1/32', '0.0.0.0/0']) expect(prefixes).toContain(p);
    // Unnumbered to loop0.
    expect((await addr(true, '192.0.2.1/32', 1)).retval).toBe(0);
    const other = (await wgCreate(c)).sw_if_index as number;
    expect((await c.request('sw_interface_set_unnumbered', { sw_if_index: 1, unnumbered_sw_if_index: other, is_add: true })).retval).toBe(0);
    expect(fake.state.interfaces.get(other)?.unnumberedTo).toBe(1);
    // IPv6 is on already (its IPv6 address turned it on): VPP 26.06 answers VALUE_EXIST, as seen on a real VPP.
    expect((await c.request('sw_interface_ip6_enable_disable', { sw_if_index: other, enable: true })).retval).toBe(RV.VALUE_EXIST);
    expect((await c.request('wireguard_interface_delete', { sw_if_index: other })).retval).toBe(0);
    const deleted = await c.event((m) => m.name === 'sw_interface_event' && m.values.sw_if_index === other && m.values.deleted === true);
    expect(deleted.values.flags).toBe(0);
  });

  it('routes: replace on add, multipath add/remove, idempotent delete, -3 / -54 / -52 / -171', async () => {
    const sw = (await wgCreate(c)).sw_if_index as number;
    const api = (): string[][] =>
      [...(fake.state.apiRoutes(4).get('10.1.0.0/24') ?? [])].map((p) => [String(p.swIfIndex), p.nh ?? '-']);
    expect((await route(c, true, '10.1.0.0/24', [path(sw, '10.255.0.1')])).retval).toBe(0);
    expect(api()).toEqual([[String(sw), '10.255.0.1']]);
    // is_multipath=0 add replaces the whole path set.
    expect((await route(c, true, '10.1.0.0/24', [path(sw, '10.255.0.3')])).retval).toBe(0);
    expect(api()).toEqual([[String(sw), '10.255.0.3']]);
    expect((await route(c, true, '10.1.0.0/24', [path(sw, '10.255.0.5')], { multipath: true })).retval).toBe(0);
    expect(api()).toEqual([[String(sw), '10.255.0.3'], [String(sw), '10.255.0.5']]);
    const details = (await c.dump('ip_route_dump', { table: { table_id: 0, is_ip6: false } }))
      .map((m) => m.values.route as VppRecord)
      .find((r) => fromVppPrefix(r.prefix) === '10.1.0.0/24');
    expect(details?.n_paths).toBe(2);
    expect((details?.paths as VppRecord[]).map((p) => fromVppAddress({ af: 0, un: (p.nh as VppRecord).address ?? {} }))).toEqual(['10.255.0.3', '10.255.0.5']);
    expect((await route(c, false, '10.1.0.0/24', [path(sw, '10.255.0.3')], { multipath: true })).retval).toBe(0);
    expect(api()).toEqual([[String(sw), '10.255.0.5']]);
    expect((await route(c, false, '10.1.0.0/24', [])).retval).toBe(0);
    expect(api()).toEqual([]);
    expect((await route(c, false, '10.1.0.0/24', [])).retval).toBe(0);
    // A host route without a next hop, IPv6 with a link-local next hop.
    expect((await route(c, true, '10.255.0.1/32', [path(sw, null)])).retval).toBe(0);
    expect((await route(c, true, '2001:db8::/32', [path(sw, 'fe80::2')])).retval).toBe(0);
    expect(fake.state.apiRoutes(6).get('2001:db8::/32')?.[0]).toMatchObject({ nh: 'fe80::2', proto: 1, weight: 1 });
    // Errors.
    expect((await route(c, true, '10.2.0.0/24', [path(sw, '10.255.0.1')], { table: 7 })).retval).toBe(RV.NO_SUCH_FIB);
    expect((await route(c, true, '10.2.0.0/24', [path(99, '10.255.0.1')])).retval).toBe(RV.NO_MATCHING_INTERFACE);
    expect((await route(c, true, '10.2.0.0/24', [])).retval).toBe(RV.NO_PATHS_IN_ROUTE);
    expect((await route(c, true, '10.2.0.0/33', [path(sw, '10.255.0.1')])).retval).toBe(RV.INVALID_PREFIX_LENGTH);
    // Tables.
    expect((await c.request('ip_table_add_del', { is_add: true, table: { table_id: 7, is_ip6: false, name: 'seven' } })).retval).toBe(0);
    expect((await route(c, true, '10.2.0.0/24', [path(sw, '10.255.0.1')], { table: 7 })).retval).toBe(0);
    const t7 = await c.dump('ip_route_dump', { table: { table_id: 7, is_ip6: false } });
    expect(t7.map((m) => fromVppPrefix((m.values.route as VppRecord).prefix))).toContain('10.2.0.0/24');
    expect(await c.dump('ip_route_dump', { table: { table_id: 8, is_ip6: false } })).toEqual([]);
  });

  it('linux-cp: TUN on wireguard (TAP → -73), one pair per phy (-81), cursor get', async () => {
    const sw = (await wgCreate(c)).sw_if_index as number;
    const pair = (type: number): Promise<VppRecord> =>
      c.request('lcp_itf_pair_add_del', { is_add: true, sw_if_index: sw, host_if_name: 'wg-site-b', host_if_type: type, netns: 'dp' });
    expect((await c.request('lcp_itf_pair_get', { cursor: 0 })).cursor).toBe(0);
    expect((await pair(0)).retval).toBe(RV.INVALID_ARGUMENT);
    expect((await pair(1)).retval).toBe(0);
    expect((await pair(1)).retval).toBe(RV.VALUE_EXIST);
    const ctx = c.context();
    c.sendRaw(c.body('lcp_itf_pair_get', { cursor: 0 }, ctx));
    const d = await c.next();
    expect(d.name).toBe('lcp_itf_pair_details');
    expect(d.values).toMatchObject({ phy_sw_if_index: sw, host_if_name: 'wg-site-b', host_if_type: 1, netns: 'dp' });
    const r = await c.next();
    expect([r.name, r.values.retval, r.values.cursor, r.values.context]).toEqual(['lcp_itf_pair_get_reply', 0, NO_INDEX, ctx]);
    const names = (await c.dump('sw_interface_dump', { sw_if_index: NO_INDEX })).map((m) => m.values.interface_name);
    expect(names).toContain('tun0');
  });

  it('drops a truncated request without a reply and records it', async () => {
    const ctx = c.context();
    const body = c.body('ip_route_add_del', { is_add: true, route: { prefix: toVppPrefix('10.0.0.0/8'), paths: [path(0, null)] } }, ctx);
    c.sendRaw(body.subarray(0, body.length - 10));
    const ping = await c.request('control_ping');
    expect(ping.retval).toBe(0);
    expect(fake.errors.map((e) => [e.kind, e.name])).toEqual([['truncated', 'ip_route_add_del']]);
    expect(fake.state.apiRoutes(4).size).toBe(0);
    // A wrong client_index: handled, reply dropped.
    c.sendRaw(encodeWith(c, 'control_ping', { client_index: 5 }, 99));
    expect((await c.request('control_ping')).retval).toBe(0);
    // Trailing bytes: VPP tolerates them, the fake answers but flags the layout mismatch.
    const ctx2 = c.context();
    c.sendRaw(Buffer.concat([c.body('control_ping', {}, ctx2), Buffer.alloc(3)]));
    expect((await c.next()).values.context).toBe(ctx2);
    // An id nobody has: dropped.
    c.sendRaw(Buffer.from([0xff, 0xf0, 0, 0, 0, 0, 0, 0, 0, 1]));
    expect((await c.request('control_ping')).retval).toBe(0);
    expect(fake.errors.map((e) => e.kind)).toEqual(['truncated', 'bad-client-index', 'trailing-bytes', 'unknown-message']);
    fake.errors.length = 0;
  });

  it('restart() loses everything and drops connections', async () => {
    await wgCreate(c);
    expect(fake.state.interfaces.size).toBe(3);
    const before = fake.state;
    await fake.restart();
    await expect(c.next(1000)).rejects.toThrow(/closed/);
    expect(fake.state).not.toBe(before);
    expect([...fake.state.interfaces.values()].map((i) => i.name)).toEqual(['local0', 'loop0']);
    c = await RawClient.connect(fake.socketPath);
    expect(await c.dump('wireguard_interface_dump', { sw_if_index: NO_INDEX })).toEqual([]);
    // sockclnt_delete: reply (response 1), then the socket closes.
    const bye = await c.request('sockclnt_delete', { index: c.clientIndex });
    expect(bye.response).toBe(1);
    await expect(c.next(1000)).rejects.toThrow(/closed/);
  });
});

describe('fake VPP variants', () => {
  it('omits messages (no linux-cp) and advertises overridden CRCs', async () => {
    const fake = new FakeVpp({
      socketPath: join(dir, 'variant.sock'),
      omit: ['lcp_itf_pair_add_del', 'lcp_itf_pair_add_del_reply', 'lcp_itf_pair_get', 'lcp_itf_pair_get_reply', 'lcp_itf_pair_details'],
      crcOverrides: { ip_route_add_del: 'deadbeef' },
      version: '26.06-release',
    });
    await fake.start();
    const c = await RawClient.connect(join(dir, 'variant.sock'));
    expect([...c.ids.keys()].filter((n) => n.startsWith('lcp_'))).toEqual([]);
    expect(c.crcs.get('ip_route_add_del')).toBe('deadbeef');
    expect((await c.request('show_version')).version).toBe('26.06-release');
    c.close();
    await fake.stop();
    expect(fake.errors).toEqual([]);
  });
});

/** A body with explicit header values (to send a wrong client_index). */
function encodeWith(c: RawClient, name: string, values: VppRecord, context: number): Buffer {
  const b = c.body(name, values, context);
  b.writeUInt32BE(values.client_index as number, 2);
  return b;
}

// ─── realization ────────────────────────────────────────────────────────────

const canRealize = process.getuid?.() === 0 && existsSync('/usr/bin/wireguard-go');

describe.skipIf(!canRealize)('fake VPP realized in a network namespace', () => {
  const suffix = Math.floor(Math.random() * 0xfffff).toString(16).padStart(5, '0');
  const nsA = `fvpp-a-${suffix}`;
  const nsB = `fvpp-b-${suffix}`;
  const ifA = `fva${suffix}`;
  const ifB = `fvb${suffix}`;
  const net = Number.parseInt(suffix, 16) % 250;
  const ipA = `198.18.${net}.1`;
  const ipB = `198.18.${net}.2`;
  let a: FakeVpp;
  let b: FakeVpp;
  let ca: RawClient;
  let cb: RawClient;

  beforeAll(async () => {
    for (const ns of [nsA, nsB]) await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['link', 'add', `fva${suffix}v`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `fvb${suffix}v`, 'netns', nsB]);
    for (const [ns, dev, ip] of [[nsA, `fva${suffix}v`, ipA], [nsB, `fvb${suffix}v`, ipB]] as const) {
      await sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev]);
      await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      await sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
    a = new FakeVpp({ socketPath: join(dir, 'ra.sock'), realize: { netns: nsA, pollMs: 200 } });
    b = new FakeVpp({ socketPath: join(dir, 'rb.sock'), realize: { netns: nsB, pollMs: 200 } });
    await a.start();
    await b.start();
    ca = await RawClient.connect(join(dir, 'ra.sock'));
    cb = await RawClient.connect(join(dir, 'rb.sock'));
  });

  afterAll(async () => {
    ca?.close();
    cb?.close();
    await a?.stop();
    await b?.stop();
    for (const ns of [nsA, nsB]) {
      const pids = await sh('ip', ['netns', 'pids', ns]).catch(() => '');
      for (const pid of pids.split('\n').map(Number).filter((p) => p > 0)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
  });

  it('mirrors interfaces, addresses, peers and routes into Linux, and reads handshakes and roaming back', async () => {
    const ka = newKeyPair();
    const kb = newKeyPair();
    // Side A knows B's endpoint; B is the "remote-access server" side (no endpoint).
    const setup = async (c: RawClient, keys: { priv: Buffer }, tag: string, addr: string, peer: Buffer, endpoint: string | null, port: number): Promise<{ sw: number; peerIndex: number }> => {
      const sw = (await wgCreate(c, port, keys.priv)).sw_if_index as number;
      expect((await c.request('sw_interface_tag_add_del', { is_add: true, sw_if_index: sw, tag })).retval).toBe(0);
      expect((await c.request('sw_interface_set_flags', { sw_if_index: sw, flags: 1 })).retval).toBe(0);
      expect((await c.request('sw_interface_add_del_address', { sw_if_index: sw, is_add: true, prefix: toVppPrefix(addr) })).retval).toBe(0);
      const r = await c.request('wireguard_peer_add', {
        peer: {
          public_key: peer,
          port: endpoint === null ? 0 : 51820,
          persistent_keepalive: endpoint === null ? 0 : 1,
          endpoint: toVppAddress(endpoint ?? '0.0.0.0'),
          sw_if_index: sw,
          allowed_ips: [toVppPrefix('0.0.0.0/0'), toVppPrefix('::/0')],
        },
      });
      expect(r.retval).toBe(0);
      return { sw, peerIndex: r.peer_index as number };
    };
    // B first, realized before A initiates: a first handshake lost to a not-yet-configured B costs a 5 s retry.
    const sb = await setup(cb, kb, ifB, '10.99.0.1/31', ka.pub, null, 51820);
    await b.settled();
    const sa = await setup(ca, ka, ifA, '10.99.0.0/31', kb.pub, ipB, 51830);
    expect((await ca.request('want_wireguard_peer_events', { sw_if_index: NO_INDEX, peer_index: NO_INDEX, enable_disable: 1 })).retval).toBe(0);
    expect((await route(ca, true, '10.123.0.0/24', [path(sa.sw, '10.99.0.1')])).retval).toBe(0);
    await a.settled();
    await b.settled();
    expect([...a.realizeErrors, ...b.realizeErrors]).toEqual([]);
    expect(a.linuxName(sa.sw)).toBe(ifA);

    const link = JSON.parse(await sh('ip', ['-n', nsA, '-j', 'addr', 'show', 'dev', ifA])) as { flags: string[]; addr_info: { local: string; prefixlen: number }[] }[];
    expect(link[0]!.flags).toContain('UP');
    expect(link[0]!.addr_info.map((x) => `${x.local}/${x.prefixlen}`)).toEqual(['10.99.0.0/31']);
    const routes = await sh('ip', ['-n', nsA, 'route', 'show', 'proto', '202']);
    expect(routes).toContain(`10.123.0.0/24 via 10.99.0.1 dev ${ifA}`);
    const wg = await sh('wg', ['show', ifA, 'dump']);
    expect(wg).toContain(ka.priv.toString('base64'));
    expect(wg).toContain(`${kb.pub.toString('base64')}\t(none)\t${ipB}:51820`);

    // A's keepalive makes the handshake; A sees ESTABLISHED (event), B learns A's endpoint (roaming).
    const ev = await ca.event((m) => m.name === 'wireguard_peer_event' && m.values.peer_index === sa.peerIndex, 8000);
    expect(ev.values.flags).toBe(PEER_ESTABLISHED);
    const [pb] = await cb.dump('wireguard_peers_dump', { peer_index: sb.peerIndex });
    const peerB = pb!.values.peer as VppRecord;
    expect(peerB.flags).toBe(PEER_ESTABLISHED);
    expect([fromVppAddress(peerB.endpoint), peerB.port]).toEqual([ipA, 51830]);
    await sh('ip', ['netns', 'exec', nsA, 'ping', '-c1', '-W2', '10.99.0.1']);

    // No peer update in VPP: remove + add (the index comes back) reconfigures wireguard-go.
    expect((await cb.request('wireguard_peer_remove', { peer_index: sb.peerIndex })).retval).toBe(0);
    const again = await cb.request('wireguard_peer_add', {
      peer: { public_key: ka.pub, persistent_keepalive: 7, sw_if_index: sb.sw, allowed_ips: [toVppPrefix('10.99.0.0/31')] },
    });
    expect([again.retval, again.peer_index]).toEqual([0, sb.peerIndex]);
    await b.settled();
    const dumpB = (await sh('wg', ['show', ifB, 'dump'])).trim().split('\n').slice(1);
    expect(dumpB.map((l) => l.split('\t')).map((f) => [f[0], f[3], f[7]])).toEqual([[ka.pub.toString('base64'), '10.99.0.0/31', '7']]);

    // Removal cleans up: the route, then the interface.
    expect((await route(ca, false, '10.123.0.0/24', [])).retval).toBe(0);
    await a.settled();
    expect(await sh('ip', ['-n', nsA, 'route', 'show', 'proto', '202'])).toBe('');
    expect((await ca.request('wireguard_interface_delete', { sw_if_index: sa.sw })).retval).toBe(0);
    await a.settled();
    await expect(sh('ip', ['-n', nsA, 'link', 'show', 'dev', ifA])).rejects.toThrow();
    expect(existsSync(`/var/run/wireguard/${ifA}.sock`)).toBe(false);

    // A restart of B kills its realized interface too.
    expect(existsSync(`/var/run/wireguard/${ifB}.sock`)).toBe(true);
    await b.restart();
    await expect(sh('ip', ['-n', nsB, 'link', 'show', 'dev', ifB])).rejects.toThrow();
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  }, 25_000);
});
