/**
 * Max-prefix per neighbor and family (`bgp.max-prefix`, RFC 4486 §4). After
 * each UPDATE the accepted prefixes of each family are read from the RIB's
 * counters (no per-prefix work) and held against the limits: action warning
 * logs once when a limit is crossed and shows it in `neighbors`; action
 * restart sends Cease/Maximum Number of Prefixes Reached with the family and
 * the limit, and keeps the session down for restart-after minutes (or until
 * `wgbgp neighbor NAME enable`). State by neighbor name, like admin.ts.
 */
import type { Clock, TimerHandle } from '#lib/clock';
import type { Logger } from '#lib/log';
import type { NeighborBgpConfig } from '#config/types';
import type { MaxPrefixJson } from '#api/types';
import { AFI_IPV4, AFI_IPV6, CeaseSubcode, SAFI_UNICAST, encodeMaxPrefixData } from '#bgp/wire/index';
import type { AgentSession } from './bgp.js';
import { errorText } from '#lib/error-text';

export interface MaxPrefixContext {
  clock: Clock;
  log: Logger;
  session(name: string): AgentSession | null;
  /** The neighbor's BGP settings in the running config (a reload's limits apply at the next UPDATE). */
  bgp(name: string): NeighborBgpConfig | null;
  /** Prefixes of the family accepted from the neighbor (Rib.acceptedCount). */
  accepted(name: string, afi: number): number;
  /** The operator shut the neighbor down: the end of a hold-down does not start it. */
  shutDown(name: string): boolean;
}

/** A limit that is exceeded (warning), or was when the session was torn down (restart). */
interface Exceeded {
  afi: number;
  limit: number;
  accepted: number;
  since: Date;
}

interface HeldDown {
  exceeded: Exceeded;
  restartAt: Date;
  timer: TimerHandle;
}

const FAMILIES = [AFI_IPV4, AFI_IPV6] as const;

function familyName(afi: number): 'ipv4-unicast' | 'ipv6-unicast' {
  return afi === AFI_IPV6 ? 'ipv6-unicast' : 'ipv4-unicast';
}

export class MaxPrefixGuard {
  /** Action warning: the limit exceeded now (logged once, when it was crossed). */
  private readonly warned = new Map<string, Exceeded>();
  /** Action restart: torn down, reconnecting at restartAt. */
  private readonly held = new Map<string, HeldDown>();

  constructor(private readonly ctx: MaxPrefixContext) {}

  holdsDown(name: string): boolean {
    return this.held.has(name);
  }

  /** Ends a hold-down early (`enable`); true when there was one. The caller starts the session. */
  release(name: string): boolean {
    const h = this.held.get(name);
    if (h === undefined) return false;
    h.timer.cancel();
    this.held.delete(name);
    return true;
  }

  /** After each UPDATE from the neighbor: two counter reads per configured family. */
  check(name: string): void {
    const limits = this.ctx.bgp(name)?.maxPrefix ?? null;
    if (limits === null || this.held.has(name)) return;
    let over: Exceeded | null = null;
    for (const afi of FAMILIES) {
      const limit = afi === AFI_IPV4 ? limits.ipv4 : limits.ipv6;
      if (limit === null) continue;
      const accepted = this.ctx.accepted(name, afi);
      // RFC 4486 §4: "exceeds a locally configured upper bound": the limit itself is allowed.
      if (accepted > limit) {
        over = { afi, limit, accepted, since: this.ctx.clock.wallNow() };
        break;
      }
    }
    const warned = this.warned.get(name);
    if (over === null) {
      if (warned !== undefined) {
        this.warned.delete(name);
        this.ctx.log.info({ neighbor: name, family: familyName(warned.afi), limit: warned.limit }, 'max-prefix: back within the limit');
      }
      return;
    }
    if (limits.action === 'restart') {
      this.holdDown(name, over, limits.restartAfter);
      return;
    }
    if (warned !== undefined && warned.afi === over.afi && warned.limit === over.limit) {
      warned.accepted = over.accepted;
      return;
    }
    this.warned.set(name, over);
    this.ctx.log.warn(
      { neighbor: name, family: familyName(over.afi), accepted: over.accepted, limit: over.limit },
      'max-prefix: limit exceeded (action warning: the session stays up)',
    );
  }

  private holdDown(name: string, over: Exceeded, minutes: number): void {
    const session = this.ctx.session(name);
    if (session === null) return;
    this.warned.delete(name);
    const ms = minutes * 60_000;
    const timer = this.ctx.clock.setTimeout(() => {
      if (this.held.get(name)?.timer !== timer) return;
      this.held.delete(name);
      if (this.ctx.shutDown(name)) return;
      this.ctx.log.info({ neighbor: name }, 'max-prefix: hold-down over, the session starts again');
      this.ctx.session(name)?.start();
    }, ms);
    this.held.set(name, { exceeded: over, restartAt: new Date(this.ctx.clock.wallNow().getTime() + ms), timer });
    this.ctx.log.warn(
      { neighbor: name, family: familyName(over.afi), accepted: over.accepted, limit: over.limit, restartAfterMinutes: minutes },
      'max-prefix: limit exceeded: Cease/Maximum Number of Prefixes Reached sent (RFC 4486 §4); the session stays down until the restart',
    );
    session.cease(CeaseSubcode.MaximumPrefixesReached, encodeMaxPrefixData({ afi: over.afi, safi: SAFI_UNICAST, limit: over.limit })).catch((err: unknown) => {
      this.ctx.log.error({ neighbor: name, err: errorText(err) }, 'max-prefix: the session did not stop');
    });
  }

  /** `neighbors --json` maxPrefix: null when the neighbor has no limit. */
  view(name: string): MaxPrefixJson | null {
    const limits = this.ctx.bgp(name)?.maxPrefix ?? null;
    if (limits === null) return null;
    const family = (limit: number | null, afi: number): { limit: number; accepted: number } | null =>
      limit === null ? null : { limit, accepted: this.ctx.accepted(name, afi) };
    const held = this.held.get(name);
    const exceeded = held?.exceeded ?? this.warned.get(name) ?? null;
    return {
      action: limits.action,
      restartAfter: limits.action === 'restart' ? limits.restartAfter : null,
      ipv4: family(limits.ipv4, AFI_IPV4),
      ipv6: family(limits.ipv6, AFI_IPV6),
      exceeded:
        exceeded === null
          ? null
          : { family: familyName(exceeded.afi), limit: exceeded.limit, accepted: exceeded.accepted, since: exceeded.since.toISOString() },
      restartAt: held?.restartAt.toISOString() ?? null,
    };
  }

  /** With the agent: no hold-down ends in a session start after it stopped. */
  close(): void {
    for (const h of this.held.values()) h.timer.cancel();
    this.held.clear();
  }
}
