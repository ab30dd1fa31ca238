import { libc } from '#lib/libc';

/**
 * systemd Type=notify (sd_notify(3)): datagrams to $NOTIFY_SOCKET. Node has
 * no AF_UNIX datagram sockets, so libc is called through koffi. Without
 * $NOTIFY_SOCKET (not under systemd) nothing is sent.
 */
export function sdNotify(state: string): boolean {
  const path = process.env.NOTIFY_SOCKET;
  if (!path) return false;
  const c = libc();
  const AF_UNIX = 1;
  const SOCK_DGRAM_CLOEXEC = 2 | 0o2000000;
  // struct sockaddr_un: sa_family_t (u16) + path; '@' means the abstract namespace.
  const name = Buffer.from(path.startsWith('@') ? `\0${path.slice(1)}` : path);
  const addr = Buffer.alloc(2 + name.length + 1);
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  const fd = c.socket(AF_UNIX, SOCK_DGRAM_CLOEXEC, 0);
  if (fd < 0) return false;
  try {
    const msg = Buffer.from(state);
    const len = path.startsWith('@') ? 2 + name.length : addr.length;
    return c.sendto(fd, msg, msg.length, 0, addr, len) >= 0;
  } finally {
    c.close(fd);
  }
}

/**
 * What the daemon tells systemd over its life: READY=1 with a one-line
 * STATUS= once started, STATUS= again whenever the summary changes,
 * RELOADING=1 with MONOTONIC_USEC= then READY=1 around a reload, STOPPING=1,
 * and WATCHDOG=1 from the event loop at half of WatchdogSec when the unit
 * sets one (a stuck loop stops sending and systemd restarts the agent).
 */
export class SystemdNotifier {
  private lastStatus = '';
  private watchdog: NodeJS.Timeout | null = null;

  constructor(private readonly send: (state: string) => boolean = sdNotify) {}

  ready(status: string): void {
    this.lastStatus = status;
    this.send(`READY=1\nSTATUS=${status}`);
  }

  status(status: string): void {
    if (status === this.lastStatus) return;
    this.lastStatus = status;
    this.send(`STATUS=${status}`);
  }

  /** sd_notify(3): RELOADING=1 carries the monotonic time, so systemd can order it (Type=notify-reload). */
  reloading(): void {
    const usec = process.hrtime.bigint() / 1000n;
    this.send(`RELOADING=1\nMONOTONIC_USEC=${usec}`);
  }

  stopping(): void {
    this.stopWatchdog();
    this.send('STOPPING=1');
  }

  /** Starts WATCHDOG=1 pings when systemd asks for them ($WATCHDOG_USEC, for this PID). */
  startWatchdog(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | null {
    const usec = Number(env.WATCHDOG_USEC);
    if (!Number.isFinite(usec) || usec <= 0) return null;
    if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return null;
    const every = Math.max(1, Math.floor(usec / 2000));
    this.send('WATCHDOG=1');
    this.watchdog = setInterval(() => this.send('WATCHDOG=1'), every);
    this.watchdog.unref();
    return every;
  }

  stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }
}
