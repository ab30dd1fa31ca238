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
