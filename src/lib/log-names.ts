/**
 * The names `wgbgp log-level` takes, apart from the logger itself so the CLI
 * can check its arguments without loading pino.
 */

/** The parts of the agent whose log level can be set on their own (`wgbgp log-level COMPONENT LEVEL`). */
export const LOG_COMPONENTS = ['agent', 'bgp', 'fib', 'wireguard', 'vpp', 'ospf', 'control'] as const;
export type LogComponent = (typeof LOG_COMPONENTS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogComponent(v: string): v is LogComponent {
  return (LOG_COMPONENTS as readonly string[]).includes(v);
}

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}
