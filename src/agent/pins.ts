/**
 * The recursion guard (design.md: a learned route never carries a tunnel's
 * own encrypted traffic): each tunnel's endpoint gets a host route of ours
 * via the underlay path the dataplane gives it without our learned routes. It
 * is a tunnel route, so it wins over a learned /32 for the same address, and
 * being the longest match it wins over a learned default or covering prefix;
 * ordinary traffic still uses those. Tunnels to the same endpoint host share
 * one pin.
 */
import type { Logger } from '#lib/log';
import type { FibManager } from '#fib/index';
import type { FibBackend, FibNextHop } from '#fib/types';
import { hostPrefix } from '#fib/pin';
import type { PinRecord } from './managed.js';
import { errorText } from '#lib/error-text';

export class EndpointPins {
  /** Pinned host prefix -> the neighbors whose endpoint it is. */
  private readonly users = new Map<string, Set<string>>();
  /** Neighbor -> the endpoint address pinned for it. */
  private readonly pinned = new Map<string, string>();

  /** The record as last written (JSON), to write only changes. */
  private recorded = '';
  /** Record writes, one after the other (they share a temporary file). */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly fib: FibBackend,
    private readonly fibm: FibManager,
    private readonly log: Logger,
    /** A FIB change is waiting: flush soon. */
    private readonly changed: () => void,
    /** Where the pins are written down (next to the control socket), or null. */
    private readonly store: { read(): Promise<PinRecord[]>; write(pins: PinRecord[]): Promise<void> } | null = null,
  ) {}

  /** The endpoint address pinned for `neighbor`, or null. */
  of(neighbor: string): string | null {
    return this.pinned.get(neighbor) ?? null;
  }

  /** Pins `address` for `neighbor` (moving its pin when it changed); null unpins. */
  async pin(neighbor: string, address: string | null, tunnels: ReadonlySet<string>): Promise<void> {
    if (this.fib.underlayPath === undefined || address === this.of(neighbor)) return;
    this.unpin(neighbor);
    await this.resolve(neighbor, address, tunnels, false);
  }

  /**
   * The underlay changed (a route not ours came or went): every pin is
   * resolved again, past our own pinned route, and moved where its path moved.
   */
  async refresh(tunnels: ReadonlySet<string>): Promise<void> {
    for (const [neighbor, address] of [...this.pinned]) await this.resolve(neighbor, address, tunnels, true);
  }

  private async resolve(neighbor: string, address: string | null, tunnels: ReadonlySet<string>, fresh: boolean): Promise<void> {
    if (this.fib.underlayPath === undefined) return;
    const prefix = address === null ? null : hostPrefix(address);
    if (address === null || prefix === null) return;
    let path: FibNextHop[] | null;
    try {
      path = await this.fib.underlayPath(address, tunnels, fresh);
    } catch (err) {
      this.log.warn({ neighbor, endpoint: address, err: errorText(err) }, 'cannot resolve the endpoint on the underlay');
      return;
    }
    if (path === null || path.length === 0) {
      // A pin already there stays rather than leave the endpoint to a learned route.
      if (!fresh) this.log.warn({ neighbor, endpoint: address }, 'no underlay route to the endpoint: not pinned');
      return;
    }
    const current = this.fibm.wanted(prefix);
    if (fresh && current !== undefined && sameHops(current.nexthops, path)) return;
    this.pinned.set(neighbor, address);
    const users = this.users.get(prefix) ?? new Set<string>();
    users.add(neighbor);
    this.users.set(prefix, users);
    this.fibm.set({ prefix, nexthops: path }, 'tunnel');
    this.touched();
    this.log.info({ neighbor, endpoint: address, via: path }, 'endpoint pinned to its underlay path (recursion guard)');
  }

  unpin(neighbor: string): void {
    const address = this.pinned.get(neighbor);
    this.pinned.delete(neighbor);
    const prefix = address === undefined ? null : hostPrefix(address);
    if (prefix === null) return;
    const users = this.users.get(prefix);
    users?.delete(neighbor);
    if (users && users.size > 0) return;
    this.users.delete(prefix);
    this.fibm.delete(prefix, 'tunnel');
    this.touched();
  }

  /** Every pin goes (keep-on-stop off); resolves once the emptied record is written. */
  clear(): Promise<void> {
    for (const n of [...this.pinned.keys()]) this.unpin(n);
    return this.writing;
  }

  /** A pin came, moved or went: the FIB flushes soon, and the record is written down. */
  private touched(): void {
    this.changed();
    if (!this.store) return;
    const store = this.store;
    const records = this.records();
    const now = JSON.stringify(records);
    if (now === this.recorded) return;
    this.recorded = now;
    this.writing = this.writing.then(() =>
      store.write(records).catch((err: unknown) => this.log.warn({ err: errorText(err) }, 'pins not recorded')),
    );
  }

  /** The pins as they are now, for the record next to the control socket. */
  private records(): PinRecord[] {
    const out: PinRecord[] = [];
    for (const [neighbor, address] of this.pinned) {
      const prefix = hostPrefix(address);
      const route = prefix === null ? undefined : this.fibm.wanted(prefix);
      if (prefix !== null && route !== undefined) out.push({ neighbor, prefix, nexthops: route.nexthops });
    }
    return out;
  }

  /**
   * Pins an earlier run left for neighbors that are gone (deleted from the
   * config while the agent was down) are removed; the dataplane may not show
   * them as ours (VPP). Returns how many.
   */
  async removeForgotten(configured: ReadonlySet<string>): Promise<number> {
    if (!this.store) return 0;
    let recorded: PinRecord[];
    try {
      recorded = await this.store.read();
    } catch {
      return 0;
    }
    const keep = new Set(recorded.filter((r) => configured.has(r.neighbor)).map((r) => r.prefix));
    const gone = recorded.filter((r) => !configured.has(r.neighbor) && !keep.has(r.prefix));
    if (gone.length === 0) return 0;
    let failed: { prefix: string; error: string }[];
    try {
      failed = await this.fibm.between(() =>
        this.fib.apply(gone.map((r) => ({ op: 'delete' as const, prefix: r.prefix, previous: { prefix: r.prefix, nexthops: r.nexthops } }))),
      );
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'pinned endpoint routes of removed neighbors not cleaned up');
      return 0;
    }
    for (const f of failed) this.log.warn(f, 'pinned endpoint route of a removed neighbor not deleted');
    this.log.info({ removed: gone.length - failed.length }, 'pinned endpoint routes of neighbors no longer configured removed');
    return gone.length - failed.length;
  }
}

function sameHops(a: readonly FibNextHop[], b: readonly FibNextHop[]): boolean {
  return a.length === b.length && a.every((h, i) => h.address === b[i]?.address && h.interface === b[i]?.interface);
}
