/**
 * The agent's import and export policies of the *-policy interop files
 * (FRR, GoBGP, OpenBGPD: the same operator policy against each peer), and the
 * edit of the agent's config a reload then picks up.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import type { Site } from './site.js';

/**
 * `from-b`: LOCAL_PREF 200 on B's LANs tagged 65002:100, B's other LANs as
 * they are, anything else rejected; `to-b`: our routes prepended twice with
 * large community 65001:0:1. The `-v2` policies are what a reload switches
 * to: LOCAL_PREF 300 on the tagged route; 65001:0:2 (and MED `v2Med`, when
 * given) on ours.
 */
export function peerPolicies(v2Med?: number): Record<string, unknown> {
  return {
    policy: {
      'prefix-lists': { 'b-lans': ['10.2.0.0/16 le 24'] },
      'community-lists': { prefer: ['65002:100'] },
      policies: {
        'from-b': {
          terms: [
            { name: 'prefer', match: { 'prefix-list': 'b-lans', community: 'prefer' }, set: { 'local-pref': 200 }, action: 'accept' },
            { name: 'lans', match: { 'prefix-list': 'b-lans' }, action: 'accept' },
          ],
          default: 'reject',
        },
        'from-b-v2': { terms: [{ name: 'prefer', match: { community: 'prefer' }, set: { 'local-pref': 300 }, action: 'accept' }], default: 'accept' },
        'to-b': { terms: [{ name: 'ours', set: { prepend: 2, community: { add: ['65001:0:1'] } }, action: 'accept' }] },
        'to-b-v2': { terms: [{ name: 'ours', set: { ...(v2Med === undefined ? {} : { med: v2Med }), community: { add: ['65001:0:2'] } }, action: 'accept' }] },
      },
    },
  };
}

/** The agent's config file with its (first) neighbor's import and/or export chain replaced; `wgbgp reload` applies it. */
export function setNeighborPolicies(site: Pick<Site, 'agentConfig'>, chains: { import?: string; export?: string }): void {
  const cfg = parse(readFileSync(site.agentConfig, 'utf8')) as { neighbors: { bgp: Record<string, unknown> }[] };
  if (chains.import !== undefined) cfg.neighbors[0]!.bgp.import = chains.import;
  if (chains.export !== undefined) cfg.neighbors[0]!.bgp.export = chains.export;
  writeFileSync(site.agentConfig, stringify(cfg));
}
