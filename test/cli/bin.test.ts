/**
 * The installed command as an operator runs it: bin/wgbgp over the compiled dist/,
 * in a child process, so exit codes are the real ones.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newestMtime } from '../helpers/fs.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'wgbgp');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'config', 'design-example.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'wgbgp-bin-'));


beforeAll(() => {
  const sources = Math.max(...['cli', 'config', 'api', 'lib'].map((d) => newestMtime(join(ROOT, 'src', d))));
  if (!existsSync(MAIN) || statSync(MAIN).mtimeMs < sources) {
    // Errors in folders under construction elsewhere do not stop tsc from emitting ours.
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
  }
  expect(existsSync(MAIN)).toBe(true);
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function wgbgp(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BIN, args, { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bin/wgbgp config check', () => {
  it('exit 0 for the design example', () => {
    expect(wgbgp('config', 'check', FIXTURE)).toMatchObject({ code: 0, stdout: `${FIXTURE}: ok (1 neighbor, 1 warning)\n` });
  });
  it('exit 1 for an invalid file, the key path on stderr', () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, 'router: { asn: 23456, router-id: 192.0.2.1 }\nwireguard: { private-key-file: /k }\n');
    const r = wgbgp('config', 'check', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:1:11: router.asn: ASN 23456 is AS_TRANS`);
  });
  it('exit 1 with --strict when the key file is missing', () => {
    expect(wgbgp('config', 'check', '--strict', FIXTURE).code).toBe(1);
  });
  it('exit 2 for a usage error', () => {
    const r = wgbgp('config', 'check');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing required argument/);
  });
});

describe('bin/wgbgp agent', () => {
  it('refuses to start with a private key others can read: exit 1, the reason plainly and as a fatal JSON line', () => {
    const dir = mkdtempSync(join(tmp, 'key-'));
    const key = join(dir, 'private.key');
    writeFileSync(key, `${execFileSync(BIN, ['genkey'], { encoding: 'utf8' })}`, { mode: 0o644 });
    const config = join(dir, 'wgbgp.yaml');
    writeFileSync(
      config,
      [
        'router: { asn: 65001, router-id: 192.0.2.1 }',
        `control: { socket: ${join(dir, 'control.sock')} }`,
        'dataplane: { wireguard: wireguard-go, fib: none }',
        'wireguard: { private-key-file: private.key }',
        '',
      ].join('\n'),
    );
    const r = wgbgp('agent', '--config', config);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`wgbgp: wireguard.private-key-file: ${key} is accessible by group or others (mode 0644); chmod 600 it`);
    const fatal = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; err?: string })
      .find((l) => l.level === 60);
    expect(fatal).toMatchObject({ msg: 'agent failed to start', err: expect.stringContaining('chmod 600') });
    expect(existsSync(join(dir, 'control.sock'))).toBe(false);
  });

  it('an invalid configuration stops the start: exit 1, each issue as file:line:col (read on the configuration thread, src/config/load-worker.ts)', () => {
    const dir = mkdtempSync(join(tmp, 'invalid-'));
    const config = join(dir, 'wgbgp.yaml');
    writeFileSync(config, ['router: { asn: 65001, router-id: 192.0.2.1 }', `control: { socket: ${join(dir, 'control.sock')} }`, 'dataplane: { fib: nope }', ''].join('\n'));
    const r = wgbgp('agent', '--config', config);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:\\d+: dataplane\\.fib: `));
    expect(existsSync(join(dir, 'control.sock'))).toBe(false);
  });
});

describe('entry points', () => {
  it('node dist/cli/main.js runs the CLI too', () => {
    expect(execFileSync(process.execPath, [MAIN, '--version'], { encoding: 'utf8' })).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
  it('an unbuilt checkout says how to build, exit 2', () => {
    const fake = join(tmp, 'checkout');
    mkdirSync(join(fake, 'bin'), { recursive: true });
    writeFileSync(join(fake, 'package.json'), '{"type":"module"}\n');
    copyFileSync(BIN, join(fake, 'bin', 'wgbgp'));
    const r = spawnSync(process.execPath, [join(fake, 'bin', 'wgbgp'), 'status'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('wgbgp: not built — run `npm run build`\n');
  });
});
