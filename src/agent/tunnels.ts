/**
 * The neighbors' tunnels as the agent keeps them: set up (and set up again
 * after a failure, at the next poll), polled for their status (handshake,
 * roamed endpoint, liveness, endpoints given as DNS names), and shown to
 * `wgbgp tunnels` and the metrics as the last poll saw them. The agent
 * owns the neighbors; this reads and acts through TunnelWatchContext.
 */
import type { Clock } from '#lib/clock';
import type { Logger } from '#lib/log';
import type { TunnelSpec, WireguardBackend } from '#wg/types';
import type { TunnelJson } from '#api/types';
import { endpointAddress } from '#fib/pin';
import { errorText } from '#lib/error-text';
import type { AgentState, Neighbor } from './neighbor.js';
import type { EndpointNames } from './endpoints.js';
import type { EndpointPins } from './pins.js';
import type { Liveness } from './bfd.js';
import type { AgentTelemetry } from './telemetry.js';

export interface TunnelWatchContext extends Pick<AgentState, 'neighbors' | 'config' | 'stopping'> {
  wireguard: Pick<WireguardBackend, 'kind' | 'ensure' | 'status'>;
  clock: Clock;
  log: Logger;
  endpoints: Pick<EndpointNames, 'apply' | 'previous' | 'poll' | 'view'>;
  pins: Pick<EndpointPins, 'of' | 'pin'>;
  liveness: Pick<Liveness, 'bfdJson' | 'check'>;
  telemetry: Pick<AgentTelemetry, 'handshake'>;
  /** A tunnel could not be set up: the dataplane's status says so. */
  failed(detail: string): void;
  /** A tunnel set up after a failure: its host routes and pins, refused meanwhile, go at the next flush. */
  kick(): void;
}

export class TunnelWatch {
  /** Neighbors whose tunnel setup failed: poll() tries again. */
  private readonly retry = new Set<string>();

  constructor(private readonly ctx: TunnelWatchContext) {}

  /** The interfaces of the neighbors' tunnels. */
  interfaces(): Set<string> {
    return new Set([...this.ctx.neighbors()].map((x) => x.spec.interface));
  }

  /** The neighbor is gone: no retry of its tunnel. */
  forget(name: string): void {
    this.retry.delete(name);
  }

  /** Sets the tunnel up (or converges it from `previous`); a failure is tried again at the next poll. */
  async ensure(spec: TunnelSpec, previous: TunnelSpec | null): Promise<void> {
    try {
      // The backends see IP literals only: a name is replaced by its address (or none while it does not resolve).
      const before = this.ctx.endpoints.previous(previous);
      const result = await this.ctx.wireguard.ensure(await this.ctx.endpoints.apply(spec), before);
      this.ctx.log.info({ neighbor: spec.name, interface: spec.interface, result }, 'tunnel ready');
      if (this.retry.delete(spec.name)) {
        // Its host routes and pins were refused while the interface was missing: written now.
        this.ctx.kick();
      }
    } catch (err) {
      this.ctx.failed(`tunnel ${spec.interface}: ${errorText(err)}`);
      this.ctx.log.error({ neighbor: spec.name, err: errorText(err) }, 'tunnel setup failed; tried again at the next tunnel poll');
      this.retry.add(spec.name);
    }
  }

  /** Each neighbor's tunnel status: the handshake, a roamed endpoint's pin, liveness, DNS names, the first handshake's turn to active BGP. */
  async poll(): Promise<void> {
    for (const n of this.ctx.neighbors()) {
      // A tunnel whose setup failed (wireguard-go slow to answer, the dataplane not ready) is set up again.
      if (this.retry.has(n.cfg.name) && !this.ctx.stopping()) await this.ensure(n.spec, null);
      try {
        const st = await this.ctx.wireguard.status(n.spec);
        if (!st) {
          n.tunnel = null;
          continue;
        }
        if (st.latestHandshake && !n.firstHandshakeSeen) n.firstHandshakeSeen = st.latestHandshake;
        const handshake = st.latestHandshake ? st.latestHandshake.toISOString() : null;
        if (handshake !== null && handshake !== n.tunnel?.latestHandshake) this.ctx.telemetry.handshake(n.cfg.name, n.cfg.interface, st.endpoint);
        // A roamed (or first learned) endpoint gets its own pinned underlay route.
        const endpoint = endpointAddress(st.endpoint);
        if (endpoint !== null && endpoint !== this.ctx.pins.of(n.cfg.name)) await this.ctx.pins.pin(n.cfg.name, endpoint, this.interfaces());
        n.tunnel = {
          name: n.cfg.name,
          interface: n.cfg.interface,
          dataplaneInterface: st.dataplaneInterface,
          publicKey: n.cfg.publicKey,
          endpoint: st.endpoint,
          latestHandshake: handshake,
          up: st.up,
          rxBytes: st.rxBytes,
          txBytes: st.txBytes,
          mtu: n.cfg.mtu,
          ...this.ctx.endpoints.view(n.cfg.name),
          ...this.liveness(n, st.latestHandshake),
        };
        if (!this.ctx.stopping()) await this.reresolve(n, st);
        if (n.awaitingHandshake && st.latestHandshake) {
          // design.md: passive towards a neighbor without endpoint until its first handshake.
          n.awaitingHandshake = false;
          if (n.cfg.bgp !== null && !n.cfg.bgp.passive) n.session?.setPassive(false);
          this.ctx.log.info({ neighbor: n.cfg.name, endpoint: st.endpoint }, 'first handshake: BGP turns active');
        }
      } catch (err) {
        // Unknown is not up: the metrics and `tunnels` must not show a tunnel the dataplane cannot vouch for.
        if (n.tunnel !== null) n.tunnel = { ...n.tunnel, up: false };
        this.ctx.log.debug({ neighbor: n.cfg.name, err: errorText(err) }, 'tunnel status unavailable');
      }
    }
  }

  /**
   * Handshake age and BFD for `tunnels`. VPP gives no handshake time (only an
   * established flag, whose time is when the agent saw it), so there the age
   * says nothing: null.
   */
  private liveness(n: Neighbor, latestHandshake: Date | null): Pick<TunnelJson, 'alive' | 'aliveReason' | 'bfd'> {
    const bfd = this.ctx.liveness.bfdJson(n.cfg.name)?.state ?? null;
    if (this.ctx.wireguard.kind === 'vpp') return { alive: null, aliveReason: null, bfd };
    // BGP keepalives (a hold time above 0) or a persistent keepalive make a live tunnel handshake every 2 minutes or so.
    const bgpKeepalive = n.negotiated?.keepaliveTime ?? Math.floor((n.cfg.bgp?.holdTime ?? 0) / 3);
    const every = [bgpKeepalive, n.cfg.persistentKeepalive].filter((k) => k > 0);
    const keepaliveS = every.length === 0 ? null : Math.min(...every);
    const l = this.ctx.liveness.check(n.cfg.name, latestHandshake, { sessionUp: n.negotiated !== null, keepaliveS });
    if (l === null) return { alive: null, aliveReason: 'idle tunnel: no keepalives (hold time 0, no persistent-keepalive), the handshake age says nothing', bfd };
    return { alive: l.alive, aliveReason: l.reason, bfd };
  }

  /** An endpoint given as a DNS name that is due for a lookup; a new address goes to this tunnel's peer only. */
  private async reresolve(n: Neighbor, st: { endpoint: string | null; latestHandshake: Date | null }): Promise<void> {
    // VPP tells only that a peer is established (its latestHandshake is when the agent first saw that): established is recent.
    const seen = this.ctx.wireguard.kind === 'vpp' && st.latestHandshake !== null ? { ...st, latestHandshake: this.ctx.clock.wallNow() } : st;
    const change = await this.ctx.endpoints.poll(n.spec, seen, this.ctx.config().wireguard.reresolveAfter);
    if (n.tunnel !== null) n.tunnel = { ...n.tunnel, ...this.ctx.endpoints.view(n.cfg.name) };
    if (change === null) return;
    try {
      const result = await this.ctx.wireguard.ensure(change.next, change.previous);
      if (n.tunnel !== null) n.tunnel = { ...n.tunnel, endpoint: change.next.endpoint };
      this.ctx.log.info({ neighbor: n.cfg.name, interface: n.cfg.interface, endpoint: change.next.endpoint, result }, 'endpoint set from its name');
    } catch (err) {
      this.ctx.log.error({ neighbor: n.cfg.name, err: errorText(err) }, 'cannot set the re-resolved endpoint; tried again at the next tunnel poll');
      this.retry.add(n.cfg.name);
    }
  }

  /** The tunnels as the last poll saw them (the metrics read these; a scrape does not query the dataplane). */
  seen(): TunnelJson[] {
    return [...this.ctx.neighbors()].map(
      (n) =>
        n.tunnel ?? {
          name: n.cfg.name,
          interface: n.cfg.interface,
          dataplaneInterface: n.cfg.interface,
          publicKey: n.cfg.publicKey,
          endpoint: null,
          latestHandshake: null,
          up: false,
          rxBytes: null,
          txBytes: null,
          mtu: n.cfg.mtu,
          ...this.ctx.endpoints.view(n.cfg.name),
          alive: this.ctx.wireguard.kind === 'vpp' ? null : false,
          aliveReason: this.ctx.wireguard.kind === 'vpp' ? null : 'no tunnel status',
          bfd: this.ctx.liveness.bfdJson(n.cfg.name)?.state ?? null,
        },
    );
  }
}
