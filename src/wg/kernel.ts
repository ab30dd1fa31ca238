/**
 * The Linux kernel WireGuard backend: one `wireguard` link per tunnel
 * (RTM_NEWLINK, IFLA_INFO_KIND "wireguard"), configured over generic netlink
 * (genl.ts), its addresses, MTU and state over rtnetlink like wireguard-go's
 * tun (link.ts). No process per tunnel: the kernel holds it, and it outlives
 * the agent (keep-on-stop) by itself.
 *
 * What to set is planned once for both backends (uapiChanges, the UAPI plan
 * that keeps a roamed endpoint and swaps a rotated key's peer): the device is
 * read into the UAPI model and the plan's lines become one WG_CMD_SET_DEVICE.
 */
import type { Logger } from '#lib/log';
import { formatIp, parseIp, parsePrefix } from '#lib/prefix';
import { NlWriter, decodeDone, decodeError, splitMessages, type NlMessage } from '#netlink/codec';
import { NETLINK_GENERIC, NLMSG_DONE, NLMSG_ERROR } from '#netlink/constants';
import { ENODEV, ETIMEDOUT, NetlinkError } from '#netlink/errors';
import { NetlinkSocket } from '#netlink/socket';
import type { LinkOps } from '#netlink/types';
import {
  WG_GENL_NAME,
  WGDEVICE_F_REPLACE_PEERS,
  WGPEER_F_REMOVE_ME,
  WGPEER_F_REPLACE_ALLOWEDIPS,
  WGPEER_F_UPDATE_ONLY,
  decodeFamilyId,
  decodeWgDevice,
  encodeGetFamily,
  encodeWgGetDevice,
  encodeWgSetDevice,
  endpointText,
  mergeWgDevice,
  type WgDeviceSet,
  type WgDeviceState,
  type WgEndpoint,
  type WgPeerSet,
} from './genl.js';
import { convergeLink } from './link.js';
import { tunnelStatusOf, type UapiDevice, type UapiLine } from './uapi.js';
import { normalizeEndpoint, uapiChanges } from './wireguard-go.js';
import type { EnsureResult, TunnelSpec, TunnelStatus, WireguardBackend } from './types.js';

// Its own small module: the agent asks it before it knows whether it needs the rest of this one.
export { kernelWireguardPresent } from './kernel-present.js';

/** One request and its answers up to the ack (or a dump's NLMSG_DONE); a test replays recorded exchanges. */
export interface GenlTransport {
  exchange(request: Buffer, seq: number): Promise<NlMessage[]>;
  close(): void;
}

/** The real transport: a NETLINK_GENERIC socket. Messages are copied out of the receive buffer. */
export function genlSocket(opts: { netns?: string; timeoutMs?: number } = {}): GenlTransport {
  const sock = NetlinkSocket.open({ protocol: NETLINK_GENERIC, rcvbuf: 1024 * 1024, ...(opts.netns ? { netns: opts.netns } : {}) });
  const timeoutMs = opts.timeoutMs ?? 5000;
  return {
    async exchange(request, seq) {
      sock.send(request);
      const out: NlMessage[] = [];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const d = sock.recv();
        if (d === null) {
          const left = deadline - Date.now();
          if (left <= 0) throw new NetlinkError(ETIMEDOUT, 'generic netlink reply');
          await sock.readable(left);
          continue;
        }
        for (const m of splitMessages(d)) {
          if (m.seq !== seq) continue;
          out.push({ ...m, body: Buffer.from(m.body) });
          if (m.type === NLMSG_DONE || m.type === NLMSG_ERROR) return out;
        }
      }
    },
    close: () => sock.close(),
  };
}

/** The "wireguard" generic netlink family: GET and SET of a device. */
export class WgGenl {
  private family: number | null = null;
  private seq = Math.floor(Date.now() / 1000) >>> 0;
  private readonly w = new NlWriter(4096);
  private chain: Promise<unknown> = Promise.resolve();

  /** `firstSeq`: the sequence number before the first request (replayed exchanges fix it). */
  constructor(
    private readonly transport: GenlTransport,
    firstSeq?: number,
  ) {
    if (firstSeq !== undefined) this.seq = firstSeq;
  }

  /** The device, or null when no wireguard link has that name. */
  get(ifname: string): Promise<WgDeviceState | null> {
    return this.serial(async () => {
      const family = await this.familyId();
      const replies = await this.request((w, seq) => encodeWgGetDevice(w, family, seq, ifname), `wireguard get ${ifname}`, true).catch((err: unknown) => {
        if (err instanceof NetlinkError && err.errno === ENODEV) return null;
        throw err;
      });
      if (replies === null) return null;
      return mergeWgDevice(replies.filter((m) => m.type === family).map((m) => decodeWgDevice(m.body)));
    });
  }

  set(set: WgDeviceSet): Promise<void> {
    return this.serial(async () => {
      const family = await this.familyId();
      await this.request((w, seq) => encodeWgSetDevice(w, family, seq, set), `wireguard set ${set.ifname}`, false);
    });
  }

  close(): void {
    this.transport.close();
  }

  private async familyId(): Promise<number> {
    this.family ??= await this.resolve(WG_GENL_NAME);
    return this.family;
  }

  /** A generic netlink family's id by name (CTRL_CMD_GETFAMILY); ENOENT where the kernel has no such family. */
  async resolve(name: string): Promise<number> {
    const replies = await this.request((w, seq) => encodeGetFamily(w, seq, name), `generic netlink family ${name}`, false);
    const reply = replies.find((m) => m.type !== NLMSG_ERROR && m.type !== NLMSG_DONE);
    if (reply === undefined) throw new NetlinkError(ENODEV, `generic netlink family ${name}: no answer`);
    return decodeFamilyId(reply.body);
  }

  /** One exchange; a negative ack or dump status throws NetlinkError. */
  private async request(build: (w: NlWriter, seq: number) => void, context: string, dump: boolean): Promise<NlMessage[]> {
    this.seq = (this.seq + 1) >>> 0 || 1;
    this.w.reset();
    build(this.w, this.seq);
    const replies = await this.transport.exchange(Buffer.from(this.w.bytes()), this.seq);
    const end = replies[replies.length - 1];
    if (end !== undefined && (end.type === NLMSG_ERROR || (dump && end.type === NLMSG_DONE))) {
      const e = end.type === NLMSG_DONE ? decodeDone(end) : decodeError(end);
      if (e.error !== 0) throw new NetlinkError(e.error, context, e.message);
    }
    return replies;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** The kernel's device in the UAPI model the planner reads (keys in hex, endpoints as text). */
export function uapiDeviceOf(d: WgDeviceState): UapiDevice {
  return {
    privateKey: d.privateKey === null || d.privateKey.every((b) => b === 0) ? null : Buffer.from(d.privateKey).toString('hex'),
    listenPort: d.listenPort,
    fwmark: d.fwmark,
    peers: d.peers.map((p) => ({
      publicKey: Buffer.from(p.publicKey).toString('hex'),
      endpoint: p.endpoint === null ? null : endpointText(p.endpoint),
      protocolVersion: p.protocolVersion,
      lastHandshakeTimeSec: p.lastHandshakeSec,
      lastHandshakeTimeNsec: p.lastHandshakeNsec,
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      persistentKeepaliveInterval: p.persistentKeepalive,
      allowedIps: p.allowedIps.map((a) => `${formatIp(a.address)}/${a.cidr}`),
    })),
  };
}

function hexKey(v: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/i.test(v)) throw new RangeError('a UAPI key is 64 hex digits');
  return Uint8Array.from(Buffer.from(v, 'hex'));
}

function endpointOf(text: string): WgEndpoint {
  const norm = normalizeEndpoint(text);
  const m = norm === null ? null : (/^\[([^\]%]+)(?:%[^\]]*)?\]:(\d+)$/.exec(norm) ?? /^([^:]+):(\d+)$/.exec(norm));
  const ip = m ? parseIp(m[1]!) : null;
  if (!m || !ip) throw new RangeError(`endpoint ${text} is not "ip:port" / "[ip6]:port"`);
  return { address: ip.bytes, port: Number(m[2]) };
}

/** The planner's UAPI lines as one WG_CMD_SET_DEVICE (the same keys, in the same order of meaning). */
export function deviceSetOf(ifname: string, lines: readonly UapiLine[]): WgDeviceSet {
  const set: WgDeviceSet = { ifname, flags: 0, peers: [] };
  let peer: WgPeerSet | null = null;
  for (const [k, v] of lines) {
    if (k === 'private_key') set.privateKey = hexKey(v);
    else if (k === 'listen_port') set.listenPort = Number(v);
    else if (k === 'replace_peers') set.flags |= v === 'true' ? WGDEVICE_F_REPLACE_PEERS : 0;
    else if (k === 'public_key') {
      const next: WgPeerSet = { publicKey: hexKey(v), flags: 0 };
      set.peers.push(next);
      peer = next;
    } else if (peer === null) throw new RangeError(`UAPI key ${k} before any public_key`);
    else if (k === 'remove') peer.flags |= v === 'true' ? WGPEER_F_REMOVE_ME : 0;
    else if (k === 'update_only') peer.flags |= v === 'true' ? WGPEER_F_UPDATE_ONLY : 0;
    else if (k === 'endpoint') peer.endpoint = endpointOf(v);
    else if (k === 'persistent_keepalive_interval') peer.persistentKeepalive = Number(v);
    else if (k === 'replace_allowed_ips') {
      if (v === 'true') {
        peer.flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
        peer.allowedIps ??= [];
      }
    } else if (k === 'allowed_ip') {
      const p = parsePrefix(v);
      if (!p) throw new RangeError(`allowed_ip ${v} is not a prefix`);
      (peer.allowedIps ??= []).push({ address: p.bytes, cidr: p.len });
    } else throw new RangeError(`UAPI key ${k} has no netlink counterpart here`);
  }
  return set;
}

export interface KernelWireguardDeps {
  links: LinkOps & { linkAdd(name: string, kind: string): Promise<void> };
  genl: WgGenl;
  log: Logger;
  now?: () => number;
}

export class KernelWireguard implements WireguardBackend {
  readonly kind = 'kernel' as const;
  private readonly now: () => number;

  constructor(private readonly deps: KernelWireguardDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Links of kind "wireguard" in our namespace. */
  async list(): Promise<string[]> {
    return (await this.deps.links.links()).filter((l) => l.kind === 'wireguard').map((l) => l.name).sort();
  }

  async ensure(spec: TunnelSpec, previous: TunnelSpec | null): Promise<EnsureResult> {
    const ifname = spec.interface;
    const link = await this.deps.links.link(ifname);
    if (link !== null && link.kind !== 'wireguard') {
      throw new Error(`${ifname}: a link with this name exists and is not a kernel WireGuard link (${link.kind ?? 'tun or unknown'})`);
    }
    const created = link === null;
    if (created) await this.deps.links.linkAdd(ifname, 'wireguard');
    const dev = await this.deps.genl.get(ifname);
    if (dev === null) throw new Error(`${ifname}: the wireguard link vanished while being configured`);
    // The agent hands IP literals (endpoints.ts resolves names).
    const resolvedEndpoint = spec.endpoint === null ? null : normalizeEndpoint(spec.endpoint);
    const lines = uapiChanges(uapiDeviceOf(dev), spec, previous, { resolvedEndpoint, nowSec: this.now() / 1000 });
    if (lines.length > 0) {
      await this.deps.genl.set(deviceSetOf(ifname, lines));
      this.deps.log.info({ interface: ifname, keys: [...new Set(lines.map(([k]) => k))] }, 'kernel WireGuard configured');
    }
    const linkChanged = await convergeLink(this.deps.links, spec, this.deps.log);
    if (created) {
      this.deps.log.info({ interface: ifname, neighbor: spec.name }, 'tunnel created');
      return 'created';
    }
    return lines.length > 0 || linkChanged ? 'updated' : 'unchanged';
  }

  async remove(ifname: string): Promise<void> {
    const link = await this.deps.links.link(ifname);
    if (link === null || link.kind !== 'wireguard') return;
    await this.deps.links.linkDelete(ifname);
    this.deps.log.info({ interface: ifname }, 'tunnel removed');
  }

  async status(spec: TunnelSpec): Promise<TunnelStatus | null> {
    const link = await this.deps.links.link(spec.interface);
    if (link === null) return null;
    const dev = await this.deps.genl.get(spec.interface);
    if (dev === null) return null;
    return tunnelStatusOf(spec, uapiDeviceOf(dev), link.up);
  }

  /** The links stay (keep-on-stop); the generic netlink socket goes. */
  async close(): Promise<void> {
    this.deps.genl.close();
  }
}
