import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export { LOG_COMPONENTS, LOG_LEVELS, isLogComponent, isLogLevel, type LogComponent, type LogLevel } from './log-names.js';
import { LOG_COMPONENTS, isLogComponent, type LogComponent, type LogLevel } from './log-names.js';

/**
 * Log levels per component, changeable while the agent runs. Every logger
 * made below the root is seen here (pino's onChild), so a per-neighbor child
 * made before the change follows it as well as one made after.
 */
export class LogLevels {
  private readonly children = new Set<WeakRef<Logger>>();
  private readonly current = new Map<LogComponent, LogLevel>();

  constructor(private readonly initial: string) {}

  /** For pino's `onChild`. */
  track(child: Logger): void {
    const component = child.bindings().component;
    if (typeof component !== 'string' || !isLogComponent(component)) return;
    // A child made from a component's logger already has its level; one made from the root gets it here.
    const level = this.current.get(component);
    if (level !== undefined) child.level = level;
    if (this.children.size >= 1024) this.prune();
    this.children.add(new WeakRef(child));
  }

  set(component: LogComponent, level: LogLevel): void {
    this.current.set(component, level);
    for (const ref of this.children) {
      const child = ref.deref();
      if (child === undefined) this.children.delete(ref);
      else if (child.bindings().component === component) child.level = level;
    }
  }

  levels(): Record<LogComponent, string> {
    const out = {} as Record<LogComponent, string>;
    for (const c of LOG_COMPONENTS) out[c] = this.current.get(c) ?? this.initial;
    return out;
  }

  private prune(): void {
    for (const ref of this.children) if (ref.deref() === undefined) this.children.delete(ref);
  }
}

/**
 * JSON logs (one object per line, for journald and log shippers); a human format
 * when stderr is a terminal. Private keys never reach a logger: specs carry them
 * as bytes and are logged only through their names. With `levels`, every child
 * logger is registered there so `wgbgp log-level` reaches it.
 */
export function createLogger(opts: { level?: string; name?: string; levels?: LogLevels } = {}): Logger {
  const level = opts.level ?? initialLogLevel();
  const base: LoggerOptions = { level, name: opts.name };
  const levels = opts.levels;
  if (levels) base.onChild = (child) => levels.track(child);
  if (process.stderr.isTTY) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino(base, pino.destination(2));
}

/** The level the agent starts with (WGBGP_LOG_LEVEL, default info). */
export function initialLogLevel(): string {
  return process.env.WGBGP_LOG_LEVEL ?? 'info';
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
