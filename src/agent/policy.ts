/**
 * The operator's policies as the agent applies them: chains compiled from
 * the configuration per neighbor, what a reload changed per neighbor and
 * direction, and the attributes an `announce` entry carries.
 */
import { compileChain } from '#bgp/policy/engine';
import { previewExport, previewImport } from '#bgp/policy/preview';
import { communityAttributes } from '#bgp/policy/community-text';
import type { PeerPolicies, Rib } from '#bgp/rib/index';
import type { LocRibChange } from '#bgp/rib/index';
import type { PathAttributes } from '#bgp/wire/types';
import type { Logger } from '#lib/log';
import type { RefreshStatus } from './refresh.js';
import type { PolicyDryRunJson } from '#api/types';
import type { Config, NeighborConfig, PolicyDefinitions } from '#config/types';
import type { FibNextHop } from '#fib/types';
import { prefixListMatches } from '#config/fields';

const EMPTY: PolicyDefinitions = { prefixLists: {}, asPathLists: {}, asSets: {}, communityLists: {}, policies: {} };

function chainNames(cfg: NeighborConfig, direction: 'import' | 'export'): string[] {
  return cfg.bgp?.[direction] ?? [];
}

/** RFC 8212 applies to external sessions only. */
function required(config: Config, cfg: NeighborConfig): boolean {
  return (config.requirePolicy ?? false) && cfg.bgp !== null && cfg.bgp.asn !== config.router.asn;
}

/** A neighbor's import and export chains, compiled (null where it has none and none is required). */
export function peerPolicies(config: Config, cfg: NeighborConfig): PeerPolicies {
  const defs = config.policy ?? EMPTY;
  const req = required(config, cfg);
  return {
    import: compileChain(defs, chainNames(cfg, 'import'), config.router.asn, req, 'import'),
    export: compileChain(defs, chainNames(cfg, 'export'), config.router.asn, req, 'export'),
    softReconfiguration: cfg.bgp?.softReconfigurationInbound ?? false,
  };
}

/**
 * Everything a neighbor's chain in one direction depends on, as text: two
 * configurations with the same text treat its routes the same way. The
 * policies it names and the lists and sets their terms name, not the rest.
 */
export function chainSignature(config: Config, cfg: NeighborConfig, direction: 'import' | 'export'): string {
  const defs = config.policy ?? EMPTY;
  const names = chainNames(cfg, direction);
  const used: Record<string, unknown> = {};
  for (const name of names) {
    const p = defs.policies[name];
    used[`policy:${name}`] = p ?? null;
    for (const t of p?.terms ?? []) {
      const m = t.match;
      for (const l of [...(m.prefixList ?? []), ...(m.nextHop ?? [])]) used[`prefix:${l}`] = defs.prefixLists[l] ?? null;
      for (const l of m.asPath ?? []) used[`as-path:${l}`] = defs.asPathLists[l] ?? null;
      for (const l of m.community ?? []) used[`community:${l}`] = defs.communityLists[l] ?? null;
      for (const l of [...(m.asPathContains ?? []), ...(m.originAs ?? [])]) if (typeof l === 'string') used[`as-set:${l}`] = defs.asSets[l] ?? null;
    }
  }
  // RFC 8212 matters only to a neighbor without a chain: switching it on asks nothing of the others.
  return JSON.stringify({ names, required: names.length === 0 && required(config, cfg), used });
}

/** What a reload changed in a neighbor's policies. */
export interface PolicyChange {
  import: boolean;
  export: boolean;
  /** bgp.soft-reconfiguration-inbound switched. */
  soft: boolean;
}

export function policyChange(prev: Config, next: Config, before: NeighborConfig, after: NeighborConfig): PolicyChange {
  return {
    import: chainSignature(prev, before, 'import') !== chainSignature(next, after, 'import'),
    export: chainSignature(prev, before, 'export') !== chainSignature(next, after, 'export'),
    soft: (before.bgp?.softReconfigurationInbound ?? false) !== (after.bgp?.softReconfigurationInbound ?? false),
  };
}

/** The communities an `announce` entry gives its prefix (undefined: none). */
export function announceAttributes(config: Config, prefix: string): PathAttributes | undefined {
  const c = config.announceCommunities?.[prefix];
  return c === undefined || c.length === 0 ? undefined : communityAttributes(c);
}

/** `neighbors`: the chains, and what RFC 8212 does to a neighbor without one. */
export function policyView(config: Config, cfg: NeighborConfig): { import: string[]; export: string[]; softReconfigurationInbound: boolean; note: string | null } {
  const imp = chainNames(cfg, 'import');
  const exp = chainNames(cfg, 'export');
  const req = required(config, cfg);
  const missing = [imp.length === 0 ? 'accepts nothing (no import policy)' : null, exp.length === 0 ? 'is sent nothing (no export policy)' : null].filter((x) => x !== null);
  return {
    import: imp,
    export: exp,
    softReconfigurationInbound: cfg.bgp?.softReconfigurationInbound ?? false,
    note: req && missing.length > 0 ? `bgp.require-policy (RFC 8212): ${missing.join(' and ')}` : null,
  };
}

/** What applying a policy change needs of the agent. */
export interface PolicyReloadTarget {
  readonly rib: Rib;
  readonly log: Logger;
  /** Loc-RIB changes into the FIB and out to the other neighbors. */
  queue(changes: LocRibChange[]): void;
  /**
   * Its Adj-RIB-Out looked at again and the differences sent, paced by its
   * socket; nothing while its session is not Established or its initial
   * export waits (it gets the whole table then).
   */
  reexport(name: string): void;
  refreshInbound(name: string): RefreshStatus;
}

/**
 * A reload changed the neighbor's policies; the session stays up. Export:
 * the Adj-RIB-Out is recomputed and only the differences sent. Import: with
 * soft reconfiguration inbound the paths are evaluated again from their
 * pre-policy copies; without, the neighbor is asked to send them again
 * (ROUTE-REFRESH, RFC 2918) for every negotiated family. A neighbor that
 * cannot refresh is never reset for it: the new policy applies to what it
 * sends from now on, and the log says how to apply it to the rest.
 * Not Established: nothing to do, the chains are compiled when it comes up.
 */
export function applyPolicyReload(t: PolicyReloadTarget, config: Config, cfg: NeighborConfig, change: PolicyChange): void {
  const name = cfg.name;
  if (!t.rib.hasPeer(name)) return;
  const p = peerPolicies(config, cfg);
  if (change.export) {
    t.rib.setExportPolicy(name, p.export);
    t.reexport(name);
  }
  if (!change.import && !change.soft) return;
  const hadCopies = t.rib.keepsPrePolicy(name);
  t.queue(t.rib.setImportPolicy(name, p.import, p.softReconfiguration));
  if (!change.import) return;
  if (hadCopies) {
    t.log.info({ neighbor: name }, 'import policy changed: paths evaluated again from their pre-policy copies (soft reconfiguration inbound)');
    return;
  }
  const r = t.refreshInbound(name);
  if (r === 'sent') t.log.info({ neighbor: name }, 'import policy changed: ROUTE-REFRESH sent (RFC 2918), the routes are evaluated as they come');
  else if (r === 'not-supported') {
    t.log.warn({ neighbor: name }, `import policy changed, but the neighbor cannot refresh (no route refresh capability) and soft-reconfiguration-inbound is off: the new policy applies to new UPDATEs only, until \`wgbgp neighbor ${name} reset\``);
  }
}

/**
 * `reload --dry-run` for one established neighbor the reload keeps: what
 * its new chains would accept and reject of what it sent, and send and stop
 * sending of our table. Nothing changes.
 */
export function previewPolicies(rib: Rib, prev: Config, next: Config, before: NeighborConfig, after: NeighborConfig): PolicyDryRunJson {
  const name = after.name;
  const change = policyChange(prev, next, before, after);
  const p = peerPolicies(next, after);
  const imp = previewImport(rib, name, p.import);
  const exp = previewExport(rib, name, p.export);
  return {
    name,
    import: { changed: change.import, acceptedNow: rib.acceptedCount(name), accept: imp.accept, reject: imp.reject, exact: imp.exact },
    export: { changed: change.export, advertisedNow: rib.advertisedCount(name), ...exp },
  };
}

/**
 * Per neighbor name, which redistributed OSPF routes it is sent
 * (bgp.advertise-ospf); a neighbor without it is sent none. `ospfRoute`
 * reads OSPF's next hops for a prefix at each use.
 */
export function ospfExportFilters(config: Config, ospfRoute: (prefix: string) => readonly FibNextHop[] | undefined): Map<string, (prefix: string) => boolean> {
  const out = new Map<string, (prefix: string) => boolean>();
  for (const cfg of config.neighbors) {
    const adv = cfg.bgp?.advertiseOspf ?? null;
    if (adv === null) continue;
    const list = adv.prefixes;
    const matches = list === null ? () => true : (prefix: string) => prefixListMatches(list, prefix);
    // Split horizon: a route OSPF reaches through this neighbor's tunnel is not sent back to it.
    out.set(cfg.name, (prefix) => matches(prefix) && !ospfVia(ospfRoute(prefix), cfg.interface));
  }
  return out;
}

/** Whether every next hop of OSPF's route goes out of `iface`. */
function ospfVia(nexthops: readonly FibNextHop[] | undefined, iface: string): boolean {
  return nexthops !== undefined && nexthops.length > 0 && nexthops.every((h) => h.interface === iface);
}
