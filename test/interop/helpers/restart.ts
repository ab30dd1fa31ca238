/**
 * For the graceful restart files: a steady ping from LAN A to LAN B (10 a
 * second, one second to answer each) across a restart, whose `stop()` ends
 * it and counts what was lost (their measure of "no forwarding lost", RFC
 * 4724 §1); and the agent run detached (spawnDetachedAgent) so that it can be
 * killed and started again.
 */
import { spawn } from 'node:child_process';
import { LAN_A, LAN_B, type Site } from './site.js';

export interface Pinger {
  /** Ends the ping (SIGINT: it prints its summary) and reads its counts. */
  stop(): Promise<{ sent: number; lost: number }>;
}

/** ping's "N packets transmitted, M received" as sent and lost. */
export function pingLoss(out: string): { sent: number; lost: number } {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (!m) throw new Error(`no ping summary in: ${out}`);
  return { sent: Number(m[1]), lost: Number(m[1]) - Number(m[2]) };
}

export function startPinger(site: Pick<Site, 'nsA'>): Pinger {
  const proc = spawn('ip', ['netns', 'exec', site.nsA, 'ping', '-q', '-i', '0.1', '-W', '1', '-I', LAN_A.addr4, LAN_B.addr4], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGINT');
      await exited;
      return pingLoss(out);
    },
  };
}

/** Whether no process has the pid any more (after a signal to the detached agent): the lab helpers' own. */
export { processGone } from '../../lab/helpers/agents.js';

/** For afterAll: the detached agent killed if it was started and still runs. */
export function killDetachedAgent(pid: number): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
