/**
 * The FRR driver's logic against a scripted vtysh (no FRR needed): argv,
 * one invocation per apply, refusal → rollback, verification, persistence,
 * plain availability reasons, timeouts, serialization, and that no key ever
 * leaves the driver in an error or a log line. frr-live.test.ts runs the
 * same driver against real FRR.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FrrDriver, type VtyshResult } from '#ospf/frr-driver';
import {
  FrrCommandError,
  FrrDesiredError,
  FrrFpmModuleError,
  FrrPersistError,
  FrrTimeoutError,
  FrrUnavailableError,
  FrrVerifyError,
} from '#ospf/frr-errors';
import type { OspfDesired } from '#ospf/frr-model';
import { renderFrrConfig } from '#ospf/frr-render';

const FIXTURES = new URL('../fixtures/frr/', import.meta.url).pathname;
const fixture = (name: string): string => readFileSync(`${FIXTURES}${name}`, 'utf8');
const VTYSH = '/usr/bin/vtysh';
const MD5 = 'md5-secret-1';
const SHA = 'sha-secret-22';

function desired(over: Partial<OspfDesired> = {}): OspfDesired {
  return {
    routerId: '192.0.2.1',
    referenceBandwidth: null,
    v4: true,
    v6: true,
    redistribute: { kernel: null, static: null },
    fpm: null,
    interfaces: [
      {
        name: 'wg0',
        area: '0.0.0.0',
        cost: 10,
        helloInterval: 1,
        deadInterval: 4,
        passive: false,
        network: 'point-to-point',
        v4: true,
        v6: true,
        auth: { v2: { type: 'md5', keyId: 1, key: MD5 }, v3: { keyId: 2, key: SHA, algorithm: 'hmac-sha-256' } },
      },
    ],
    ...over,
  };
}

const running = (body: string): string => `Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\n!\n${body}end\n`;
const ok = (stdout = ''): VtyshResult => ({ code: 0, stdout, stderr: '', timedOut: false, notFound: false });

/** A scripted vtysh: answers show commands from its fields; `configure` runs onConfigure. */
class FakeVtysh {
  readonly invocations: string[][] = [];
  readonly argvs: string[][] = [];
  running = running('');
  daemons = ' zebra ospfd ospf6d\n';
  modules = fixture('show-modules.txt');
  interfaces = '{}';
  routerId: { v4: string | null; v6: string | null } = { v4: null, v6: null };
  writeOutput = 'Building Configuration...\nConfiguration saved to /etc/frr/zebra.conf\nConfiguration saved to /etc/frr/ospfd.conf\n';
  onConfigure: (commands: string[]) => VtyshResult = () => ok();
  routesV6 = fixture('ospf6d-route-detail.json');
  routesV6Intra = fixture('ospf6d-route-detail.json');
  active = 0;
  maxActive = 0;
  delayMs = 0;

  readonly run = async (argv: readonly string[]): Promise<VtyshResult> => {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      this.argvs.push([...argv]);
      const commands: string[] = [];
      argv.forEach((a, i) => {
        if (a === '-c') commands.push(argv[i + 1]!);
      });
      this.invocations.push(commands);
      return this.answer(commands);
    } finally {
      this.active--;
    }
  };

  private answer(commands: string[]): VtyshResult {
    const first = commands[0] ?? '';
    if (first === 'configure terminal' || first.startsWith('clear ')) return this.onConfigure(commands);
    const id = (v: string | null): string => (v === null ? '' : JSON.stringify({ routerId: v }));
    const table: Record<string, string> = {
      'show version': fixture('show-version.txt'),
      'show daemons': this.daemons,
      'show modules': this.modules,
      'show running-config': this.running,
      'show interface json': this.interfaces,
      'show ip ospf json': id(this.routerId.v4),
      'show ipv6 ospf6 json': id(this.routerId.v6),
      'write memory': this.writeOutput,
      'show ip ospf neighbor json': fixture('ospfd-neighbor.json'),
      'show ipv6 ospf6 neighbor json': fixture('ospf6d-neighbor.json'),
      'show ipv6 ospf6 neighbor detail json': fixture('ospf6d-neighbor-detail.json'),
      'show ip ospf route json': fixture('ospfd-route.json'),
      'show ipv6 ospf6 route detail json': this.routesV6,
      'show ipv6 ospf6 route intra-area detail json': this.routesV6Intra,
      'show ipv6 ospf6 route inter-area detail json': '{"routes":{}}',
      'show ip ospf database external json': fixture('ospfd-database-external.json'),
      'show ipv6 ospf6 database as-external detail json': fixture('ospf6d-database-as-external.json'),
    };
    const out = table[first];
    return out === undefined ? { ...ok(`% Unknown command: ${first}\n`), code: 1 } : ok(out);
  }

  /** The configure invocations (commands between configure terminal and end). */
  configures(): string[][] {
    return this.invocations.filter((c) => c[0] === 'configure terminal');
  }
}

/** A driver on `fake` whose apply makes FRR hold `d`'s rendering. */
function setup(d: OspfDesired = desired()): { fake: FakeVtysh; driver: FrrDriver; logs: string[] } {
  const fake = new FakeVtysh();
  fake.onConfigure = () => {
    fake.running = running(renderFrrConfig(d));
    return ok();
  };
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const driver = new FrrDriver({ run: fake.run, log: pino({ level: 'debug' }, sink), pathspace: 'ns-a', configDir: '/tmp/cfg', argvPrefix: ['ip', 'netns', 'exec', 'ns-a'] });
  return { fake, driver, logs };
}

describe('apply', () => {
  it('one vtysh invocation: configure terminal, the commands, end; argv with the netns prefix, -N and --config_dir; then verify and write memory', async () => {
    const { fake, driver } = setup();
    const result = await driver.apply(desired(), []);
    const configure = fake.argvs.find((a) => a.includes('configure terminal'))!;
    expect(configure.slice(0, 9)).toEqual(['ip', 'netns', 'exec', 'ns-a', VTYSH, '-N', 'ns-a', '--config_dir', '/tmp/cfg']);
    expect(fake.configures()).toHaveLength(1);
    const cmds = fake.configures()[0]!;
    expect(cmds[0]).toBe('configure terminal');
    expect(cmds.at(-1)).toBe('end');
    expect(cmds).toContain('ip ospf message-digest-key 1 md5 md5-secret-1');
    expect(result.commands).toEqual(cmds.slice(1, -1).map((c) => c.replace(MD5, '<redacted>').replace(SHA, '<redacted>')));
    expect(result.persisted).toEqual(['/etc/frr/zebra.conf', '/etc/frr/ospfd.conf']);
    const order = fake.invocations.map((c) => c[0]);
    expect(order.indexOf('configure terminal')).toBeLessThan(order.lastIndexOf('show running-config'));
    expect(order.at(-1)).toBe('write memory');
  });

  it('no-op: zero commands, no configure, no write memory', async () => {
    const { fake, driver } = setup();
    fake.running = running(renderFrrConfig(desired()));
    expect(await driver.apply(desired(), ['wg0'])).toEqual({ commands: [], exec: [], persisted: [] });
    expect(fake.configures()).toEqual([]);
    expect(fake.invocations.some((c) => c[0] === 'write memory')).toBe(false);
  });

  it('a new router-id in a running instance: `clear ip ospf process` after `end`, in the same invocation', async () => {
    const d = desired({ v6: false, interfaces: [] });
    const { fake, driver } = setup(d);
    fake.running = running(renderFrrConfig({ ...d, routerId: '192.0.2.7' }));
    fake.routerId = { v4: '192.0.2.7', v6: null };
    fake.onConfigure = (cmds) => {
      fake.running = running(renderFrrConfig(d));
      if (cmds.includes('clear ip ospf process')) fake.routerId = { v4: '192.0.2.1', v6: null };
      return ok();
    };
    const result = await driver.apply(d, []);
    expect(fake.configures()).toEqual([['configure terminal', 'router ospf', 'ospf router-id 192.0.2.1', 'exit', 'end', 'clear ip ospf process']]);
    expect(result.exec).toEqual(['clear ip ospf process']);
  });

  it('refused command: FrrCommandError with the redacted text, and a rollback to the configuration read before', async () => {
    const { fake, driver, logs } = setup();
    const before = running('interface wg0\n description keep-me\n ip ospf cost 99\nexit\n!\n');
    fake.running = before;
    let calls = 0;
    fake.onConfigure = () => {
      if (calls++ === 0) {
        fake.running = running(renderFrrConfig(desired()).replace('interface wg0\n', 'interface wg0\n description keep-me\n'));
        return { code: 1, stdout: `% Unknown command: ip ospf message-digest-key 1 md5 ${MD5}\n`, stderr: '', timedOut: false, notFound: false };
      }
      fake.running = before;
      return ok();
    };
    const err = await driver.apply(desired(), ['wg0']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FrrCommandError);
    const e = err as FrrCommandError;
    expect(e.rolledBack).toBe(true);
    expect(e.message).toContain('% Unknown command: ip ospf message-digest-key 1 md5 <redacted>');
    expect(e.message).not.toContain(MD5);
    expect(fake.configures()).toHaveLength(2);
    expect(fake.configures()[1]).toContain('ip ospf cost 99');
    expect(fake.invocations.some((c) => c[0] === 'write memory')).toBe(false);
    expect(logs.join('')).not.toContain(MD5);
    expect(logs.join('')).not.toContain(SHA);
  });

  it('an error line with exit 0 is a refusal too', async () => {
    const { fake, driver } = setup();
    fake.onConfigure = () => ok('% Invalid input detected at "^" marker.\n');
    await expect(driver.apply(desired(), [])).rejects.toBeInstanceOf(FrrCommandError);
  });

  it('a warning that starts with % but is no refusal passes (ospfd on a new reference bandwidth)', async () => {
    const { fake, driver } = setup();
    fake.onConfigure = () => {
      fake.running = running(renderFrrConfig(desired()));
      return ok('% OSPF: Reference bandwidth is changed.\n        Please ensure reference bandwidth is consistent across all routers\n');
    };
    await expect(driver.apply(desired(), [])).resolves.toMatchObject({ persisted: ['/etc/frr/zebra.conf', '/etc/frr/ospfd.conf'] });
  });

  it('FRR accepted but did not take a line (ospf6d "already attached"): FrrVerifyError with the remaining commands, redacted', async () => {
    const { fake, driver } = setup();
    fake.onConfigure = () => {
      fake.running = running(renderFrrConfig(desired()).replace(' ipv6 ospf6 area 0.0.0.0\n', ' ipv6 ospf6 area 0.0.0.9\n').replace(/ ip ospf message-digest-key.*\n/, ''));
      return ok('wg0 already attached to Area 0.0.0.9\n');
    };
    const err = (await driver.apply(desired(), []).catch((e: unknown) => e)) as FrrVerifyError;
    expect(err).toBeInstanceOf(FrrVerifyError);
    expect(err.remaining).toEqual([
      'interface wg0',
      'no ipv6 ospf6 area 0.0.0.9',
      'ip ospf message-digest-key 1 md5 <redacted>',
      'ipv6 ospf6 area 0.0.0.0',
      'exit',
    ]);
    expect(err.message).not.toContain(MD5);
  });

  it('write memory that saves nothing: FrrPersistError', async () => {
    const { fake, driver } = setup();
    fake.writeOutput = '% Error: failed to open configuration file\n';
    await expect(driver.apply(desired(), [])).rejects.toBeInstanceOf(FrrPersistError);
  });

  it('persist: false applies without write memory', async () => {
    const fake = new FakeVtysh();
    fake.onConfigure = () => {
      fake.running = running(renderFrrConfig(desired()));
      return ok();
    };
    const driver = new FrrDriver({ run: fake.run, persist: false });
    expect((await driver.apply(desired(), [])).persisted).toEqual([]);
    expect(fake.invocations.some((c) => c[0] === 'write memory')).toBe(false);
  });

  it('fpm wanted but zebra has no dplane_fpm_nl: FrrFpmModuleError, nothing sent', async () => {
    const { fake, driver } = setup();
    const err = (await driver.apply(desired({ fpm: { address: '127.0.0.1', port: 2620 } }), []).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(FrrFpmModuleError);
    expect(err.message).toBe('FPM module not loaded in zebra (start zebra with -M dplane_fpm_nl)');
    expect(fake.configures()).toEqual([]);
  });

  it('fpm with the module loaded is applied', async () => {
    const d = desired({ fpm: { address: '127.0.0.1', port: 2620 } });
    const { fake, driver } = setup(d);
    fake.modules = fixture('show-modules-fpm.txt');
    await driver.apply(d, []);
    expect(fake.configures()[0]!.slice(1, 3)).toEqual(['fpm address 127.0.0.1', 'no fpm use-next-hop-groups']);
  });

  it('invalid desired state: FrrDesiredError before any vtysh call, keys redacted from the issues', async () => {
    const { fake, driver } = setup();
    const bad = desired();
    bad.interfaces[0]!.auth = { v2: { type: 'md5', keyId: 1, key: 'has space secret' }, v3: null };
    const err = (await driver.apply(bad, []).catch((e: unknown) => e)) as FrrDesiredError;
    expect(err).toBeInstanceOf(FrrDesiredError);
    expect(err.issues).toEqual(['interfaces[0].auth.v2.key: must be 1..16 printable ASCII characters without blanks']);
    expect(fake.invocations).toEqual([]);
  });

  it('a needed daemon is not running: FrrUnavailableError("ospf6d is not running")', async () => {
    const { fake, driver } = setup();
    fake.daemons = ' zebra ospfd\n';
    await expect(driver.apply(desired(), [])).rejects.toThrow(new FrrUnavailableError('ospf6d is not running'));
    expect(fake.configures()).toEqual([]);
  });
});

describe('available', () => {
  it('ok: version, daemons, whether zebra has the FPM module', async () => {
    const { fake, driver } = setup();
    expect(await driver.available()).toEqual({ ok: true, version: '8.4.4', daemons: ['zebra', 'ospfd', 'ospf6d'], fpmModule: false });
    fake.modules = fixture('show-modules-fpm.txt');
    expect(await driver.available()).toMatchObject({ ok: true, fpmModule: true });
  });

  it('plain reasons: not installed, not running, a daemon missing', async () => {
    const missing = new FrrDriver({ run: async () => ({ code: null, stdout: '', stderr: 'spawn ENOENT', timedOut: false, notFound: true }) });
    expect(await missing.available()).toEqual({ ok: false, reason: 'FRR is not installed (no /usr/bin/vtysh)' });
    const inNetns = new FrrDriver({
      vtysh: '/opt/frr/vtysh',
      argvPrefix: ['ip', 'netns', 'exec', 'x'],
      run: async () => ({ code: 255, stdout: '', stderr: 'exec of "/opt/frr/vtysh" failed: No such file or directory\n', timedOut: false, notFound: false }),
    });
    expect(await inNetns.available()).toEqual({ ok: false, reason: 'FRR is not installed (no /opt/frr/vtysh)' });
    const down = new FrrDriver({
      run: async () => ({
        code: 1,
        stdout: '',
        stderr: "% Can't open configuration file /etc/frr/x/vtysh.conf due to 'No such file or directory'.\nExiting: failed to connect to any daemons.\n",
        timedOut: false,
        notFound: false,
      }),
    });
    expect(await down.available()).toEqual({ ok: false, reason: 'FRR is not running (vtysh reaches no daemon)' });
    const { fake, driver } = setup();
    fake.daemons = ' zebra ospf6d\n';
    expect(await driver.available()).toEqual({ ok: false, reason: 'ospfd is not running' });
    expect(await driver.available({ v4: false, v6: true })).toMatchObject({ ok: true });
  });
});

describe('reading OSPF state', () => {
  it('neighbors and routes of both families in one stable list each', async () => {
    const { driver } = setup();
    const neighbors = await driver.ospfNeighbors();
    expect(neighbors.map((n) => `${n.family} ${n.routerId} ${n.state} ${n.interface} ${n.address}`)).toEqual([
      'ipv4 10.10.2.1 Full tun0 10.255.0.1',
      'ipv6 10.10.2.1 Full tun0 fe80::eca2:67ff:fe82:ef8c',
    ]);
    const routes = await driver.ospfRoutes();
    expect(routes.filter((r) => r.family === 'ipv4')).toHaveLength(8);
    expect(routes.filter((r) => r.family === 'ipv6')).toHaveLength(4);
  });

  it('OSPFv3: a prefix with an intra-area route and an external is intra-area (ospf6d repeats the JSON key; the last one is the external)', async () => {
    const { fake, driver } = setup();
    const intra = '{"routes":{"fd00:10:3::/64":{"isBestRoute":true,"destinationType":"N","pathType":"Intra-Area","metricCost":20,"nextHops":[{"nextHop":"fe80::1","interfaceName":"wg-b"}]}}}';
    fake.routesV6Intra = intra;
    fake.routesV6 =
      '{"routes":{"fd00:10:3::/64":{"destinationType":"N","pathType":"Intra-Area","metricCost":20,"nextHops":[{"nextHop":"fe80::1","interfaceName":"wg-b"}]},' +
      '"fd00:10:3::/64":{"destinationType":"N","pathType":"External-2","metricCost":10,"metricCostE2":20,"nextHops":[{"nextHop":"fe80::2","interfaceName":"wg-c"}]},' +
      '"fd00:20::/48":{"destinationType":"N","pathType":"External-2","metricCost":10,"metricCostE2":20,"nextHops":[{"nextHop":"fe80::2","interfaceName":"wg-c"}]}}}';
    const v6 = (await driver.ospfRoutes()).filter((r) => r.family === 'ipv6');
    expect(v6.map((r) => `${r.prefix} ${r.type}`)).toEqual(['fd00:10:3::/64 intra', 'fd00:20::/48 external2']);
  });

  it('external LSAs of both databases, OSPFv2 first (the OSPFv3 ones with their tag)', async () => {
    const { driver } = setup();
    expect((await driver.ospfExternalLsas()).map((l) => `${l.prefix} E${l.metricType} tag ${l.tag}`)).toEqual([
      '10.20.0.0/24 E2 tag 201',
      '10.20.1.0/24 E2 tag 201',
      'fd00:20:1::/48 E2 tag 201',
      'fd00:20::/48 E2 tag 201',
      'fd00:21:1::/48 E2 tag 201',
    ]);
  });

  it('a daemon that is not running contributes nothing', async () => {
    const fake = new FakeVtysh();
    const driver = new FrrDriver({
      run: async (argv) => {
        if (argv.includes('show ipv6 ospf6 neighbor json')) return { ...ok('ospf6d is not running\n'), code: 1 };
        if (argv.includes('show ip ospf database external json')) return { ...ok('ospfd is not running\n'), code: 1 };
        return fake.run(argv);
      },
    });
    expect((await driver.ospfNeighbors()).map((n) => n.family)).toEqual(['ipv4']);
    expect((await driver.ospfExternalLsas()).map((l) => l.family)).toEqual(['ipv6', 'ipv6', 'ipv6']);
  });

  it('FRR not running at all: FrrUnavailableError with the plain reason', async () => {
    const driver = new FrrDriver({
      run: async () => ({ code: 1, stdout: '', stderr: 'Exiting: failed to connect to any daemons.\n', timedOut: false, notFound: false }),
    });
    await expect(driver.ospfRoutes()).rejects.toThrow(new FrrUnavailableError('FRR is not running (vtysh reaches no daemon)'));
  });
});

describe('calls', () => {
  it('a vtysh that hangs is a timeout error, keys redacted', async () => {
    const driver = new FrrDriver({ run: async () => ({ code: null, stdout: '', stderr: '', timedOut: true, notFound: false }), timeoutMs: 50 });
    await expect(driver.available()).rejects.toBeInstanceOf(FrrTimeoutError);
    await expect(driver.available()).rejects.toThrow('vtysh did not answer in 50 ms (show version)');
  });

  it('serialized: concurrent calls never run two vtysh at once', async () => {
    const { fake, driver } = setup();
    fake.delayMs = 5;
    await Promise.all([driver.apply(desired(), []), driver.ospfNeighbors(), driver.ospfRoutes(), driver.available()]);
    expect(fake.maxActive).toBe(1);
  });

  it('the real runner: a missing program is notFound, a slow one is killed at the timeout', async () => {
    const { runProcess } = await import('#ospf/frr-driver');
    expect(await runProcess(['/nonexistent/vtysh', '-c', 'x'], 1000)).toMatchObject({ notFound: true, timedOut: false });
    const t0 = Date.now();
    expect(await runProcess(['sleep', '5'], 100)).toMatchObject({ timedOut: true });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await runProcess(['sh', '-c', 'echo out; echo err >&2; exit 3'], 1000)).toEqual({
      code: 3,
      stdout: 'out\n',
      stderr: 'err\n',
      timedOut: false,
      notFound: false,
    });
  });

  it('runningConfig redacts the keys FRR prints', async () => {
    const { fake, driver } = setup();
    fake.running = running(renderFrrConfig(desired()));
    const text = await driver.runningConfig();
    expect(text).toContain('ip ospf message-digest-key 1 md5 <redacted>');
    expect(text).not.toContain(MD5);
    expect(text).not.toContain(SHA);
  });
});
