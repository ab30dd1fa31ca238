/**
 * In-process cost of import policy (issue 11): 500 k IPv4 prefixes pushed
 * through Rib.applyUpdate, 100 prefixes per UPDATE sharing attributes as a
 * real table does (a few thousand distinct sets), with no policy and with a
 * typical one (prefix list + community match setting local-pref). Not a
 * test and not `npm run bench`: run it alone on a quiet box,
 *   RIB_POLICY=none|policy RUNS=5 npx vitest run --config bench/scripts/vitest.config.ts
 * and compare the figures of one run.
 */
import { test } from 'vitest';
import { Rib } from '#bgp/rib/index';
import { compileChain } from '#bgp/policy/engine';
import { AsPathSegmentType, MessageType, Origin } from '#bgp/wire/types';
import type { UpdateMessage } from '#bgp/wire/types';
import type { PolicyDefinitions } from '#config/types';

const N = 500_000;
const PER_UPDATE = 100;
const ASN = 65001;

function updates(): UpdateMessage[] {
  const out: UpdateMessage[] = [];
  for (let u = 0; u < N / PER_UPDATE; u++) {
    const nlri: string[] = [];
    for (let k = 0; k < PER_UPDATE; k++) {
      const i = u * PER_UPDATE + k;
      nlri.push(`${1 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24`);
    }
    const set = u % 4000;
    out.push({
      type: MessageType.Update,
      withdrawn: [],
      nlri,
      attributes: {
        origin: Origin.Igp,
        nextHop: '10.255.2.1',
        asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65002, 3000 + (set % 500), 10000 + set] }],
        communities: [65002 * 65536 + (set % 3 === 0 ? 100 : 200)],
      },
    });
  }
  return out;
}

// 2000 prefix-list entries (1-8.0-249.0.0/16 le 24): the policy takes 98 % of the table, a third of it with local-pref 200.
const entries = [];
for (let a = 1; a <= 8; a++) for (let b = 0; b < 250; b++) entries.push({ prefix: `${a}.${b}.0.0/16`, ge: 16, le: 24 });
const DEFS: PolicyDefinitions = {
  prefixLists: { customers: entries },
  asPathLists: {},
  asSets: {},
  communityLists: { prefer: ['65002:100'] },
  policies: {
    typical: {
      terms: [
        { name: 'prefer', match: { prefixList: ['customers'], community: ['prefer'] }, set: { localPref: 200 }, action: 'accept' },
        { name: 'customers', match: { prefixList: ['customers'] }, set: {}, action: 'accept' },
      ],
      default: 'reject',
    },
    outbound: {
      terms: [{ name: 'customers', match: { prefixList: ['customers'] }, set: { prepend: { as: 'own', count: 2 }, community: { add: ['65001:0:1'], remove: [], replace: null } }, action: 'accept' }],
      default: 'reject',
    },
  },
};

const mode = process.env.RIB_POLICY ?? 'none';
const runs = Number(process.env.RUNS ?? 5);

test(`500 k prefixes through Rib.applyUpdate, ${mode}`, () => {
const msgs = updates();
for (let run = 0; run < runs; run++) {
  const rib = new Rib({ asn: ASN, routerId: '192.0.2.1' });
  const peer = {
    id: 'b',
    asn: 65002,
    routerId: '10.0.0.2',
    address: '10.255.2.1',
    localAddressV4: '10.255.2.0',
    localAddressV6: null,
    localLinkLocal: null,
    families: [{ afi: 1, safi: 1 }],
    extendedNextHop: false,
  };
  if (mode === 'policy') rib.addPeer(peer, { import: compileChain(DEFS, ['typical'], ASN, false, 'import'), export: null, softReconfiguration: false });
  else rib.addPeer(peer);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let changes = 0;
  for (const m of msgs) changes += rib.applyUpdate('b', m).length;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1000;
  console.log(`${mode} run ${run + 1}: ${N} prefixes in ${ms.toFixed(0)} ms, CPU ${cpu.toFixed(0)} ms, Loc-RIB ${rib.size}, changes ${changes}, attribute sets ${rib.attributes.size}`);
  // Export: the table to a second peer, with its export policy in policy mode (prefix list + prepend 2 + a large community).
  const out = { ...peer, id: 'c', asn: 65003, address: '10.255.3.1', localAddressV4: '10.255.3.0' };
  if (mode === 'policy') rib.addPeer(out, { import: null, export: compileChain(DEFS, ['outbound'], ASN, false, 'export'), softReconfiguration: false });
  else rib.addPeer(out);
  const e0 = process.cpuUsage();
  const sent = rib.exportFull('c').length;
  const e = process.cpuUsage(e0);
  console.log(`${mode} export ${run + 1}: CPU ${((e.user + e.system) / 1000).toFixed(0)} ms, ${sent} UPDATEs, Adj-RIB-Out ${rib.advertisedCount('c')}`);
}
});
