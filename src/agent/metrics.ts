/**
 * The Prometheus endpoint (`metrics.listen`, off by default). Every figure is
 * read from the agent when scraped — nothing is counted twice, and an agent
 * nobody scrapes pays nothing. Names follow Prometheus conventions (base
 * units, `_total` for counters) under the `wgbgp_` prefix; the list is in
 * docs/operations.md.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { NeighborJson, StatusJson, TunnelJson } from '#api/types';
import type { FibCounters } from '#fib/index';
import type { Logger } from '#lib/log';
import { parseEndpoint } from '#config/fields';
import type { BfdThreadStats } from '#bfd/service';
import { errorText } from '#lib/error-text';

export interface MetricsSource {
  status(): StatusJson;
  neighbors(): NeighborJson[];
  /** As last polled: a scrape never queries the dataplane. */
  tunnelsSeen(): TunnelJson[];
  fibStats(): { counters: FibCounters; pending: number; lagSeconds: number };
  /** VPP only: the API connection. */
  vpp?: () => { connected: boolean; errors: number; timeouts: number; connects: number };
  now(): Date;
  /** The BFD thread's event-loop delay since the last call and its drops; null without BFD. */
  bfdStats?: () => Promise<BfdThreadStats | null>;
}

/** BGP4-MIB's bgpPeerState numbering (RFC 4273): idle(1) … established(6). */
export const SESSION_STATE_NUMBER: Record<string, number> = {
  Idle: 1,
  Connect: 2,
  Active: 3,
  OpenSent: 4,
  OpenConfirm: 5,
  Established: 6,
};

const DATAPLANE_STATES = ['ok', 'degraded', 'down'] as const;

/** A counter whose value is owned elsewhere: set on each scrape (prom-client counters only go up). */
function setCounter(c: Counter<string>, labels: Record<string, string>, value: number): void {
  c.inc(labels, value);
}

export function buildRegistry(src: MetricsSource): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const nb = ['neighbor'] as const;
  const tun = ['neighbor', 'interface'] as const;

  const info = new Gauge({ name: 'wgbgp_info', help: 'Constant 1, labelled with the version, ASN and router id', labelNames: ['version', 'asn', 'router_id'], registers: [registry] });
  const uptime = new Gauge({ name: 'wgbgp_uptime_seconds', help: 'Seconds since the agent started', registers: [registry] });
  const dataplane = new Gauge({ name: 'wgbgp_dataplane_state', help: 'Dataplane state: 1 for the current one of ok, degraded, down', labelNames: ['state'], registers: [registry] });
  const ribRoutes = new Gauge({ name: 'wgbgp_rib_routes', help: 'Prefixes in the Loc-RIB', registers: [registry] });
  const fibRoutes = new Gauge({ name: 'wgbgp_fib_routes', help: 'Routes the agent has in the FIB', registers: [registry] });
  const fibOps = new Counter({ name: 'wgbgp_fib_operations_total', help: 'FIB writes done, by operation', labelNames: ['op'], registers: [registry] });
  const fibFailed = new Counter({ name: 'wgbgp_fib_operation_failures_total', help: 'FIB writes the dataplane refused (retried)', registers: [registry] });
  const fibBatches = new Counter({ name: 'wgbgp_fib_batches_total', help: 'Batches sent to the FIB backend', registers: [registry] });
  const fibBatchErrors = new Counter({ name: 'wgbgp_fib_batch_errors_total', help: 'Batches that failed as a whole (retried)', registers: [registry] });
  const fibPending = new Gauge({ name: 'wgbgp_fib_pending_operations', help: 'RIB changes not yet in the FIB', registers: [registry] });
  const fibLag = new Gauge({ name: 'wgbgp_fib_lag_seconds', help: 'Age of the oldest RIB change not yet in the FIB (0 when in step)', registers: [registry] });
  const refused = new Counter({ name: 'wgbgp_bgp_refused_connections_total', help: 'BGP connections refused without an OPEN (not through a tunnel, wrong source)', labelNames: ['reason'], registers: [registry] });
  const neighborsDown = new Gauge({ name: 'wgbgp_bgp_neighbors_down', help: 'Neighbors expected up and not Established (as `wgbgp status` counts them)', registers: [registry] });

  const state = new Gauge({ name: 'wgbgp_bgp_session_state', help: 'BGP FSM state (RFC 4273 numbering: 1 Idle … 6 Established)', labelNames: nb, registers: [registry] });
  const established = new Gauge({ name: 'wgbgp_bgp_session_established', help: '1 while the session is Established', labelNames: nb, registers: [registry] });
  const sessionUptime = new Gauge({ name: 'wgbgp_bgp_session_uptime_seconds', help: 'Seconds in Established (0 when not)', labelNames: nb, registers: [registry] });
  const flaps = new Counter({ name: 'wgbgp_bgp_session_flaps_total', help: 'Times an Established session went down', labelNames: nb, registers: [registry] });
  const received = new Gauge({ name: 'wgbgp_bgp_prefixes_received', help: 'Prefixes in the Adj-RIB-In', labelNames: nb, registers: [registry] });
  const accepted = new Gauge({ name: 'wgbgp_bgp_prefixes_accepted', help: 'Prefixes import accepted', labelNames: nb, registers: [registry] });
  const advertised = new Gauge({ name: 'wgbgp_bgp_prefixes_advertised', help: 'Prefixes advertised to the neighbor', labelNames: nb, registers: [registry] });
  const stale = new Gauge({ name: 'wgbgp_bgp_prefixes_stale', help: 'Prefixes kept stale while the neighbor is away (RFC 4724, RFC 9494), long-lived ones included', labelNames: nb, registers: [registry] });
  const sendQueue = new Gauge({ name: 'wgbgp_bgp_send_queue_bytes', help: 'Octets written to the session socket and not yet taken by the kernel', labelNames: nb, registers: [registry] });
  const owed = new Gauge({ name: 'wgbgp_bgp_prefixes_owed', help: 'Prefixes the neighbor is owed an UPDATE for while it reads slower than the changes come (RFC 4271 §9.2)', labelNames: nb, registers: [registry] });
  const behind = new Counter({ name: 'wgbgp_bgp_send_behind_total', help: 'Times changes for the neighbor found more than the high mark waiting in its socket', labelNames: nb, registers: [registry] });
  const longLivedStale = new Gauge({ name: 'wgbgp_bgp_prefixes_long_lived_stale', help: 'Of those, the long-lived stale ones (RFC 9494: LLGR_STALE, least preferred)', labelNames: nb, registers: [registry] });
  const updatesIn = new Counter({ name: 'wgbgp_bgp_updates_received_total', help: 'UPDATE messages received', labelNames: nb, registers: [registry] });
  const updatesOut = new Counter({ name: 'wgbgp_bgp_updates_sent_total', help: 'UPDATE messages sent', labelNames: nb, registers: [registry] });
  const messagesIn = new Counter({ name: 'wgbgp_bgp_messages_received_total', help: 'BGP messages received', labelNames: nb, registers: [registry] });
  const messagesOut = new Counter({ name: 'wgbgp_bgp_messages_sent_total', help: 'BGP messages sent', labelNames: nb, registers: [registry] });

  const tunnelUp = new Gauge({ name: 'wgbgp_tunnel_up', help: '1 while the tunnel interface is up', labelNames: tun, registers: [registry] });
  const handshakeAge = new Gauge({ name: 'wgbgp_tunnel_handshake_age_seconds', help: 'Seconds since the latest WireGuard handshake (absent: none yet)', labelNames: tun, registers: [registry] });
  const rx = new Counter({ name: 'wgbgp_tunnel_receive_bytes_total', help: 'Bytes received from the peer (absent where the dataplane does not count: VPP)', labelNames: tun, registers: [registry] });
  const tx = new Counter({ name: 'wgbgp_tunnel_transmit_bytes_total', help: 'Bytes sent to the peer (absent where the dataplane does not count: VPP)', labelNames: tun, registers: [registry] });

  const vppConnected = src.vpp ? new Gauge({ name: 'wgbgp_vpp_connected', help: '1 while the VPP API connection is up', registers: [registry] }) : null;
  const vppErrors = src.vpp ? new Counter({ name: 'wgbgp_vpp_api_errors_total', help: 'VPP API replies with a negative retval', registers: [registry] }) : null;
  const vppTimeouts = src.vpp ? new Counter({ name: 'wgbgp_vpp_api_timeouts_total', help: 'VPP API requests without a reply in time', registers: [registry] }) : null;
  const vppConnects = src.vpp ? new Counter({ name: 'wgbgp_vpp_connects_total', help: 'VPP API connections made (1 + reconnects)', registers: [registry] }) : null;

  const bfdUp = new Gauge({ name: 'wgbgp_bfd_session_up', help: '1 while the neighbor\'s BFD session is Up (absent: BFD off for it)', labelNames: nb, registers: [registry] });
  const bfdDelay = new Gauge({
    name: 'wgbgp_bfd_thread_event_loop_delay_max_seconds',
    help: 'Longest event-loop delay of the BFD worker thread since the previous scrape (0 without BFD sessions)',
    registers: [registry],
  });
  const bfdDropped = new Counter({
    name: 'wgbgp_bfd_packets_dropped_total',
    help: 'BFD packets dropped before reaching a session, by reason (ttl: RFC 5881 GTSM, wrong-path, no-session, malformed ones by the check that failed)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const perScrape = [bfdUp, bfdDelay, bfdDropped, info, uptime, dataplane, ribRoutes, fibRoutes, fibOps, fibFailed, fibBatches, fibBatchErrors, fibPending, fibLag, refused, neighborsDown, state, established, sessionUptime, flaps, received, accepted, advertised, stale, longLivedStale, sendQueue, owed, behind, updatesIn, updatesOut, messagesIn, messagesOut, tunnelUp, handshakeAge, rx, tx];
  for (const m of [vppConnected, vppErrors, vppTimeouts, vppConnects]) if (m !== null) perScrape.push(m);

  // One snapshot of the agent per scrape fills every metric (consistent figures, one read of each source).
  const fill = (bfd: BfdThreadStats | null): void => {
    for (const m of perScrape) m.reset();
    const status = src.status();
    const neighbors = src.neighbors();
    const tunnels = src.tunnelsSeen();
    info.set({ version: status.version, asn: String(status.asn), router_id: status.routerId }, 1);
    uptime.set(status.uptimeSeconds);
    for (const s of DATAPLANE_STATES) dataplane.set({ state: s }, status.dataplane.state === s ? 1 : 0);
    ribRoutes.set(status.routes.rib);
    fibRoutes.set(status.routes.fib);
    neighborsDown.set(status.neighbors.down);
    setCounter(refused, { reason: 'not-through-tunnel' }, status.bgp.refused.notThroughTunnel);
    setCounter(refused, { reason: 'wrong-source' }, status.bgp.refused.wrongSource);
    const fib = src.fibStats();
    for (const op of ['add', 'replace', 'delete'] as const) setCounter(fibOps, { op }, fib.counters[op]);
    setCounter(fibFailed, {}, fib.counters.failed);
    setCounter(fibBatches, {}, fib.counters.batches);
    setCounter(fibBatchErrors, {}, fib.counters.batchErrors);
    fibPending.set(fib.pending);
    fibLag.set(fib.lagSeconds);
    for (const n of neighbors) {
      const l = { neighbor: n.name };
      state.set(l, SESSION_STATE_NUMBER[n.state] ?? 0);
      established.set(l, n.state === 'Established' ? 1 : 0);
      sessionUptime.set(l, n.uptimeSeconds ?? 0);
      setCounter(flaps, l, n.flaps);
      received.set(l, n.prefixesReceived);
      accepted.set(l, n.prefixesAccepted);
      advertised.set(l, n.prefixesAdvertised);
      stale.set(l, n.staleRoutes?.routes ?? 0);
      longLivedStale.set(l, (n.staleRoutes?.longLived ?? []).reduce((sum, f) => sum + f.routes, 0));
      if (n.sendQueue) {
        sendQueue.set(l, n.sendQueue.octets);
        owed.set(l, n.sendQueue.owedPrefixes);
        setCounter(behind, l, n.sendQueue.timesBehind);
      }
      setCounter(updatesIn, l, n.updatesReceived);
      setCounter(updatesOut, l, n.updatesSent);
      setCounter(messagesIn, l, n.messagesReceived);
      setCounter(messagesOut, l, n.messagesSent);
      if (n.bfd) bfdUp.set(l, n.bfd.state === 'Up' ? 1 : 0);
    }
    if (bfd !== null) {
      bfdDelay.set(bfd.maxDelayMs / 1000);
      for (const [reason, n] of Object.entries(bfd.dropped)) setCounter(bfdDropped, { reason }, n);
    }
    const now = src.now().getTime();
    for (const t of tunnels) {
      const l = { neighbor: t.name, interface: t.interface };
      // A dataplane that is down cannot vouch for its tunnels (VPP restarting).
      tunnelUp.set(l, t.up && status.dataplane.state !== 'down' ? 1 : 0);
      if (t.latestHandshake !== null) handshakeAge.set(l, Math.max(0, (now - Date.parse(t.latestHandshake)) / 1000));
      if (t.rxBytes !== null) setCounter(rx, l, t.rxBytes);
      if (t.txBytes !== null) setCounter(tx, l, t.txBytes);
    }
    const vpp = src.vpp?.();
    if (vpp) {
      vppConnected?.set(vpp.connected ? 1 : 0);
      if (vppErrors) setCounter(vppErrors, {}, vpp.errors);
      if (vppTimeouts) setCounter(vppTimeouts, {}, vpp.timeouts);
      if (vppConnects) setCounter(vppConnects, {}, vpp.connects);
    }
  };
  return Object.assign(registry, {
    /** One consistent snapshot per scrape. */
    async scrape(): Promise<string> {
      fill((await src.bfdStats?.()) ?? null);
      return registry.metrics();
    },
  });
}

export type MetricsRegistry = ReturnType<typeof buildRegistry> & { scrape(): Promise<string> };

/** The HTTP side: GET /metrics, and a plain page at / pointing there. */
export class MetricsServer {
  private server: Server | null = null;
  private readonly registry: MetricsRegistry;

  constructor(
    src: MetricsSource,
    private readonly listen: string,
    private readonly log: Logger,
  ) {
    this.registry = buildRegistry(src) as MetricsRegistry;
  }

  async start(): Promise<void> {
    const ep = parseEndpoint(this.listen);
    if (typeof ep === 'string') throw new Error(`metrics.listen: ${ep}`);
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/metrics') {
        this.registry
          .scrape()
          .then((body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(req.method === 'HEAD' ? undefined : body))
          .catch((err: unknown) => {
            this.log.error({ err: errorText(err) }, 'metrics scrape failed');
            res.writeHead(500).end();
          });
        return;
      }
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('wgbgp: metrics at /metrics\n');
        return;
      }
      res.writeHead(404).end();
    });
    // A scraper holds its connection open between scrapes; it must not keep a stopping agent alive.
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(err.code === 'EADDRINUSE' ? `metrics.listen: ${this.listen} is in use by another process` : `metrics.listen: ${this.listen}: ${err.message}`)),
      );
      server.listen({ host: ep.host, port: ep.port }, () => resolve());
    });
    server.on('error', (err) => this.log.error({ err: err.message }, 'metrics endpoint error'));
    this.server = server;
    this.log.info({ listen: this.listen }, 'metrics endpoint listening');
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s === null) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
