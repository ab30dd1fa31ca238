/**
 * Default values of the configuration (docs/configuration.md). Kept apart from the
 * schema so the CLI can name the default socket without loading the validator.
 */
export const DEFAULT_CONTROL_SOCKET = '/run/wgbgp/control.sock';
export const DEFAULT_VPP_API_SOCKET = '/run/vpp/api.sock';
export const DEFAULT_LINUX_PROTOCOL = 201;
export const LINUX_MAIN_TABLE = 254;
export const DEFAULT_HOLD_TIME = 90;
