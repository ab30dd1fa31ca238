import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadTopology, splitWords } from '#lab/index';
import { DockerfileError, envPairsOf, parseDockerfile, runCommands, type DockerInstruction } from './helpers/dockerfile.js';

/**
 * There is no Docker engine where the tests run: the image is built elsewhere
 * (labs/README.md). What can be checked here is that the Dockerfile parses,
 * that its steps are scripts/setup.sh's, and that every lab node runs that
 * image with the commands it has.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = join(ROOT, 'contrib/docker/Dockerfile');
const LABS = join(ROOT, 'labs');

const instructions = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
const commands = instructions.filter((x) => x.keyword === 'RUN').flatMap((x) => runCommands(x).map((c) => ({ cmd: c, ins: x })));
const at = (ins: DockerInstruction): number => instructions.indexOf(ins);

/** scripts/setup.sh's `pkgs=(…)`. */
function setupPackages(): string[] {
  const m = /^pkgs=\(([^)]*)\)/m.exec(readFileSync(join(ROOT, 'scripts/setup.sh'), 'utf8'));
  if (m === null) throw new Error('scripts/setup.sh: no pkgs=(…) line');
  return m[1]!.split(/\s+/).filter((p) => p !== '');
}

/** The words of `[VAR=x …] apt-get install …` after its options. */
function aptInstall(): { packages: string[]; options: string[]; ins: DockerInstruction } {
  const found = commands.find((c) => /^(\w+=\S* )*apt-get install /.test(c.cmd));
  if (found === undefined) throw new Error('no apt-get install in any RUN');
  const words = splitWords(found.cmd).filter((w) => !/^\w+=/.test(w)).slice(2);
  return { packages: words.filter((w) => !w.startsWith('-')), options: words.filter((w) => w.startsWith('-')), ins: found.ins };
}

function firstRun(re: RegExp): DockerInstruction {
  const found = commands.find((c) => re.test(c.cmd));
  if (found === undefined) throw new Error(`no RUN command matching ${re}`);
  return found.ins;
}

/** The COPY instruction whose sources include `src`. */
function copyOf(src: string): DockerInstruction {
  const found = instructions.find((x) => x.keyword === 'COPY' && (typeof x.args === 'string' ? x.args.split(/\s+/) : x.args).slice(0, -1).includes(src));
  if (found === undefined) throw new Error(`nothing COPYs ${src}`);
  return found;
}

describe('contrib/docker/Dockerfile', () => {
  it('parses', () => {
    expect(instructions.map((x) => x.keyword)).toContain('FROM');
  });

  it('starts from Debian 12 (bookworm) with the Node.js major of package.json engines', () => {
    const from = instructions.filter((x) => x.keyword === 'FROM');
    expect(from).toHaveLength(1);
    const m = /^node:(\d+)-bookworm(-slim)?$/.exec(from[0]!.args as string);
    expect(m, `FROM ${String(from[0]!.args)}`).not.toBeNull();
    const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe(`>=${m![1]}`);
  });

  it('installs exactly the packages of scripts/setup.sh, without recommends, on a fresh package list', () => {
    const apt = aptInstall();
    expect([...apt.packages].sort()).toEqual([...setupPackages()].sort());
    expect(apt.options).toEqual(expect.arrayContaining(['-y', '--no-install-recommends']));
    const inSameRun = runCommands(apt.ins);
    expect(inSameRun.findIndex((c) => c.startsWith('apt-get update'))).toBeGreaterThanOrEqual(0);
    expect(inSameRun.findIndex((c) => c.startsWith('apt-get update'))).toBeLessThan(inSameRun.findIndex((c) => c.includes('apt-get install')));
  });

  it('runs npm ci on the lock file, then npm run build on the sources, as scripts/setup.sh does', () => {
    const ci = firstRun(/^npm ci\b/);
    const build = firstRun(/^npm run build\b/);
    expect(at(copyOf('package-lock.json'))).toBeLessThan(at(ci));
    expect(at(ci)).toBeLessThanOrEqual(at(build));
    for (const src of ['src', 'bin', 'tsconfig.build.json']) expect(at(copyOf(src))).toBeLessThan(at(build));
  });

  it('copies only what exists and what .dockerignore lets through', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(ignore).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
    for (const x of instructions.filter((i) => i.keyword === 'COPY')) {
      const words = typeof x.args === 'string' ? x.args.split(/\s+/) : x.args;
      for (const src of words.slice(0, -1)) {
        const rel = src.replace(/^\.\//, '');
        expect(existsSync(join(ROOT, rel)), `COPY ${src}`).toBe(true);
        expect(ignore, `COPY ${src}`).not.toContain(rel);
      }
    }
  });

  it('puts wgbgp on PATH and runs commands as given (no entrypoint wrapper)', () => {
    const workdir = instructions.find((x) => x.keyword === 'WORKDIR')!.args as string;
    expect(commands.map((c) => c.cmd)).toContain(`ln -s ${workdir}/bin/wgbgp /usr/local/bin/wgbgp`);
    expect(instructions.find((x) => x.keyword === 'ENTRYPOINT')?.args).toEqual([]);
    expect(instructions.find((x) => x.keyword === 'CMD')?.args).toEqual(['wgbgp', 'agent', '--config', '/etc/wgbgp/wgbgp.yaml']);
  });
});

describe('the labs run this image', () => {
  const readme = readFileSync(join(LABS, 'README.md'), 'utf8');
  const build = /docker build -t (\S+) -f contrib\/docker\/Dockerfile \./.exec(readme);
  const labs = readdirSync(LABS, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  /** What provides each program the labs run: a package of the image, or the image's own link. */
  const provider: Record<string, string> = {
    wgbgp: 'ln -s …/bin/wgbgp',
    ip: 'iproute2',
    sysctl: 'procps',
    wg: 'wireguard-tools',
    ping: 'iputils-ping',
    birdc: 'bird2',
    bird: 'bird2',
    vtysh: 'frr',
    '/usr/lib/frr/zebra': 'frr',
    '/usr/lib/frr/ospfd': 'frr',
    '/usr/lib/frr/ospf6d': 'frr',
    'wireguard-go': 'wireguard-go',
    gobgp: 'gobgpd',
    nft: 'nftables',
    socat: 'socat',
  };

  it('labs/README.md builds it under one tag', () => {
    expect(build).not.toBeNull();
  });

  it.each(labs)('every node of labs/%s names that tag', (lab) => {
    const images = loadTopology(join(LABS, lab)).nodes.map((n) => n.image);
    expect(new Set(images)).toEqual(new Set([build![1]]));
  });

  it.each(labs)('every program labs/%s runs (cmd, exec, lab-test commands and pings) is in the image', (lab) => {
    const topo = loadTopology(join(LABS, lab));
    const lines = topo.nodes.flatMap((n) => [...(n.cmd === null ? [] : [n.cmd]), ...n.exec]);
    const spec = parseYaml(readFileSync(join(LABS, lab, 'lab-test.yaml'), 'utf8')) as {
      nodes: Record<string, { commands?: { run: string }[]; pings?: unknown[] }>;
    };
    for (const node of Object.values(spec.nodes)) {
      for (const c of node.commands ?? []) lines.push(c.run);
      if ((node.pings ?? []).length > 0) lines.push('ping');
    }
    const packages = aptInstall().packages;
    for (const line of lines) {
      const program = splitWords(line)[0]!;
      const from = provider[program];
      expect(from, `"${line}": add ${program} and what provides it to this test`).toBeDefined();
      if (from !== undefined && !from.startsWith('ln ')) expect(packages, `"${line}" needs ${from}`).toContain(from);
    }
  });
});

describe('the Dockerfile reader', () => {
  const bad = (text: string) => () => parseDockerfile(text);

  it('joins continuation lines, drops comments inside them, reads flags and both forms', () => {
    const got = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        'ARG BASE=debian:12',
        'FROM ${BASE} AS build',
        'RUN apt-get update \\',
        '# a comment inside the continuation',
        '\t&& apt-get install -y x',
        'copy --chown=1:1 a b /c/',
        'ENV A=1 B="two words" C=\'x\'',
        'CMD ["a", "b"]',
      ].join('\n'),
    );
    expect(got.map((x) => [x.keyword, x.line])).toEqual([['ARG', 2], ['FROM', 3], ['RUN', 4], ['COPY', 7], ['ENV', 8], ['CMD', 9]]);
    expect(runCommands(got[2]!)).toEqual(['apt-get update', 'apt-get install -y x']);
    expect(got[3]!.flags).toEqual({ chown: '1:1' });
    expect(envPairsOf(got[4]!.args as string)).toEqual({ A: '1', B: 'two words', C: 'x' });
    expect(got[5]!.args).toEqual(['a', 'b']);
  });

  it('honours the escape directive', () => {
    expect(parseDockerfile('# escape=`\nFROM x\nRUN a `\n b').map((x) => x.args)).toEqual(['x', 'a  b']);
  });

  it('rejects what Docker would refuse or silently misread', () => {
    expect(bad('RUN true')).toThrow(/first instruction must be FROM/);
    expect(bad('FROM x\nRUNN true')).toThrow(/line 2: unknown instruction RUNN/);
    expect(bad("FROM x\nCMD ['a']")).toThrow(/line 2: CMD: .* neither a JSON array/);
    expect(bad('FROM x\nRUN a \\\n')).toThrow(DockerfileError);
    expect(bad('FROM x\nCOPY a')).toThrow(/at least one source and a destination/);
    expect(bad('FROM x y')).toThrow(/IMAGE \[AS NAME\]/);
    expect(bad('FROM x\nRUN <<EOF\nEOF')).toThrow(/heredocs/);
  });
});
