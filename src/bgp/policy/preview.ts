/**
 * `wgbgp reload --dry-run`: what a neighbor's new chains would do to what it
 * sent and to what it is sent, counted over the RIB's inputs without
 * changing anything (the Rib hands them out: forEachImportInput,
 * forEachExportInput).
 */
import type { PathAttributes } from '#bgp/wire/types';
import type { Route } from '#bgp/rib/types';
import type { CompiledChain, PreparedPolicy } from './engine.js';

export interface PolicyInputs {
  forEachImportInput(peerId: string, fn: (prefix: string, attrs: PathAttributes, nextHop: string | null) => void): boolean | null;
  forEachExportInput(peerId: string, fn: (prefix: string, route: Route | undefined, advertised: boolean) => void): void;
}

/**
 * How many of the peer's paths `policy` would accept and reject. Exact
 * with soft reconfiguration inbound; without, a path the current policy
 * changed is judged with its changes (`exact` false). Paths a built-in
 * check rejects are not counted.
 */
export function previewImport(rib: PolicyInputs, peerId: string, policy: CompiledChain | null): { accept: number; reject: number; exact: boolean } {
  const out = { accept: 0, reject: 0, exact: true };
  const prepared = new Map<PathAttributes, PreparedPolicy>();
  const exact = rib.forEachImportInput(peerId, (prefix, attrs, nextHop) => {
    if (policy === null) {
      out.accept++;
      return;
    }
    let p = prepared.get(attrs);
    if (p === undefined) prepared.set(attrs, (p = policy.prepare(attrs, peerId)));
    if (p.outcome(prefix, 'bgp', nextHop).accept) out.accept++;
    else out.reject++;
  });
  out.exact = exact ?? true;
  return out;
}

/**
 * What `policy` would change in the peer's Adj-RIB-Out: prefixes it would
 * be sent that it has not been (`send`), prefixes it was sent and would not
 * be any more (`stop`), and how many it would be sent in all.
 */
export function previewExport(rib: PolicyInputs, peerId: string, policy: CompiledChain | null): { send: number; stop: number; total: number } {
  const out = { send: 0, stop: 0, total: 0 };
  const prepared = new Map<PathAttributes, PreparedPolicy>();
  rib.forEachExportInput(peerId, (prefix, route, advertised) => {
    let yes = route !== undefined;
    if (route !== undefined && policy !== null) {
      let p = prepared.get(route.attrs);
      if (p === undefined) prepared.set(route.attrs, (p = policy.prepare(route.attrs, peerId)));
      yes = p.outcome(prefix, route.source, route.nextHop).accept;
    }
    if (yes) out.total++;
    if (yes && !advertised) out.send++;
    else if (!yes && advertised) out.stop++;
  });
  return out;
}
