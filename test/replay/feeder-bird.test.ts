/**
 * The replay feeder against a real BIRD 2, in two namespaces joined by a veth:
 * the feeder CLI (dist/replay/feeder-cli.js) in F, AS 65002, sends a 10 000-route
 * synthetic table (IPv4 and IPv6) to BIRD in R, AS 65001, with no kernel
 * protocol. BIRD must hold every route, with the AS paths (the feeder's AS
 * prepended, RFC 4271 §5.1.2), communities (RFC 1997) and large communities
 * (RFC 8092) the generator made. Under CI=true a missing prerequisite fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedReport } from '#replay/feeder';
import { syntheticTable } from '#replay/synthetic';
import type { RouteGroup } from '#replay/table';
import { cleanupPrefix, createNamespaces, netnsSupported, spawnIn, uniqueName, withVethPair } from '../lab/helpers/netns.js';
import { newestMtime } from '../helpers/fs.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const FEEDER = join(REPO, 'dist', 'replay', 'feeder-cli.js');
const CI = process.env.CI === 'true';

function missing(): string | null {
  if (!netnsSupported()) return 'needs root and `ip netns`';
  for (const bin of ['bird', 'birdc']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status !== 0) return `${bin} is not installed`;
  }
  if (!existsSync(FEEDER)) return `${FEEDER} is missing: npm run build`;
  if (statSync(FEEDER).mtimeMs < newestMtime(join(REPO, 'src', 'replay'))) return `${FEEDER} is older than src/replay: npm run build`;
  return null;
}

const skip = missing();
if (skip !== null && !CI) console.log(`replay/feeder-bird: skipped: ${skip}`);

const R = { asn: 65001, v4: '198.18.0.1', v6: 'fd00:18::1' };
const F = { asn: 65002, v4: '198.18.0.2', v6: 'fd00:18::2' };
const SPEC = { ipv4: 8000, ipv6: 2000, seed: 11 };

async function until(what: string, fn: () => boolean, timeoutMs: number, why: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (fn()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${why()}`);
    await sleep(50);
  }
}

function tail(file: string, lines = 30): string {
  try {
    return `--- ${file}\n${readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')}`;
  } catch {
    return `--- ${file}: (none)`;
  }
}

/** BIRD's text for a standard community value: "(65001,100)". */
const community = (c: number): string => `(${c >>> 16},${c & 0xffff})`;

function largeCommunities(g: RouteGroup): string[] {
  return (g.attributes.largeCommunities ?? []).map((c) => `(${c[0]}, ${c[1]}, ${c[2]})`);
}

describe.skipIf(skip !== null && !CI)('replay feeder -> BIRD 2 (10 000 routes, IPv4 and IPv6)', () => {
  const prefix = uniqueName('rpf');
  const nsF = `${prefix}-f`;
  const nsR = `${prefix}-r`;
  const dir = mkdtempSync(join(tmpdir(), `wgbgp-${prefix}-`));
  const ctl = join(dir, 'bird.ctl');
  const feederLog = join(dir, 'feeder.log');
  const birdc = (...args: string[]): string => execFileSync('birdc', ['-s', ctl, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  let feederPid = 0;
  const diagnostics = (): string => [tail(feederLog), tail(join(dir, 'bird.log')), tail(join(dir, 'bird.out'))].join('\n');

  beforeAll(async () => {
    if (skip !== null) throw new Error(`CI=true and a prerequisite is missing: ${skip}`);
    chmodSync(dir, 0o755);
    await createNamespaces(prefix, ['f', 'r']);
    await withVethPair(nsR, nsF, { addrA: [`${R.v4}/24`, `${R.v6}/64`], addrB: [`${F.v4}/24`, `${F.v6}/64`] });
    const conf = join(dir, 'bird.conf');
    writeFileSync(
      conf,
      `log "${join(dir, 'bird.log')}" all;
router id 192.0.2.1;
protocol device { }
protocol bgp feed {
  local ${R.v4} as ${R.asn};
  neighbor ${F.v4} as ${F.asn};
  passive on;
  ipv4 { import all; export none; };
  ipv6 { import all; export none; };
}
`,
    );
    const parse = spawnSync('bird', ['-p', '-c', conf], { encoding: 'utf8' });
    if (parse.status !== 0) throw new Error(`bird -p: ${parse.stderr}`);
    spawnIn(nsR, ['bird', '-f', '-c', conf, '-s', ctl, '-P', join(dir, 'bird.pid')], { log: join(dir, 'bird.out') });
    await until('BIRD control socket', () => existsSync(ctl), 10_000, diagnostics);
  }, 60_000);

  afterAll(async () => {
    await cleanupPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('the feeder establishes, sends the table and End-of-RIB, and reports it acknowledged', async () => {
    const child = spawnIn(
      nsF,
      [
        process.execPath, FEEDER,
        '--table', `synthetic:${SPEC.ipv4},${SPEC.ipv6}@${SPEC.seed}`,
        '--peer', R.v4, '--local-address', F.v4, '--next-hop6', F.v6,
        '--local-asn', String(F.asn), '--asn', String(R.asn), '--json',
      ],
      { log: feederLog },
    );
    feederPid = child.pid ?? 0;
    let report: FeedReport | undefined;
    await until('the feeder\'s "acked" line', () => {
      const line = readFileSync(feederLog, 'utf8').split('\n').find((l) => l.includes('"event":"acked"'));
      if (line !== undefined) report = JSON.parse(line) as FeedReport;
      return report !== undefined;
    }, 30_000, diagnostics);
    expect(report!.routes).toEqual({ ipv4: SPEC.ipv4, ipv6: SPEC.ipv6 });
    expect(report!.peer).toMatchObject({ address: R.v4, asn: R.asn, bgpId: '192.0.2.1', fourOctetAs: true });
    expect(report!.established).toBeLessThanOrEqual(report!.firstByte);
    expect(report!.firstByte).toBeLessThanOrEqual(report!.written);
    expect(report!.written).toBeLessThanOrEqual(report!.acked);
    // Packed: far fewer UPDATEs than routes, none over 4096 octets (checked by the codec).
    expect(report!.updates).toBeLessThan((SPEC.ipv4 + SPEC.ipv6) / 10);
  });

  it('`birdc show route count` reaches 10 000 (8 000 IPv4 + 2 000 IPv6) and the session stays Established', async () => {
    await until('BIRD holding all routes', () => /^Total: 10000 of 10000 routes/m.test(birdc('show', 'route', 'count')), 20_000, () => birdc('show', 'route', 'count') + diagnostics());
    const count = birdc('show', 'route', 'count');
    expect(count).toMatch(/^8000 of 8000 routes for 8000 networks in table master4$/m);
    expect(count).toMatch(/^2000 of 2000 routes for 2000 networks in table master6$/m);
    expect(birdc('show', 'protocols', 'feed')).toMatch(/feed\s+BGP\s+---\s+up\s+.*Established/);
  });

  it('SIGUSR1 withdraws every route (BIRD holds none, the session stays up), SIGUSR2 announces the table again', async () => {
    const events = (name: string): number => readFileSync(feederLog, 'utf8').split('\n').filter((l) => l.includes(`"event":"${name}"`)).length;
    process.kill(feederPid, 'SIGUSR1');
    await until('BIRD holding no route', () => /^Total: 0 of 0 routes/m.test(birdc('show', 'route', 'count')), 20_000, () => birdc('show', 'route', 'count') + diagnostics());
    await until('the feeder\'s "withdrawn" line', () => events('withdrawn') === 1, 10_000, diagnostics);
    expect(birdc('show', 'protocols', 'feed')).toMatch(/feed\s+BGP\s+---\s+up\s+.*Established/);
    process.kill(feederPid, 'SIGUSR2');
    await until('BIRD holding all routes again', () => /^Total: 10000 of 10000 routes/m.test(birdc('show', 'route', 'count')), 20_000, () => birdc('show', 'route', 'count') + diagnostics());
    await until('the feeder\'s "announced" line', () => events('announced') === 1, 10_000, diagnostics);
    expect(birdc('show', 'protocols', 'feed')).toMatch(/feed\s+BGP\s+---\s+up\s+.*Established/);
  });

  it('a sample of routes in BIRD has the generated AS path (feeder AS first), communities and large communities, and the feeder as next hop', () => {
    const table = syntheticTable(SPEC);
    const withCommunities = table.groups.filter((g) => (g.attributes.communities?.length ?? 0) > 0 && g.ipv4.length > 0).slice(0, 3);
    const withLarge = table.groups.filter((g) => largeCommunities(g).length > 0 && g.ipv6.length > 0).slice(0, 3);
    const plain = table.groups.filter((g) => g.attributes.communities === undefined && g.attributes.largeCommunities === undefined && g.ipv4.length > 0).slice(0, 2);
    expect(withCommunities.length + withLarge.length + plain.length).toBe(8);
    for (const g of [...withCommunities, ...withLarge, ...plain]) {
      for (const p of [g.ipv4[0], g.ipv6[0], g.ipv4.at(-1)]) {
        if (p === undefined) continue;
        const text = birdc('show', 'route', p, 'all');
        const asPath = [F.asn, ...g.attributes.asPath![0]!.asns].join(' ');
        expect(text, p).toContain(`BGP.as_path: ${asPath}\n`);
        expect(text, p).toMatch(p.includes(':') ? new RegExp(`BGP\\.next_hop: ${F.v6}`) : new RegExp(`BGP\\.next_hop: ${F.v4.replaceAll('.', '\\.')}\\n`));
        expect(text, p).toContain(`BGP.origin: ${g.attributes.origin === 0 ? 'IGP' : 'Incomplete'}\n`);
        const communities = g.attributes.communities ?? [];
        if (communities.length > 0) expect(text, p).toContain(`BGP.community: ${communities.map(community).join(' ')}\n`);
        else expect(text, p).not.toContain('BGP.community:');
        const large = largeCommunities(g);
        if (large.length > 0) expect(text, p).toContain(`BGP.large_community: ${large.join(' ')}\n`);
        else expect(text, p).not.toContain('BGP.large_community:');
        if (g.attributes.med !== undefined) expect(text, p).toContain(`BGP.med: ${g.attributes.med}\n`);
      }
    }
  });
});
