/**
 * What is done to one neighbor's session at run time: by the operator,
 * `wgbgp neighbor NAME shutdown` / `enable` / `reset` (RFC 4486 Cease
 * subcodes 2 and 4 with an RFC 9003 shutdown communication); by the agent,
 * max-prefix (max-prefix.ts), whose hold-down `enable` ends too. The state
 * lives here, by neighbor name, so it outlasts the session objects a reload
 * replaces.
 */
import type { Clock } from '#lib/clock';
import type { Logger } from '#lib/log';
import type { NeighborAction, NeighborActionJson, NeighborJson } from '#api/types';
import { carriesShutdownCommunication, checkShutdownCommunication, readShutdownCommunication } from '#bgp/wire/index';
import { notificationText } from '#bgp/session/index';
import type { NeighborBgpConfig } from '#config/types';
import type { AgentSession } from './bgp.js';
import { MaxPrefixGuard } from './max-prefix.js';
import { wallTime } from './view.js';

/** What the admin state reads of the agent: looked up at each use, so a reload's new session or config is what it sees. */
export interface AdminContext {
  clock: Clock;
  log: Logger;
  /** The neighbor's session, or null (unknown name, OSPF only). */
  session(name: string): AgentSession | null;
  /** The neighbor's BGP settings in the running config, or null. */
  bgp(name: string): NeighborBgpConfig | null;
  /** Prefixes of the family accepted from the neighbor (Rib.acceptedCount). */
  accepted(name: string, afi: number): number;
}

interface Shutdown {
  message: string | null;
  since: Date;
}

export class NeighborAdmin {
  private readonly shut = new Map<string, Shutdown>();
  private readonly maxPrefix: MaxPrefixGuard;

  constructor(private readonly ctx: AdminContext) {
    this.maxPrefix = new MaxPrefixGuard({ ...ctx, shutDown: (name) => this.shut.has(name) });
  }

  /** Whether the session may run: not shut down by the operator, not held down by max-prefix. */
  mayStart(name: string): boolean {
    return !this.shut.has(name) && !this.maxPrefix.holdsDown(name);
  }

  /** Shut down by the operator (on purpose: not "down" in status, unlike a max-prefix teardown). */
  isShutDown(name: string): boolean {
    return this.shut.has(name);
  }

  /** After each UPDATE the neighbor sent: its accepted prefixes against its max-prefix limits. */
  afterUpdate(name: string): void {
    this.maxPrefix.check(name);
  }

  /** `wgbgp neighbor NAME shutdown|enable|reset`: an empty message is no message. */
  async act(name: string, action: NeighborAction, text?: string): Promise<NeighborActionJson> {
    const session = this.ctx.session(name);
    if (session === null) throw new Error(`no BGP neighbor named ${JSON.stringify(name)}`);
    const message = text === '' ? undefined : text;
    if (message !== undefined) {
      const problem = checkShutdownCommunication(message);
      if (problem !== null) throw new Error(`the message ${problem}`);
    }
    let changed: boolean;
    switch (action) {
      case 'shutdown':
        changed = await this.shutdown(name, session, message ?? null);
        break;
      case 'enable':
        changed = this.enable(name, session);
        break;
      case 'reset':
        if (!this.mayStart(name)) throw new Error(`neighbor ${name} is ${this.shut.has(name) ? 'shut down' : 'held down by max-prefix'}: enable it instead`);
        this.ctx.log.info({ neighbor: name, message: message ?? null }, 'administrative reset (Cease/Administrative Reset, RFC 4486)');
        await session.reset(message);
        changed = true;
        break;
    }
    return { name, action, changed, state: session.state };
  }

  /** RFC 4486 Cease/Administrative Shutdown with the RFC 9003 communication; the session stays down until enable. */
  private async shutdown(name: string, session: AgentSession, message: string | null): Promise<boolean> {
    if (this.shut.has(name)) return false;
    this.shut.set(name, { message, since: this.ctx.clock.wallNow() });
    this.maxPrefix.release(name);
    this.ctx.log.info({ neighbor: name, message }, 'administrative shutdown (Cease/Administrative Shutdown, RFC 4486; RFC 9003 communication)');
    await session.stop(message ?? undefined);
    return true;
  }

  /** Ends a shutdown or a max-prefix hold-down: the session starts again. */
  private enable(name: string, session: AgentSession): boolean {
    const shut = this.shut.delete(name);
    const held = this.maxPrefix.release(name);
    if (!shut && !held) return false;
    this.ctx.log.info({ neighbor: name }, 'neighbor enabled');
    session.start();
    return true;
  }

  /** The fields `neighbors --json` gets from here. */
  view(name: string, session: AgentSession): Pick<NeighborJson, 'adminShutdown' | 'lastNotification' | 'maxPrefix'> {
    const shut = this.shut.get(name);
    const n = session.lastNotification;
    return {
      adminShutdown: shut === undefined ? null : { message: shut.message, since: shut.since.toISOString() },
      lastNotification:
        n === null
          ? null
          : {
              direction: n.direction,
              code: n.code,
              subcode: n.subcode,
              text: notificationText(n.code, n.subcode, n.data),
              communication: carriesShutdownCommunication(n.code, n.subcode) ? readShutdownCommunication(n.data).text : null,
              at: wallTime(this.ctx.clock, n.at),
            },
      maxPrefix: this.maxPrefix.view(name),
    };
  }

  /** With the agent: no timer of a hold-down outlives it. */
  close(): void {
    this.maxPrefix.close();
  }
}
