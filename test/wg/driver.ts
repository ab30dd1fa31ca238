/**
 * Runs a WireguardGoBackend inside the network namespace it is started in
 * (`ip netns exec <ns> node driver.js --state-dir DIR`) and serves its methods
 * as JSON-line calls (see netns.ts). Specs travel with the private key as
 * base64; statuses come back with ISO dates.
 *
 * LinkOps: the project's Rtnetlink, or the `ip`-based test implementation
 * with WGBGP_TEST_LINKOPS=ip (to tell a backend bug from a netlink one).
 */
import { pino } from 'pino';
import { Rtnetlink } from '#netlink/index';
import type { LinkOps } from '#netlink/types';
import { decodeKey, WireguardGoBackend, type TunnelSpec } from '#wg/index';
import { IpLinkOps } from './ip-link-ops.js';
import { serveJsonLines } from './netns.js';

export type WireSpec = Omit<TunnelSpec, 'privateKey'> & { privateKey: string };

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

async function linkOps(): Promise<{ links: LinkOps; impl: string }> {
  if (process.env.WGBGP_TEST_LINKOPS === 'ip') return { links: new IpLinkOps(), impl: 'ip' };
  return { links: await Rtnetlink.open(), impl: 'rtnetlink' };
}

const fromWire = (s: WireSpec | null): TunnelSpec | null => (s ? { ...s, privateKey: decodeKey(s.privateKey) } : null);

const { links, impl } = await linkOps();
const log = pino({ level: process.env.WGBGP_LOG_LEVEL ?? 'info', name: 'wg-driver' }, pino.destination(2));
const backend = new WireguardGoBackend({ links, log, stateDir: arg('--state-dir') ?? '/run/wgbgp' });

serveJsonLines({
  linkOps: async () => impl,
  ensure: async (spec: WireSpec, previous: WireSpec | null) => backend.ensure(fromWire(spec)!, fromWire(previous)),
  remove: async (ifname: string) => backend.remove(ifname),
  list: async () => backend.list(),
  status: async (spec: WireSpec) => backend.status(fromWire(spec)!),
  pid: async (ifname: string) => backend.pid(ifname),
});
