/**
 * Default values of the configuration (docs/configuration.md). Kept apart from the
 * schema so the CLI can name the default socket without loading the validator.
 */
export const DEFAULT_CONTROL_SOCKET = '/run/wgbgp/control.sock';
export const DEFAULT_VPP_API_SOCKET = '/run/vpp/api.sock';
export const DEFAULT_LINUX_PROTOCOL = 201;
/** BIRD's kernel protocol uses 32 too: below the 100+ of DHCP clients, above a static route's 0. */
export const DEFAULT_LINUX_METRIC = 32;
export const LINUX_MAIN_TABLE = 254;
export const DEFAULT_HOLD_TIME = 90;
/** Seconds a peer keeps our routes after our session ends (RFC 4724), as BIRD's and FRR's default. */
export const DEFAULT_GRACEFUL_RESTART_TIME = 120;
/** RFC 2328 C.3's suggested HelloInterval and RouterDeadInterval (4 × hello), as FRR's defaults. */
export const DEFAULT_OSPF_HELLO = 10;
export const DEFAULT_OSPF_DEAD = 40;
/** Administrative distance of OSPF routes against BGP's (eBGP 20, iBGP 200), as FRR's and Cisco's. */
export const DEFAULT_OSPF_DISTANCE = 110;
export const DEFAULT_EBGP_DISTANCE = 20;
export const DEFAULT_IBGP_DISTANCE = 200;
/** The tag our BGP routes carry as OSPF externals (our Linux protocol number, easy to spot). */
export const DEFAULT_OSPF_EXTERNAL_TAG = 201;
/** Where the agent listens for zebra's FPM connection (dplane_fpm_nl's default port). */
export const DEFAULT_FPM_LISTEN = '127.0.0.1:2620';
/**
 * Max-prefix for eBGP neighbors without `bgp.max-prefix` (issue 11): above a
 * full table (about 1 M IPv4 and 250 k IPv6 routes in 2026), so only a leak or
 * a misconfiguration reaches them; warning only. iBGP has no limit by default.
 */
export const DEFAULT_EBGP_MAX_PREFIX_IPV4 = 2_000_000;
export const DEFAULT_EBGP_MAX_PREFIX_IPV6 = 500_000;
/** Minutes a session torn down by max-prefix (action restart) stays down, as Cisco's and FRR's restart interval is set in minutes. */
export const DEFAULT_MAX_PREFIX_RESTART_AFTER = 5;
/** BFD (issue 12): 300 ms × 3, so a dead tunnel is detected within 0.9 s (BIRD's and FRR's defaults are slower: 100 ms/1 s × 5, 300 ms × 3). */
export const DEFAULT_BFD_INTERVAL_MS = 300;
export const DEFAULT_BFD_MULTIPLIER = 3;
/**
 * A tunnel's MTU, as wg-quick's and wireguard-go's default: 1500 minus
 * WireGuard's 80 bytes over IPv6 (40 IPv6 + 8 UDP + 32 WireGuard header and tag).
 */
export const DEFAULT_TUNNEL_MTU = 1420;
/** IPv6's minimum link MTU (RFC 8200 §5): every tunnel carries IPv6 (its link-local at least). */
export const MIN_TUNNEL_MTU = 1280;
export const MAX_TUNNEL_MTU = 9000;
/** `bgp.add-path.send`: the most paths per prefix a neighbor may be sent (RFC 7911 sets no limit; the RIB keeps as many per neighbor). */
export const MAX_ADD_PATH_SEND = 16;
