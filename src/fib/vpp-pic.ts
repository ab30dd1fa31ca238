/**
 * Prefix-independent failover (PIC) in the VPP FIB: the agent's indirection
 * tables and the host routes in them, one per neighbor next hop.
 *
 * A learned route's path is not "via NH on wgN" but recursive: "via NH,
 * resolved in table T, resolve-via-host" (sw_if_index ~0, table_id T,
 * FIB_API_PATH_FLAG_RESOLVE_VIA_HOST: src/vnet/fib/fib_types.api). T is ours
 * and holds, for every next hop in use, the host route "NH/32 (/128) via NH
 * on wgN". All routes through one neighbor recurse through that one entry,
 * so deleting it moves them all at once: VPP marks every recursive path
 * through it unresolved (with resolve-via-host an entry held only by the
 * recursive-resolution source does not resolve: fib_path.c,
 * fib_path_recursive_adj_update), the load-balance the routes share with it is
 * restacked on a drop in place, and the walk of the shared path lists
 * (fib_path_list.c: an async walk for lists with many children) rebuilds each
 * route's forwarding from its resolved paths of the best preference left
 * (fib_entry_src.c, fib_entry_src_collect_forwarding: the first resolved
 * path's preference wins, paths sorted by preference). A route's backup is
 * written as paths of preference 1, so it takes over; a route without one
 * drops (no path into the dead tunnel either way).
 *
 * Two tables, not one: VPP tells paths apart by type, next-hop proto,
 * address and (recursive) table only; weight and preference are not part of
 * a path's identity (fib_path.c, fib_path_cmp_i: "different weights and/or
 * preference only are the same path"), so with the multipath forms (the only
 * ones that leave an operator's paths alone) a path cannot change its
 * preference in place: adding NH at preference 0 where NH is at preference 1
 * is a duplicate VPP ignores, and removing it removes both. Primary paths
 * therefore resolve in PIC_PRIMARY (preference 0) and backup paths in
 * PIC_BACKUP (preference 1): the same neighbor as a primary and as a backup
 * are two different paths, and a backup becoming the best (the RIB catching
 * up after a failover) is an add of the new path, then a removal of the old
 * ones, never a moment without a path. Both tables hold the same host routes.
 *
 * Ownership: the tables are created by the agent (ip_table_add_del, with
 * their names) for both families, and are the agent's: when a table with one
 * of these ids exists under another name (an operator's VRF), or
 * dataplane.vpp.table-id is one of them, PIC is off and routes are written
 * with direct paths as before. Host routes are written with the non-multipath
 * form (the table is ours: "this entry is exactly this path"). At every
 * connect the tables' host routes are read back (adopted), never duplicated.
 */
import type { Logger } from '#lib/log';
import { hostPrefix } from '#lib/prefix';
import {
  asNumber as num,
  asRecord as rec,
  fromVppAddressUnion,
  fromVppPrefix,
  toVppPrefix,
  vnetApiErrorName,
  VppApiError,
  type VppClient,
  type VppRecord,
} from '#vpp/index';
import { fibPath, NH_PROTO_IP4, NH_PROTO_IP6, PATH_TYPE_NORMAL } from './vpp-writes.js';

export interface PicTable {
  readonly id: number;
  readonly name: string;
  /** The preference of the paths that resolve in it. */
  readonly preference: 0 | 1;
}

/** Where primary paths resolve (preference 0). */
export const PIC_PRIMARY: PicTable = { id: 1_790_179_001, name: 'wgbgp-pic', preference: 0 };
/** Where backup paths resolve (preference 1). */
export const PIC_BACKUP: PicTable = { id: 1_790_179_002, name: 'wgbgp-pic-backup', preference: 1 };
export const PIC_TABLES: readonly PicTable[] = [PIC_PRIMARY, PIC_BACKUP];

/** vl_api_fib_path_flags_t FIB_API_PATH_FLAG_RESOLVE_VIA_HOST. */
export const FLAG_RESOLVE_VIA_HOST = 2;

const NO_INDEX = 0xffffffff;

/**
 * What VPP puts into a table it creates (ip4_create_fib_with_table_id,
 * ip6_create_fib_with_table_id): the default route and the specials, all
 * dropping. Checked against VPP 26.06 (test/vpp/real-vpp.test.ts).
 */
const TABLE_SPECIALS: ReadonlySet<string> = new Set(['0.0.0.0/0', '0.0.0.0/32', '224.0.0.0/4', '240.0.0.0/4', '255.255.255.255/32', '::/0', 'fe80::/10']);

/** The PIC table a recursive path's table_id names, or undefined. */
export function picTableOf(tableId: number): PicTable | undefined {
  return tableId === PIC_PRIMARY.id ? PIC_PRIMARY : tableId === PIC_BACKUP.id ? PIC_BACKUP : undefined;
}

/** A next hop a route's recursive path needs in the PIC tables. */
export interface PicNeed {
  readonly address: string;
  readonly sw: number;
}

interface PicHost {
  sw: number;
  /** In both tables, as far as the agent knows. */
  installed: boolean;
  /**
   * Taken out by a failover (withdraw): stays out, whatever is written
   * through it, until restore() (the neighbor's session is back).
   */
  withdrawn: boolean;
}

export interface PicTablesDeps {
  log: Logger;
  /** dataplane.vpp.table-id (it must not be one of ours). */
  tableId: number;
  /** Whether an sw_if_index is a tunnel of this agent now (a host via another one is stale). */
  alive(sw: number): boolean;
  report?(key: string, problem: string | null): void;
}


/** "NH/32 via NH on sw" as VPP dumps it: [address, sw], or null for anything else. */
function decodeHost(route: VppRecord): [string, number] | null {
  const paths = Array.isArray(route.paths) ? route.paths : [];
  if (paths.length !== 1) return null;
  const p = rec(paths[0]);
  const sw = num(p.sw_if_index);
  const proto = num(p.proto);
  if (num(p.type) !== PATH_TYPE_NORMAL || sw === NO_INDEX || (proto !== NH_PROTO_IP4 && proto !== NH_PROTO_IP6)) return null;
  try {
    const prefix = fromVppPrefix(route.prefix);
    const address = fromVppAddressUnion(rec(p.nh).address, proto === NH_PROTO_IP6 ? 1 : 0);
    return prefix === hostPrefix(address) ? [address, sw] : null;
  } catch {
    return null;
  }
}

export class PicTables {
  /** Null: in use; else why not (status shows it). */
  private off: string | null = 'VPP not loaded yet';
  /** By next-hop address (one tunnel per address: tunnel subnets do not overlap, link-locals are per key pair). */
  private readonly hosts = new Map<string, PicHost>();
  /** Bumped whenever a host route leaves: lists found complete before look again. */
  generation = 0;

  constructor(private readonly deps: PicTablesDeps) {}

  get enabled(): boolean {
    return this.off === null;
  }

  /** Why PIC is off, or null. */
  get reason(): string | null {
    return this.off;
  }

  /**
   * On every connect: checks the tables are ours (or absent), creates the
   * missing ones, and adopts the host routes in them. PIC stays off (with the
   * reason reported) when they cannot be ours.
   */
  async load(client: VppClient): Promise<void> {
    this.hosts.clear();
    this.generation++;
    this.off = 'loading';
    const disable = (why: string): void => {
      this.off = why;
      this.deps.log.warn({ reason: why }, 'PIC failover off: routes are written with direct paths');
      this.deps.report?.('pic', `PIC failover off: ${why}`);
    };
    if (picTableOf(this.deps.tableId)) return disable(`dataplane.vpp.table-id ${this.deps.tableId} is one of the agent's PIC tables (${PIC_PRIMARY.id}, ${PIC_BACKUP.id})`);
    if (!client.has('ip_table_dump') || !client.has('ip_table_details')) return disable('this VPP lacks ip_table_dump (the agent cannot tell its tables are its own)');
    const existing = new Set<string>();
    for (const d of await client.dump('ip_table_dump')) {
      const t = rec(d.table);
      const mine = picTableOf(num(t.table_id));
      if (!mine) continue;
      const family = t.is_ip6 === true ? 6 : 4;
      const name = typeof t.name === 'string' ? t.name : '';
      if (name !== mine.name) return disable(`VPP table ${mine.id} (IPv${family}) exists as "${name}", not the agent's "${mine.name}"`);
      existing.add(`${family}:${mine.id}`);
    }
    try {
      const creates: Promise<VppRecord>[] = [];
      for (const t of PIC_TABLES) {
        for (const isIp6 of [false, true]) {
          if (!existing.has(`${isIp6 ? 6 : 4}:${t.id}`)) creates.push(client.request('ip_table_add_del', { is_add: true, table: { table_id: t.id, is_ip6: isIp6, name: t.name } }));
        }
      }
      await Promise.all(creates);
    } catch (err) {
      if (err instanceof VppApiError) return disable(`creating the PIC tables failed: ${err.message}`);
      throw err;
    }
    // Adoption: the host routes found in both tables (VPP's own entries there — default, specials,
    // recursive-resolution entries with their cover's drop path — are not host routes via a tunnel).
    const seen = new Map<string, { sw: number; tables: number }>();
    for (const [i, t] of PIC_TABLES.entries()) {
      const dumps = await Promise.all([false, true].map((isIp6) => client.dump('ip_route_dump', { table: { table_id: t.id, is_ip6: isIp6, name: '' } })));
      for (const d of dumps.flat()) {
        const host = decodeHost(rec(d.route));
        if (!host) continue;
        const [address, sw] = host;
        const s = seen.get(address);
        if (!s) seen.set(address, { sw, tables: 1 << i });
        else if (s.sw === sw) s.tables |= 1 << i;
        else s.tables = 0; // two interfaces: written again when used
      }
    }
    for (const [address, s] of seen) this.hosts.set(address, { sw: s.sw, installed: s.tables === 3, withdrawn: false });
    this.off = null;
    this.deps.report?.('pic', null);
    this.deps.log.info({ hosts: this.hosts.size, tables: PIC_TABLES.map((t) => t.id) }, 'PIC tables ready');
  }

  /** VPP went away. */
  lost(): void {
    this.hosts.clear();
    this.generation++;
    this.off = 'VPP not connected';
  }

  /** The tunnel a next hop's host route goes through, as last written or adopted. */
  swOf(address: string): number | undefined {
    return this.hosts.get(address)?.sw;
  }

  /** Next hops whose host routes go through `sw`. */
  addressesVia(sw: number): string[] {
    const out: string[] = [];
    for (const [address, h] of this.hosts) if (h.sw === sw) out.push(address);
    return out;
  }

  /**
   * 'ok': installed; 'missing': to be written (never, or via a tunnel that
   * is gone); 'withdrawn': out since a failover of its tunnel, not to be
   * written before restore(); 'conflict': another live tunnel of ours has
   * this next hop.
   */
  state(need: PicNeed): 'ok' | 'missing' | 'withdrawn' | 'conflict' {
    const h = this.hosts.get(need.address);
    if (!h) return 'missing';
    if (h.sw !== need.sw) return h.installed && this.deps.alive(h.sw) ? 'conflict' : 'missing';
    return h.installed ? 'ok' : h.withdrawn ? 'withdrawn' : 'missing';
  }

  /** Writes the host routes of `needs` into both tables. Returns the errors by address. */
  async install(client: VppClient, needs: Iterable<PicNeed>): Promise<Map<string, string>> {
    const errors = new Map<string, string>();
    await Promise.all(
      [...needs].map(async ({ address, sw }) => {
        try {
          await Promise.all(PIC_TABLES.map((t) => this.writeHost(client, t, address, sw)));
          this.hosts.set(address, { sw, installed: true, withdrawn: false });
        } catch (err) {
          if (!(err instanceof VppApiError)) throw err;
          errors.set(address, `${vnetApiErrorName(err.retval)} (${err.retval})`);
        }
      }),
    );
    if (errors.size > 0) this.deps.log.warn({ errors: Object.fromEntries(errors) }, 'PIC host routes not written');
    return errors;
  }

  /**
   * Failover: the host routes through `sws` leave both tables (every route
   * recursing through them moves to its backup or drops), and stay out until
   * restore(): the RIB withdraws the dead neighbor's paths in steps, and a
   * write meanwhile of a route still through one of them (its backup
   * changed) must not send every route not yet withdrawn back into the dead
   * tunnel. Returns how many next hops went.
   */
  async withdraw(client: VppClient, sws: ReadonlySet<number>): Promise<number> {
    const gone: string[] = [];
    for (const [address, h] of this.hosts) if (h.installed && sws.has(h.sw)) gone.push(address);
    if (gone.length === 0) return 0;
    this.generation++;
    await Promise.all(
      gone.map(async (address) => {
        await Promise.all(PIC_TABLES.map((t) => this.deleteHost(client, t, address)));
        const h = this.hosts.get(address);
        if (h) {
          h.installed = false;
          h.withdrawn = true;
        }
      }),
    );
    return gone.length;
  }

  /**
   * The tunnels `sws` carry traffic again (their neighbors' sessions are
   * back): the host routes a failover withdrew through them (withdraw) go
   * back into both tables, and every route still recursing through them
   * resolves again. Returns the errors by address (no longer withdrawn: the
   * next write of a route through such a next hop tries again).
   */
  async restore(client: VppClient, sws: ReadonlySet<number>): Promise<{ restored: number; errors: Map<string, string> }> {
    const back: PicNeed[] = [];
    for (const [address, h] of this.hosts) {
      if (h.installed || !sws.has(h.sw)) continue;
      h.withdrawn = false;
      back.push({ address, sw: h.sw });
    }
    if (back.length === 0) return { restored: 0, errors: new Map() };
    const errors = await this.install(client, back);
    return { restored: back.length - errors.size, errors };
  }

  /** The tunnel `sw` is being deleted: its host routes go for good. Returns their next hops. */
  async purge(client: VppClient, sw: number): Promise<string[]> {
    const gone = this.addressesVia(sw);
    if (gone.length === 0) return gone;
    this.generation++;
    await Promise.all(
      gone.map(async (address) => {
        await Promise.all(PIC_TABLES.map((t) => this.deleteHost(client, t, address)));
        if (this.hosts.get(address)?.sw === sw) this.hosts.delete(address);
      }),
    );
    return gone;
  }

  /**
   * The agent stops (VppFib.close): the tables go when nothing is in them but
   * what VPP put there when they were created (TABLE_SPECIALS): no host route
   * of ours or anyone's, no route of an operator, and no recursive-resolution
   * entry (a route, ours or not, still resolving through them: with
   * keep-on-stop our routes stay and so do the tables). Deleting a table
   * flushes every API route in it (ip_table_delete), so anything else found
   * keeps both. Returns what was done, or why not.
   */
  async dropIfUnused(client: VppClient): Promise<'deleted' | 'in use' | 'not ours'> {
    if (!this.enabled) return 'not ours';
    for (const h of this.hosts.values()) if (h.installed) return 'in use';
    const dumps = await Promise.all(
      PIC_TABLES.flatMap((t) => [false, true].map((isIp6) => client.dump('ip_route_dump', { table: { table_id: t.id, is_ip6: isIp6, name: '' } }))),
    );
    for (const d of dumps.flat()) {
      let prefix: string;
      try {
        prefix = fromVppPrefix(rec(d.route).prefix);
      } catch {
        return 'in use';
      }
      if (!TABLE_SPECIALS.has(prefix)) {
        this.deps.log.info({ tables: PIC_TABLES.map((t) => t.id), entry: prefix }, 'PIC tables kept: not empty');
        return 'in use';
      }
    }
    this.off = 'deleted at stop';
    this.hosts.clear();
    this.generation++;
    await Promise.all(
      PIC_TABLES.flatMap((t) => [false, true].map((isIp6) => client.request('ip_table_add_del', { is_add: false, table: { table_id: t.id, is_ip6: isIp6, name: t.name } }))),
    );
    this.deps.log.info({ tables: PIC_TABLES.map((t) => t.id) }, 'PIC tables deleted');
    return 'deleted';
  }

  private async writeHost(client: VppClient, t: PicTable, address: string, sw: number): Promise<void> {
    await client.request('ip_route_add_del', {
      is_add: true,
      is_multipath: false,
      route: { table_id: t.id, prefix: toVppPrefix(hostPrefix(address)), paths: [fibPath(address, { sw })] },
    });
  }

  private async deleteHost(client: VppClient, t: PicTable, address: string): Promise<void> {
    await client.request('ip_route_add_del', {
      is_add: false,
      is_multipath: false,
      route: { table_id: t.id, prefix: toVppPrefix(hostPrefix(address)), paths: [] },
    });
  }
}
