import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs (one object per line, for journald and log shippers); a human format
 * when stderr is a terminal. Private keys never reach a logger: specs carry them
 * as bytes and are logged only through their names.
 */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  const level = opts.level ?? process.env.WGBGP_LOG_LEVEL ?? 'info';
  if (process.stderr.isTTY) {
    return pino({
      level,
      name: opts.name,
      transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino({ level, name: opts.name }, pino.destination(2));
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
