/**
 * RFC 9234 roles and OTC against BIRD 2 over real WireGuard (wireguard-go), as
 * in bird.test.ts. The agent is BIRD's provider (`bgp.role: provider`), BIRD
 * its customer (`local role customer`). BIRD sends its LAN and a leak: a route
 * its export filter marks with OTC 65099, which a customer may not send up
 * (RFC 9234 §5) — the agent keeps it ineligible. BIRD gets our LAN with OTC =
 * our AS (§5 egress). Then BIRD becomes a `peer`: provider-peer is no allowed
 * pair (§4.2), and the session is refused with Role Mismatch.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ASN_A,
  ASN_B,
  CLI,
  HOLD_TIME,
  LAN_A,
  LAN_B,
  TUN_A,
  TUN_B,
  agentRoutes,
  createSite,
  missingPrerequisite,
  startAgent,
  startBird,
  startPeerTunnel,
  tail,
  teardown,
  until,
  type Site,
} from './helpers/site.js';

const skip = missingPrerequisite(['bird', 'birdc']);
if (skip !== null) console.log(`interop/bird-roles: skipped: ${skip}`);

const LEAK = '10.30.0.0/24';

function birdConfig(log: string, role: 'customer' | 'peer'): string {
  return `
log "${log}" all;
router id 192.0.2.2;
protocol device { scan time 2; }
protocol static lan4 { ipv4; route ${LAN_B.v4} via "lan0"; route ${LEAK} via "lan0"; }
protocol bgp wgbgp {
  local ${TUN_B.v4} as ${ASN_B};
  neighbor ${TUN_A.v4} as ${ASN_A};
  local role ${role};
  hold time ${HOLD_TIME};
  keepalive time ${HOLD_TIME / 3};
  ttl security yes;
  connect retry time 2;
  error wait time 1, 5;
  # OTC set after BIRD's own egress check: a leak as a misbehaving customer would send it.
  ipv4 { import all; export filter { if net = ${LEAK} then bgp_otc = 65099; if source = RTS_STATIC then accept; reject; }; };
  ipv6 { import all; export none; };
}
`;
}

interface NeighborView {
  state: string;
  lastError: string | null;
  prefixesReceived: number;
  prefixesAccepted: number;
  session: { roles?: { local: string; peer: string | null } } | null;
}

describe.skipIf(skip !== null)('interop: BGP roles and OTC (RFC 9234) with BIRD 2', () => {
  let site: Site | undefined;
  let ctl = '';
  let conf = '';
  let birdLog = '';

  const birdc = (...args: string[]): string =>
    execFileSync('birdc', ['-s', ctl, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 });
  const peer = (): NeighborView => {
    const r = spawnSync(process.execPath, [CLI, 'neighbors', 'peer', '--json', '--socket', site!.sock], { encoding: 'utf8', timeout: 10_000 });
    return JSON.parse(r.stdout) as NeighborView;
  };
  const diagnostics = (): string => {
    let protocols = '';
    try {
      protocols = birdc('show', 'protocols', 'all', 'wgbgp');
    } catch (e) {
      protocols = String(e);
    }
    return [protocols, site ? tail(site.agentLog) : '', tail(birdLog)].join('\n');
  };

  beforeAll(async () => {
    site = await createSite('bo', 45, { bgp: { role: 'provider' } });
    await startPeerTunnel(site);
    ({ ctl, log: birdLog, conf } = await startBird(site, (log) => birdConfig(log, 'customer')));
    startAgent(site);
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('provider-customer comes up; the route BIRD sends with OTC is not accepted, its LAN is; BIRD gets our LAN with OTC 65001', async () => {
    const p = await until('Established with both routes received', () => {
      const v = peer();
      return v.state === 'Established' && v.prefixesReceived >= 2 ? v : null;
    }, 30_000, diagnostics);
    expect(p.session?.roles).toEqual({ local: 'provider', peer: 'customer' });
    expect(p).toMatchObject({ prefixesReceived: 2, prefixesAccepted: 1 });
    await until(`${LAN_B.v4} installed`, () => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4), 10_000, diagnostics);
    expect(agentRoutes(site!, '-4').some((r) => r.dst === LEAK)).toBe(false);
    const ours = await until('our LAN at BIRD', () => {
      const out = birdc('show', 'route', LAN_A.v4, 'protocol', 'wgbgp', 'all');
      return out.includes(LAN_A.v4) ? out : null;
    }, 10_000, diagnostics);
    expect(ours).toMatch(new RegExp(`BGP\\.otc:\\s+${ASN_A}\\b`));
  }, 45_000);

  it('provider-peer is no allowed pair (RFC 9234 §4.2): the session is refused with Role Mismatch', async () => {
    writeFileSync(conf, birdConfig(birdLog, 'peer'));
    expect(birdc('configure')).toMatch(/Reconfigur/i);
    const refused = await until('a Role Mismatch', () => {
      const v = peer();
      return v.lastError !== null && /2\/11 Role Mismatch/.test(v.lastError) ? v : null;
    }, 30_000, diagnostics);
    expect(refused.state).not.toBe('Established');
    expect(birdc('show', 'protocols', 'all', 'wgbgp')).toMatch(/role mismatch/i);
    // Retries on both sides keep failing the same way.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(peer().state).not.toBe('Established');
  }, 45_000);
});
