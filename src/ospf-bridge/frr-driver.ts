/**
 * The I/O edge to FRR: runs vtysh, applies the plan of frr-config to a
 * running FRR (no restart), verifies it, persists it, and reads OSPF state.
 *
 * One apply is: check the daemons, read the running configuration, plan, then
 * ONE vtysh invocation (`configure terminal`, the commands, `end`, and a
 * `clear … process` when the router-id changed), re-read and re-plan (the
 * plan must now be empty), and `write memory`. vtysh stops at the first
 * command it refuses, so a refusal leaves a prefix applied: the driver then
 * plans back to the owned configuration it read before, and says whether that
 * worked. Calls are serialized (one vtysh at a time from this driver), every
 * call has a timeout, and every text that leaves the driver (logs, errors,
 * the returned commands) has the OSPF keys redacted.
 *
 * `write memory` in FRR 8.4.4 (Debian 12), checked in namespaces:
 * - vtysh.conf with `service integrated-vtysh-config` (Debian's default
 *   /etc/frr/vtysh.conf): vtysh writes the integrated file
 *   <config dir>/frr.conf (/etc/frr/frr.conf; with `-N NS`
 *   /etc/frr/NS/frr.conf, with `--config_dir D -N NS` D/NS/frr.conf), keeps
 *   the old one as frr.conf.sav, and says "Integrated configuration saved to
 *   …" and "[OK]". Without watchfrr it warns "attempting direct configuration
 *   write without watchfrr" and writes the file itself (mode 0640, frr:frr).
 *   With watchfrr running (as under systemd) vtysh hands the write to it, with
 *   the same output but no warning, and watchfrr's own `vtysh -w` writes the
 *   default path (/etc/frr[/NS]/frr.conf) whatever `--config_dir` said.
 *   Daemons do not read frr.conf themselves: frrinit.sh (or `vtysh -b`) loads
 *   it after they start.
 * - `no service integrated-vtysh-config`: every daemon writes its own file,
 *   the one it was started with (`-f`, else /etc/frr[/NS]/<daemon>.conf), with
 *   a .sav copy, and vtysh says "Configuration saved to …" once per daemon.
 * - vtysh.conf silent or missing (a `-N` pathspace has none by default):
 *   integrated when <config dir>[/NS]/frr.conf exists, per daemon otherwise.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '#lib/log';
import {
  isEmptyPlan,
  managedScope,
  ownedPart,
  parseRunningConfig,
  planApply,
  planChanges,
  redact,
  type Plan,
  type PlanContext,
} from './frr-config.js';
import {
  FrrCommandError,
  FrrDesiredError,
  FrrFpmModuleError,
  FrrPersistError,
  FrrTimeoutError,
  FrrUnavailableError,
  FrrVerifyError,
} from './frr-errors.js';
import { secretsOf, validateOspfDesired, type OspfDesired } from './frr-model.js';
import {
  parseDaemons,
  parseOspf6ExternalLsas,
  parseOspf6Neighbors,
  parseOspf6Routes,
  parseOspfExternalLsas,
  parseOspfNeighbors,
  parseOspfRoutes,
  sortRoutes,
  parseRouterId,
  parseVersion,
  pointToPointInterfaces,
  zebraHasFpmModule,
  type OspfExternalLsa,
  type OspfNeighbor,
  type OspfRoute,
} from './frr-show.js';

export interface VtyshResult {
  /** Exit code; null when the process was killed or never started. */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The program (or the first word of the argv prefix) does not exist. */
  notFound: boolean;
}

/** Runs one argv with a timeout; injectable so the driver's logic is tested without FRR. */
export type VtyshRunner = (argv: readonly string[], timeoutMs: number) => Promise<VtyshResult>;

export interface FrrDriverOptions {
  /** Default /usr/bin/vtysh. */
  vtysh?: string;
  /** vtysh `-N`: FRR started with `-N NAME` (sockets in /var/run/frr/NAME/). */
  pathspace?: string | null;
  /** vtysh `--config_dir`: where vtysh.conf and an integrated frr.conf live (the pathspace is appended). */
  configDir?: string | null;
  /** Put before the vtysh argv, e.g. ['ip', 'netns', 'exec', NS] for FRR in a namespace. */
  argvPrefix?: readonly string[];
  /** Per vtysh call; default 10 s. */
  timeoutMs?: number;
  /** `write memory` after a change; default true. */
  persist?: boolean;
  log?: Logger;
  run?: VtyshRunner;
}

export type FrrAvailability =
  | { ok: true; version: string; daemons: string[]; fpmModule: boolean }
  | { ok: false; reason: string };

export interface ApplyResult {
  /** The configuration commands sent (without `configure terminal`/`end`), keys redacted; [] when nothing changed. */
  commands: string[];
  /** Commands run after `end`: `clear ip ospf process` / `clear ipv6 ospf6 process` for a new router-id. */
  exec: string[];
  /** The files `write memory` reported writing ([] when nothing changed or persist is off). */
  persisted: string[];
}

export const DEFAULT_VTYSH = '/usr/bin/vtysh';
const DEFAULT_TIMEOUT_MS = 10_000;

/** vtysh's complaints about a missing vtysh.conf, harmless with a pathspace. */
const NOISE = [/^% Can't open configuration file .*vtysh\.conf.*$/, /^Note: this version of vtysh never writes vtysh\.conf$/];
const REFUSAL = /^%\s*(Unknown command|Invalid input|Command incomplete|Ambiguous command|Configuration failed)/m;

interface ReadState {
  running: string;
  ctx: PlanContext;
}

export class FrrDriver {
  private readonly vtyshPath: string;
  private readonly baseArgs: string[];
  private readonly prefix: readonly string[];
  private readonly timeoutMs: number;
  private readonly persist: boolean;
  private readonly log: Logger | undefined;
  private readonly run: VtyshRunner;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(opts: FrrDriverOptions = {}) {
    this.vtyshPath = opts.vtysh ?? DEFAULT_VTYSH;
    this.baseArgs = [
      ...(opts.pathspace ? ['-N', opts.pathspace] : []),
      ...(opts.configDir ? ['--config_dir', opts.configDir] : []),
    ];
    this.prefix = opts.argvPrefix ?? [];
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.persist = opts.persist ?? true;
    this.log = opts.log;
    this.run = opts.run ?? runProcess;
  }

  /** Whether FRR can take the configuration: plain reasons for `wgbgp status`. */
  available(need: { v4: boolean; v6: boolean } = { v4: true, v6: true }): Promise<FrrAvailability> {
    return this.serialize(() => this.check(need));
  }

  /** The commands an apply would send now (keys redacted); reads only. */
  plan(desired: OspfDesired, previouslyManaged: readonly string[]): Promise<Plan> {
    return this.serialize(async () => {
      const secrets = this.validate(desired);
      const avail = await this.requireAvailable(desired);
      const state = await this.readState(avail.daemons);
      const p = planApply(state.running, desired, previouslyManaged, state.ctx);
      return { config: p.config.map((c) => redact(c, secrets)), exec: p.exec };
    });
  }

  /**
   * Brings FRR's owned configuration to `desired`. `previouslyManaged`: the
   * interfaces the agent managed before (their OSPF lines go when they are no
   * longer desired). Throws an FrrError subclass; never leaves a refused apply
   * half done without saying so (FrrCommandError.rolledBack).
   */
  apply(desired: OspfDesired, previouslyManaged: readonly string[]): Promise<ApplyResult> {
    return this.serialize(async () => {
      const secrets = this.validate(desired);
      const avail = await this.requireAvailable(desired);
      if (desired.fpm !== null && !avail.fpmModule) throw new FrrFpmModuleError();
      const before = await this.readState(avail.daemons);
      const plan = planApply(before.running, desired, previouslyManaged, before.ctx);
      if (isEmptyPlan(plan)) return { commands: [], exec: [], persisted: [] };
      const commands = plan.config.map((c) => redact(c, secrets));
      this.log?.info({ commands, exec: plan.exec }, 'FRR: applying OSPF configuration');

      const argv = plan.config.length > 0 ? ['configure terminal', ...plan.config, 'end', ...plan.exec] : plan.exec;
      const r = await this.vtysh(argv, secrets);
      const refusal = refused(r);
      if (refusal !== null) {
        const rolledBack = await this.rollBack(before.running, managedScope(desired, previouslyManaged), avail.daemons, secrets);
        const text = redact(refusal, secrets);
        this.log?.error({ output: text, rolledBack }, 'FRR: OSPF configuration refused');
        const outcome = rolledBack ? 'rolled back' : 'NOT rolled back: FRR holds part of the change';
        throw new FrrCommandError(`vtysh refused the OSPF configuration (${outcome}): ${text}`, text, rolledBack);
      }

      const after = await this.readState(avail.daemons);
      const left = planApply(after.running, desired, previouslyManaged, after.ctx);
      if (!isEmptyPlan(left)) {
        const remaining = [...left.config, ...left.exec].map((c) => redact(c, secrets));
        this.log?.error({ remaining }, 'FRR: OSPF configuration not in effect after apply');
        throw new FrrVerifyError(`FRR's running configuration still differs after apply: ${remaining.join('; ')}`, remaining);
      }
      const persisted = this.persist ? await this.writeMemory(secrets) : [];
      this.log?.info({ persisted }, 'FRR: OSPF configuration applied');
      return { commands, exec: plan.exec, persisted };
    });
  }

  /** OSPFv2 and OSPFv3 neighbors of the daemons that run; sorted by family, interface, router ID. */
  ospfNeighbors(): Promise<OspfNeighbor[]> {
    return this.serialize(async () => {
      const out: OspfNeighbor[] = [];
      const v4 = await this.show('show ip ospf neighbor json');
      if (v4 !== null) out.push(...parseOspfNeighbors(v4));
      const v6 = await this.show('show ipv6 ospf6 neighbor json');
      if (v6 !== null) out.push(...parseOspf6Neighbors(v6, (await this.show('show ipv6 ospf6 neighbor detail json')) ?? undefined));
      return out;
    });
  }

  /** OSPFv2 and OSPFv3 routes (network routes), sorted by family and prefix. */
  ospfRoutes(): Promise<OspfRoute[]> {
    return this.serialize(async () => {
      const out: OspfRoute[] = [];
      const v4 = await this.show('show ip ospf route json');
      if (v4 !== null) out.push(...parseOspfRoutes(v4));
      // ospf6d prints one JSON key per route entry, so a prefix that has an
      // intra-area route and an external repeats its key, and JSON.parse keeps
      // the last (the external, not the best). The internal tables first, then
      // the rest for the prefixes they do not have.
      const v6 = await this.show('show ipv6 ospf6 route detail json');
      if (v6 !== null) {
        const internal: OspfRoute[] = [];
        for (const kind of ['intra-area', 'inter-area']) {
          const t = await this.show(`show ipv6 ospf6 route ${kind} detail json`);
          if (t !== null) internal.push(...parseOspf6Routes(t));
        }
        const seen = new Set(internal.map((r) => r.prefix));
        out.push(...sortRoutes([...internal, ...parseOspf6Routes(v6).filter((r) => !seen.has(r.prefix))]));
      }
      return out;
    });
  }

  /**
   * The AS-external-LSAs in the databases (OSPFv2, then OSPFv3): what this
   * router and the others redistribute, with the OSPFv3 tags that
   * ospfRoutes() cannot give.
   */
  ospfExternalLsas(): Promise<OspfExternalLsa[]> {
    return this.serialize(async () => {
      const out: OspfExternalLsa[] = [];
      const v4 = await this.show('show ip ospf database external json');
      if (v4 !== null) out.push(...parseOspfExternalLsas(v4));
      const v6 = await this.show('show ipv6 ospf6 database as-external detail json');
      if (v6 !== null) out.push(...parseOspf6ExternalLsas(v6));
      return out;
    });
  }

  /** `show running-config` with every OSPF key in FRR's syntax redacted. */
  runningConfig(): Promise<string> {
    return this.serialize(async () => redact(await this.mustShow('show running-config')));
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }

  private validate(desired: OspfDesired): string[] {
    const issues = validateOspfDesired(desired);
    if (issues.length > 0) throw new FrrDesiredError(issues.map((i) => redact(i, secretsOf(desired))));
    return secretsOf(desired);
  }

  private async requireAvailable(desired: OspfDesired): Promise<{ daemons: string[]; fpmModule: boolean }> {
    const avail = await this.check({ v4: desired.v4, v6: desired.v6 });
    if (!avail.ok) throw new FrrUnavailableError(avail.reason);
    return avail;
  }

  private async check(need: { v4: boolean; v6: boolean }): Promise<FrrAvailability> {
    const version = await this.vtysh(['show version']);
    if (version.notFound) return { ok: false, reason: `FRR is not installed (no ${this.vtyshPath})` };
    const text = output(version);
    if (version.code !== 0) {
      if (/failed to connect to any daemons/.test(text)) return { ok: false, reason: 'FRR is not running (vtysh reaches no daemon)' };
      return { ok: false, reason: `vtysh failed: ${firstLine(text) || `exit ${String(version.code)}`}` };
    }
    const daemons = parseDaemons(await this.mustShow('show daemons'));
    const missing = [
      ['zebra', true],
      ['ospfd', need.v4],
      ['ospf6d', need.v6],
    ] as const;
    for (const [daemon, needed] of missing) {
      if (needed && !daemons.includes(daemon)) return { ok: false, reason: `${daemon} is not running` };
    }
    const fpmModule = zebraHasFpmModule(await this.mustShow('show modules'));
    return { ok: true, version: parseVersion(text) ?? 'unknown', daemons, fpmModule };
  }

  private async readState(daemons: readonly string[]): Promise<ReadState> {
    const running = await this.mustShow('show running-config');
    const pointToPoint = pointToPointInterfaces(await this.mustShow('show interface json'));
    const v4 = daemons.includes('ospfd') ? parseRouterId(await this.mustShow('show ip ospf json'), 'show ip ospf json') : null;
    const v6 = daemons.includes('ospf6d') ? parseRouterId(await this.mustShow('show ipv6 ospf6 json'), 'show ipv6 ospf6 json') : null;
    return { running, ctx: { pointToPoint, effectiveRouterId: { v4, v6 } } };
  }

  /** Best effort: the owned part back to what `runningBefore` had. True when a re-read confirms it. */
  private async rollBack(runningBefore: string, scope: Set<string>, daemons: readonly string[], secrets: readonly string[]): Promise<boolean> {
    try {
      const target = ownedPart(parseRunningConfig(runningBefore), scope);
      const now = await this.readState(daemons);
      const back = planChanges(ownedPart(parseRunningConfig(now.running), scope), target, now.ctx).config;
      if (back.length === 0) return true;
      this.log?.warn({ commands: back.map((c) => redact(c, secrets)) }, 'FRR: rolling back a refused apply');
      const r = await this.vtysh(['configure terminal', ...back, 'end'], secrets);
      if (refused(r) !== null) return false;
      const check = await this.readState(daemons);
      return planChanges(ownedPart(parseRunningConfig(check.running), scope), target, check.ctx).config.length === 0;
    } catch {
      return false;
    }
  }

  private async writeMemory(secrets: readonly string[]): Promise<string[]> {
    const r = await this.vtysh(['write memory'], secrets);
    const text = output(r);
    const files = [...text.matchAll(/^(?:Integrated )?[Cc]onfiguration saved to (\S+)$/gm)].map((m) => m[1]!);
    if (r.code !== 0 || files.length === 0) {
      throw new FrrPersistError(`write memory failed: ${redact(firstLine(text) || `exit ${String(r.code)}`, secrets)}`);
    }
    return files;
  }

  /** A show command's output; null when its daemon is not running. */
  private async show(command: string): Promise<string | null> {
    const r = await this.vtysh([command]);
    if (r.notFound) throw new FrrUnavailableError(`FRR is not installed (no ${this.vtyshPath})`);
    const text = redact(output(r));
    if (r.code === 0) return r.stdout;
    if (/failed to connect to any daemons/.test(text)) throw new FrrUnavailableError('FRR is not running (vtysh reaches no daemon)');
    if (/\bis not running\b/.test(text)) return null;
    throw new FrrCommandError(`vtysh -c '${command}': ${firstLine(text) || `exit ${String(r.code)}`}`, text, false);
  }

  private async mustShow(command: string): Promise<string> {
    const text = await this.show(command);
    if (text === null) throw new FrrUnavailableError(`${command}: the daemon is not running`);
    return text;
  }

  private async vtysh(commands: readonly string[], secrets: readonly string[] = []): Promise<VtyshResult> {
    const argv = [...this.prefix, this.vtyshPath, ...this.baseArgs, ...commands.flatMap((c) => ['-c', c])];
    const r = await this.run(argv, this.timeoutMs);
    if (r.timedOut) {
      const shown = commands.length === 1 ? commands[0]! : `${commands.length} commands`;
      throw new FrrTimeoutError(`vtysh did not answer in ${this.timeoutMs} ms (${redact(shown, secrets)})`);
    }
    // `ip netns exec NS vtysh` reports a missing vtysh itself.
    if (!r.notFound && r.code !== 0 && /exec of "[^"]*" failed: No such file or directory/.test(r.stderr)) {
      return { ...r, notFound: true };
    }
    return r;
  }
}

/** stdout and stderr without vtysh's noise. */
function output(r: VtyshResult): string {
  return `${r.stdout}\n${r.stderr}`
    .split('\n')
    .filter((l) => l.trim() !== '' && !NOISE.some((n) => n.test(l)))
    .join('\n');
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}

/** null when vtysh took every command; otherwise what it said (not yet redacted). */
function refused(r: VtyshResult): string | null {
  const text = output(r);
  if (r.code === 0 && !REFUSAL.test(text)) return null;
  return text === '' ? `exit ${String(r.code)}` : text;
}

/** The default runner: no shell, SIGKILL at the timeout. */
export function runProcess(argv: readonly string[], timeoutMs: number): Promise<VtyshResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.resolve({ code: null, stdout: '', stderr: 'empty argv', timedOut: false, notFound: true });
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let notFound = false;
    let settled = false;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const finish = (code: number | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut, notFound });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      // A program that never started reports here and may not close.
      if (e.code === 'ENOENT') notFound = true;
      stderr += e.message;
      if (child.pid === undefined) finish(null);
    });
    child.on('close', (code) => finish(code));
  });
}
