/**
 * Issue 8: the unit starts on a fresh Debian host. scripts/install.sh stages
 * the program, the unit and /etc/wgbgp into a temp DESTDIR; `systemd-analyze
 * verify --root` checks the unit against that tree (its ExecStart= must exist
 * there) plus the host's own units (for sysinit.target, network-online.target,
 * ...), which works offline without systemd as PID 1. Every path the unit names
 * must be created by the unit, installed by the script, or standard on Debian.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONTROL_SOCKET } from '#config/defaults';
import { DEFAULT_RUN_DIR } from '#wg/uapi';
import { newestMtime } from '../helpers/fs.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const UNIT = join(ROOT, 'contrib', 'wgbgp.service');
const EXAMPLE = join(ROOT, 'contrib', 'wgbgp.yaml.example');
const INSTALL = join(ROOT, 'scripts', 'install.sh');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** CI has the systemd package (scripts/setup.sh): there a missing analyzer fails instead of skipping. */
const CI = process.env.CI === 'true';
const ANALYZE = '/usr/bin/systemd-analyze';
const HOST_UNITS = '/usr/lib/systemd/system';
const analyzerMissing = [ANALYZE, join(HOST_UNITS, 'multi-user.target'), '/bin/kill'].filter((p) => !existsSync(p));

/**
 * Paths the unit may name that a fresh Debian host has: /bin/kill (procps,
 * priority important, as in ssh.service's ExecReload) and /dev/net/tun (a
 * static device node, made at boot from the tun module's devname alias).
 */
const DEBIAN_STANDARD = ['/bin/kill', '/dev/net/tun'];

/** Tests that run the install script or the analyzer: seconds each, more on a busy CI host. */
const SLOW = 60_000;

const tmp = mkdtempSync(join(tmpdir(), 'wgbgp-systemd-'));
/** The DESTDIR of the main install, shared by the checks below. */
const dest = join(tmp, 'dest');
/** A systemctl that only records it was called: DESTDIR installs must never call it. */
const fakeBin = join(tmp, 'fake-bin');
const systemctlCalled = join(tmp, 'systemctl-called');


function install(destdir: string, args: string[] = [], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync('bash', [INSTALL, '--no-build', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH ?? ''}`, DESTDIR: destdir, ...env },
  });
}

function installed(destdir: string, args: string[] = [], env: Record<string, string> = {}): string {
  const r = install(destdir, args, env);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

function mode(path: string): number {
  return statSync(path).mode & 0o7777;
}

/**
 * Makes an installed DESTDIR a root `systemd-analyze verify --root` accepts:
 * the host's units beside ours, Debian's merged-/usr links, and /bin/kill.
 */
function asVerifyRoot(root: string, unitDir = join(root, 'usr', 'lib', 'systemd', 'system')): void {
  cpSync(HOST_UNITS, unitDir, { recursive: true, verbatimSymlinks: true, filter: (src) => !basename(src).startsWith('wgbgp') });
  for (const d of ['bin', 'lib']) if (!existsSync(join(root, d))) symlinkSync(`usr/${d}`, join(root, d));
  copyFileSync(realpathSync('/bin/kill'), join(root, 'usr', 'bin', 'kill'));
  chmodSync(join(root, 'usr', 'bin', 'kill'), 0o755);
}

function verify(root: string, unit: string): { code: number | null; out: string } {
  const r = spawnSync(ANALYZE, ['verify', `--root=${root}`, unit], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** [key, value] of every setting, comments and section headers dropped. */
function directives(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    out.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return out;
}

beforeAll(() => {
  // The install copies dist/: it must hold what src/ says now.
  if (!existsSync(MAIN) || statSync(MAIN).mtimeMs < newestMtime(join(ROOT, 'src'))) {
    // Errors in folders under construction elsewhere do not stop tsc from emitting ours.
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
  }
  expect(existsSync(MAIN)).toBe(true);
  mkdirSync(fakeBin);
  writeFileSync(join(fakeBin, 'systemctl'), `#!/bin/sh\necho "$@" >> ${systemctlCalled}\n`, { mode: 0o755 });
  installed(dest);
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(analyzerMissing.length > 0 && !CI)('systemd-analyze verify', () => {
  const root = join(tmp, 'verify-root');
  const unitDir = join(root, 'usr', 'lib', 'systemd', 'system');
  beforeAll(() => {
    installed(root);
    asVerifyRoot(root);
  }, SLOW);

  it('has what it needs: the systemd package (scripts/setup.sh installs it)', () => {
    expect(analyzerMissing).toEqual([]);
  });

  it('the unit as installed (identical to contrib/wgbgp.service) is clean: exit 0, nothing said about it', () => {
    expect(readFileSync(join(unitDir, 'wgbgp.service'), 'utf8')).toBe(readFileSync(UNIT, 'utf8'));
    const r = verify(root, 'wgbgp.service');
    expect(r.out.split('\n').filter((l) => l.includes('wgbgp'))).toEqual([]);
    expect(r.code).toBe(0);
  }, SLOW);

  it('the check has teeth: a misspelt key and a missing ExecStart= binary are reported in the same root', () => {
    const broken = readFileSync(UNIT, 'utf8')
      .replace('ProtectSystem=strict', 'ProtectSystm=strict')
      .replace('ExecStart=/usr/bin/wgbgp', 'ExecStart=/usr/bin/wgbgp-missing');
    writeFileSync(join(unitDir, 'wgbgp-broken.service'), broken);
    const r = verify(root, 'wgbgp-broken.service');
    expect(r.out).toContain("Unknown key 'ProtectSystm' in section [Service]");
    expect(r.out).toContain('Command /usr/bin/wgbgp-missing is not executable');
    expect(r.code).not.toBe(0);
  }, SLOW);

  it('PREFIX=/usr/local: the unit names /usr/local/bin/wgbgp and verifies clean too', () => {
    const local = join(tmp, 'verify-local');
    installed(local, [], { PREFIX: '/usr/local' });
    const text = readFileSync(join(local, 'usr', 'local', 'lib', 'systemd', 'system', 'wgbgp.service'), 'utf8');
    expect(text).toContain('ExecStart=/usr/local/bin/wgbgp agent --config /etc/wgbgp/wgbgp.yaml');
    expect(text).not.toMatch(/\/usr\/bin\/wgbgp|\/usr\/share\/doc/);
    mkdirSync(join(local, 'usr', 'bin'), { recursive: true });
    asVerifyRoot(local);
    const r = verify(local, 'wgbgp.service');
    expect(r.out.split('\n').filter((l) => l.includes('wgbgp'))).toEqual([]);
    expect(r.code).toBe(0);
  }, SLOW);
});

describe('scripts/install.sh into a DESTDIR', () => {
  it('/etc/wgbgp is 0750 with the example config, and wgbgp.yaml made from it', () => {
    const etc = join(dest, 'etc', 'wgbgp');
    expect(mode(etc)).toBe(0o750);
    expect(readFileSync(join(etc, 'wgbgp.yaml.example'), 'utf8')).toBe(readFileSync(EXAMPLE, 'utf8'));
    expect(readFileSync(join(etc, 'wgbgp.yaml'), 'utf8')).toBe(readFileSync(EXAMPLE, 'utf8'));
    expect(mode(join(etc, 'wgbgp.yaml'))).toBe(0o640);
    expect(existsSync(join(etc, 'private.key'))).toBe(false);
  });

  it('the unit is in /usr/lib/systemd/system, 0644, the docs it names and the man page beside', () => {
    const unit = join(dest, 'usr', 'lib', 'systemd', 'system', 'wgbgp.service');
    expect(readFileSync(unit, 'utf8')).toBe(readFileSync(UNIT, 'utf8'));
    expect(mode(unit)).toBe(0o644);
    expect(existsSync(join(dest, 'usr', 'share', 'doc', 'wgbgp', 'operations.md'))).toBe(true);
    expect(existsSync(join(dest, 'usr', 'share', 'man', 'man1', 'wgbgp.1'))).toBe(existsSync(join(ROOT, 'docs', 'wgbgp.1')));
  });

  it('/usr/bin/wgbgp is a relative link into /usr/lib/wgbgp that runs', () => {
    const bin = join(dest, 'usr', 'bin', 'wgbgp');
    expect(lstatSync(bin).isSymbolicLink()).toBe(true);
    expect(readlinkSync(bin)).toBe('../lib/wgbgp/bin/wgbgp');
    expect(realpathSync(bin)).toBe(join(realpathSync(dest), 'usr', 'lib', 'wgbgp', 'bin', 'wgbgp'));
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    expect(r.stdout).toBe(`${VERSION}\n`);
    expect(r.status).toBe(0);
  });

  it('the installed program carries the production dependencies only', () => {
    const lib = join(dest, 'usr', 'lib', 'wgbgp');
    for (const dep of Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: object }).dependencies)) {
      expect(existsSync(join(lib, 'node_modules', dep, 'package.json')), dep).toBe(true);
    }
    for (const dev of ['vitest', 'typescript', 'fast-check', '@types']) expect(existsSync(join(lib, 'node_modules', dev)), dev).toBe(false);
    expect(existsSync(join(lib, 'src'))).toBe(false);
  });

  it('the installed example passes `config check` but for the missing key', () => {
    const r = spawnSync(join(dest, 'usr', 'bin', 'wgbgp'), ['config', 'check', join(dest, 'etc', 'wgbgp', 'wgbgp.yaml.example')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const line of r.stderr.split('\n').filter(Boolean)) expect(line).toMatch(/wireguard\.private-key-file: warning: .* does not exist/);
  });

  it('a second run keeps an edited wgbgp.yaml; --genkey makes a 0600 key once', () => {
    const config = join(dest, 'etc', 'wgbgp', 'wgbgp.yaml');
    appendFileSync(config, '# edited by the operator\n');
    const edited = readFileSync(config, 'utf8');
    const out = installed(dest, ['--genkey']);
    expect(out).toContain('kept /etc/wgbgp/wgbgp.yaml');
    expect(readFileSync(config, 'utf8')).toBe(edited);
    const key = join(dest, 'etc', 'wgbgp', 'private.key');
    expect(mode(key)).toBe(0o600);
    const pub = spawnSync(join(dest, 'usr', 'bin', 'wgbgp'), ['pubkey'], { input: readFileSync(key), encoding: 'utf8' });
    expect(pub.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(out).toContain(pub.stdout.trim());
    const first = readFileSync(key, 'utf8');
    installed(dest, ['--genkey']);
    expect(readFileSync(key, 'utf8')).toBe(first);
  }, SLOW);

  it('never calls systemctl with DESTDIR set, and prints the next steps', () => {
    const out = installed(dest);
    expect(existsSync(systemctlCalled)).toBe(false);
    expect(out).toContain('systemctl daemon-reload && systemctl enable --now wgbgp');
  }, SLOW);
});

describe.skipIf(!existsSync('/usr/bin/dpkg-deb') && !CI)('scripts/build-deb.sh', () => {
  const out = join(tmp, 'deb');
  let deb = '';
  beforeAll(() => {
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'build-deb.sh'), '--no-build', out], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    deb = r.stdout.trim();
  }, 120_000);

  it('a package for this architecture, with the runtime it needs', () => {
    const arch = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim();
    expect(basename(deb)).toBe(`wgbgp_${VERSION}_${arch}.deb`);
    const fields = spawnSync('dpkg-deb', ['--field', deb, 'Package', 'Version', 'Depends'], { encoding: 'utf8' }).stdout;
    expect(fields).toBe(`Package: wgbgp\nVersion: ${VERSION}\nDepends: nodejs (>= 20), wireguard-go, iproute2\n`);
  });

  it('the install layout owned by root: /etc/wgbgp 0750 with only the example (a conffile), no config of its own, no key', () => {
    const list = spawnSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout;
    expect(list).toMatch(/^drwxr-xr-x root\/root +0 \S+ \S+ \.\/\n/m);
    expect(list).toMatch(/^drwxr-x--- root\/root .* \.\/etc\/wgbgp\/$/m);
    expect(list).toMatch(/^-rw-r--r-- root\/root .* \.\/usr\/lib\/systemd\/system\/wgbgp\.service$/m);
    expect(list).toMatch(/^lrwxrwxrwx root\/root .* \.\/usr\/bin\/wgbgp -> \.\.\/lib\/wgbgp\/bin\/wgbgp$/m);
    expect(list).not.toMatch(/etc\/wgbgp\/(wgbgp\.yaml|private\.key)$/m);
    const control = join(tmp, 'deb-control');
    expect(spawnSync('dpkg-deb', ['--control', deb, control]).status).toBe(0);
    expect(readFileSync(join(control, 'conffiles'), 'utf8')).toBe('/etc/wgbgp/wgbgp.yaml.example\n');
    for (const script of ['postinst', 'prerm', 'postrm']) {
      expect(spawnSync('sh', ['-n', join(control, script)]).status, script).toBe(0);
    }
  });

  it('unpacked, the command runs and the unit verifies clean', () => {
    const root = join(tmp, 'deb-root');
    expect(spawnSync('dpkg-deb', ['--extract', deb, root]).status).toBe(0);
    expect(spawnSync(join(root, 'usr', 'bin', 'wgbgp'), ['--version'], { encoding: 'utf8' }).stdout).toBe(`${VERSION}\n`);
    if (analyzerMissing.length > 0 && !CI) return;
    asVerifyRoot(root);
    const r = verify(root, 'wgbgp.service');
    expect(r.out.split('\n').filter((l) => l.includes('wgbgp'))).toEqual([]);
    expect(r.code).toBe(0);
  }, SLOW);
});

describe('every path the unit names exists on a fresh Debian host', () => {
  const settings = directives(readFileSync(UNIT, 'utf8'));
  const values = (key: string): string[] => settings.filter(([k]) => k === key).flatMap(([, v]) => v.split(/\s+/));
  const created = [
    ...values('RuntimeDirectory').map((d) => `/run/${d}`),
    ...values('StateDirectory').map((d) => `/var/lib/${d}`),
    ...values('CacheDirectory').map((d) => `/var/cache/${d}`),
    ...values('LogsDirectory').map((d) => `/var/log/${d}`),
    ...values('ConfigurationDirectory').map((d) => `/etc/${d}`),
  ];
  /** /var/run is a link to /run on Debian. */
  const underCreated = (p: string): boolean => {
    const path = p.replace(/^\/var\/run(?=\/|$)/, '/run');
    return created.some((d) => path === d || path.startsWith(`${d}/`));
  };
  /** Every absolute path in a value, without ExecStart='s prefixes ("-", "+", "@", ...) or ReadWritePaths='s "-". */
  const named = settings.flatMap(([key, value]) =>
    value
      .split(/\s+/)
      .map((t) => t.replace(/^file:\/\//, '').replace(/^[-+@!:]+/, ''))
      .filter((t) => t.startsWith('/'))
      .map((path) => ({ key, path })),
  );

  it('names paths at all (the parser reads the unit)', () => {
    expect(named.map((n) => n.path)).toEqual(expect.arrayContaining(['/usr/bin/wgbgp', '/etc/wgbgp/wgbgp.yaml', '/dev/net/tun']));
    expect(created).toEqual(expect.arrayContaining(['/run/wgbgp', '/etc/wgbgp']));
  });

  it('each is created by the unit, installed by scripts/install.sh, or standard on Debian', () => {
    const unexplained = named.filter(({ path }) => !underCreated(path) && !existsSync(join(dest, path)) && !DEBIAN_STANDARD.includes(path));
    expect(unexplained).toEqual([]);
    for (const p of DEBIAN_STANDARD) {
      if (named.some((n) => n.path === p)) expect(existsSync(p), p).toBe(true);
    }
  });

  it('the read-write paths are all made by the unit (ProtectSystem=strict leaves nothing else writable)', () => {
    for (const key of ['ReadWritePaths', 'BindPaths']) {
      for (const p of values(key)) expect(underCreated(p.replace(/^-/, '')), `${key}=${p}`).toBe(true);
    }
  });

  it('what the agent and wireguard-go write by default is writable: control socket, its state files, UAPI sockets', () => {
    expect(values('ProtectSystem')).toEqual(['strict']);
    expect(underCreated(dirname(DEFAULT_CONTROL_SOCKET))).toBe(true);
    expect(underCreated(DEFAULT_RUN_DIR)).toBe(true);
    // Tunnels outlive the agent (KillMode=process): so do their sockets and state.
    expect(values('RuntimeDirectoryPreserve')).toEqual(['yes']);
    expect(values('KillMode')).toEqual(['process']);
  });
});
