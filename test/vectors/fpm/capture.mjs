#!/usr/bin/env node
/**
 * Records the FPM byte stream of a real FRR zebra into the .hex vectors next
 * to this file. Needs root, iproute2 and FRR (zebra, ospfd, ospf6d, vtysh in
 * /usr/lib/frr and PATH).
 *
 *   node test/vectors/fpm/capture.mjs [OUTDIR]
 *
 * Two namespaces joined by two veth links (equal OSPF cost, so ECMP):
 *
 *   A: zebra -M dplane_fpm_nl, ospfd, ospf6d        B: zebra, ospfd, ospf6d
 *      lan-a 10.10.1.1/24 fd00:10:1::1/64               lan-b 10.10.2.1/24 fd00:10:2::1/64
 *      a1 10.255.0.0/31 ------------------------------- b1 10.255.0.1/31
 *      a2 10.255.0.2/31 ------------------------------- b2 10.255.0.3/31
 *      fpm0 169.254.N.2/30 -- veth -- root namespace 169.254.N.1/30 (this recorder)
 *                                                       lan-c 10.10.3.1/24 fd00:10:3::1/64
 *
 * Connection 1 (next-hop-group mode, FRR 8.4's default): zebra's first
 * resend, OSPF routes arriving, lan-c's addresses removed in B (the routes are
 * withdrawn), b2 down (ECMP becomes one path), b2 up again. Then `no fpm
 * use-next-hop-groups` through vtysh: zebra reconnects, and connection 2
 * (inline next hops) holds the full resend with the ECMP routes, lan-c's
 * v4 prefix added back, removed, b2 down and up once more. Last, `fpm
 * use-next-hop-groups` again: connection 3 is a resend in that mode.
 *
 * Each connection is written as one file: a comment header (how, FRR version),
 * then per step the routes in zebra's RIB in A and A's ifindexes after it, and
 * the frames of the step, one per line in hex with a short summary. (zebra's
 * RIB, not the kernel: FRR 8.4 may leave a kernel nexthop group short of a
 * path its RIB and its FPM stream have.) Everything is named with one random
 * prefix and removed at the end, also on failure; FPM_CAPTURE_KEEP=1 keeps it
 * for a look.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OUT = process.argv[2] ?? dirname(fileURLToPath(import.meta.url));
const P = `fpmc${randomBytes(3).toString('hex')}`;
const NS_A = `${P}-a`;
const NS_B = `${P}-b`;
const ROOT_LINK = `${P}r`;
const N = 1 + (randomBytes(1)[0] % 250);
const ROOT_ADDR = `169.254.${N}.1`;
const FPM_ADDR = `169.254.${N}.2`;
const FRR = '/usr/lib/frr';
const dir = mkdtempSync(join(tmpdir(), `${P}-`));
const frrUser = (() => {
  const r = spawnSync('id', ['-u', 'frr'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'frr'], { encoding: 'utf8' });
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
})();

function sh(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
const ip = (...args) => sh('ip', args);
const inNs = (ns, ...argv) => sh('ip', ['netns', 'exec', ns, ...argv]);
const vtysh = (ns, ...cmds) => sh('vtysh', ['-N', ns, ...cmds.flatMap((c) => ['-c', c])]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, ms = 90_000) {
  const end = Date.now() + ms;
  for (;;) {
    if (fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function cleanup() {
  for (const ns of [NS_A, NS_B]) {
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.trim().split(/\s+/).filter(Boolean) ?? [];
    for (const pid of pids) spawnSync('kill', ['-TERM', pid]);
  }
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    const left = [NS_A, NS_B].some((ns) => (spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '').trim() !== '');
    if (!left) break;
    spawnSync('sleep', ['0.2']);
  }
  for (const ns of [NS_A, NS_B]) {
    for (const pid of (spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '').trim().split(/\s+/).filter(Boolean)) {
      spawnSync('kill', ['-KILL', pid]);
    }
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(`/var/run/frr/${ns}`, { recursive: true, force: true });
  }
  spawnSync('ip', ['link', 'del', ROOT_LINK]);
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', () => {
  if (process.env.FPM_CAPTURE_KEEP) console.error(`kept: namespaces ${NS_A} ${NS_B}, files in ${dir}`);
  else cleanup();
});
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

function writeConf(name, text) {
  const path = join(dir, name);
  writeFileSync(path, text);
  chownSync(path, frrUser.uid, frrUser.gid);
  return path;
}

function ospfConf(node, links, lans) {
  const rid = node === 'a' ? '10.10.1.1' : '10.10.2.1';
  let v4 = `hostname ${node}\nlog file ${dir}/ospfd-${node}.log\n`;
  let v6 = `hostname ${node}\nlog file ${dir}/ospf6d-${node}.log\n`;
  for (const l of links) {
    v4 += `interface ${l}\n ip ospf area 0\n ip ospf network point-to-point\n ip ospf hello-interval 1\n ip ospf dead-interval 4\n`;
    v6 += `interface ${l}\n ipv6 ospf6 area 0\n ipv6 ospf6 network point-to-point\n ipv6 ospf6 hello-interval 1\n ipv6 ospf6 dead-interval 4\n`;
  }
  for (const l of lans) {
    v4 += `interface ${l}\n ip ospf area 0\n ip ospf passive\n`;
    v6 += `interface ${l}\n ipv6 ospf6 area 0\n ipv6 ospf6 passive\n`;
  }
  v4 += `router ospf\n ospf router-id ${rid}\n timers throttle spf 0 50 500\n`;
  v6 += `router ospf6\n ospf6 router-id ${rid}\n`;
  return { v4, v6 };
}

function startFrr(ns, node, zebraConf, ospf) {
  mkdirSync(`/var/run/frr/${ns}`, { recursive: true });
  chownSync(`/var/run/frr/${ns}`, frrUser.uid, frrUser.gid);
  const z = writeConf(`zebra-${node}.conf`, zebraConf);
  const o = writeConf(`ospfd-${node}.conf`, ospf.v4);
  const o6 = writeConf(`ospf6d-${node}.conf`, ospf.v6);
  const zargs = ['-d', '-N', ns, '-P', '0', '-f', z, '-i', join(dir, `zebra-${node}.pid`)];
  if (node === 'a') zargs.splice(3, 0, '-M', 'dplane_fpm_nl');
  inNs(ns, `${FRR}/zebra`, ...zargs);
  inNs(ns, `${FRR}/ospfd`, '-d', '-N', ns, '-P', '0', '-f', o, '-i', join(dir, `ospfd-${node}.pid`));
  inNs(ns, `${FRR}/ospf6d`, '-d', '-N', ns, '-P', '0', '-f', o6, '-i', join(dir, `ospf6d-${node}.pid`));
}

// ------------------------------------------------------------------ recorder

/** Per connection: the bytes, and marks (label, byte offset, routes in A at that moment). */
const conns = [];
const server = createServer((sock) => {
  const c = { chunks: [], size: 0, marks: [], closed: false };
  conns.push(c);
  sock.on('data', (d) => {
    c.chunks.push(d);
    c.size += d.length;
  });
  sock.on('close', () => {
    c.closed = true;
  });
  sock.on('error', () => {});
});

/** zebra's routes in A (its RIB, which FPM mirrors; the kernel can differ) and the ifindexes. */
function stateOfA() {
  const links = JSON.parse(ip('-n', NS_A, '-j', 'link', 'show'))
    .map((l) => `${l.ifname}=${l.ifindex}`)
    .join(' ');
  const rib = vtysh(NS_A, 'show ip route', 'show ipv6 route')
    .split('\n')
    .filter((l) => /^[A-Z]>?\*|^\s+\*/.test(l))
    .map((l) => l.replace(/, \d\d:\d\d:\d\d$/, '').trimEnd());
  return [`ifindex: ${links}`, ...rib];
}

/** Waits for the stream to go quiet, then marks the current connection's end of a step. */
async function mark(label) {
  const c = conns.at(-1);
  let last = -1;
  while (c.size !== last) {
    last = c.size;
    await sleep(1500);
  }
  c.marks.push({ label, offset: c.size, state: stateOfA() });
  console.log(`${label}: connection ${conns.length}, ${c.size} bytes`);
}

// ------------------------------------------------------------------- summary

const NAMES = { 24: 'RTM_NEWROUTE', 25: 'RTM_DELROUTE', 104: 'RTM_NEWNEXTHOP', 105: 'RTM_DELNEXTHOP' };

function addr(b) {
  if (b.length === 4) return [...b].join('.');
  const g = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i));
  let best = [-1, 0];
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > best[1] && j - i >= 2) best = [i, j - i];
  }
  const hex = (a) => a.map((x) => x.toString(16)).join(':');
  return best[0] < 0 ? hex(g) : `${hex(g.slice(0, best[0]))}::${hex(g.slice(best[0] + best[1]))}`;
}

function attrs(body, start, fn) {
  for (let off = start; off + 4 <= body.length; ) {
    const len = body.readUInt16LE(off);
    if (len < 4) break;
    fn(body.readUInt16LE(off + 2) & 0x3fff, body.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
}

/** A one-line reading of a frame, for people; the tests do the real decoding. */
function summary(frame) {
  const parts = [];
  for (let off = 4; off + 16 <= frame.length; ) {
    const len = frame.readUInt32LE(off);
    const type = frame.readUInt16LE(off + 4);
    const body = frame.subarray(off + 16, off + len);
    const s = [NAMES[type] ?? `type ${type}`];
    if (type === 24 || type === 25) {
      s.push(`family ${body[0]} dst_len ${body[1]} table ${body[4]} proto ${body[5]} type ${body[7]}`);
      attrs(body, 12, (t, v) => {
        if (t === 1) s.push(`dst ${addr(v)}`);
        else if (t === 4) s.push(`oif ${v.readUInt32LE(0)}`);
        else if (t === 5) s.push(`gw ${addr(v)}`);
        else if (t === 6) s.push(`prio ${v.readUInt32LE(0)}`);
        else if (t === 7) s.push(`prefsrc ${addr(v)}`);
        else if (t === 9) {
          const paths = [];
          for (let o = 0; o + 8 <= v.length; ) {
            const n = v.readUInt16LE(o);
            const p = [`oif ${v.readInt32LE(o + 4)} w${v[o + 3] + 1}`];
            attrs(v.subarray(0, o + n), o + 8, (at, av) => {
              if (at === 5) p.unshift(`gw ${addr(av)}`);
            });
            paths.push(p.join(' '));
            o += (n + 3) & ~3;
          }
          s.push(`multipath [${paths.join('; ')}]`);
        }
        else if (t === 30) s.push(`nhid ${v.readUInt32LE(0)}`);
        else s.push(`attr ${t}`);
      });
    } else if (type === 104 || type === 105) {
      s.push(`family ${body[0]}`);
      attrs(body, 8, (t, v) => {
        if (t === 1) s.push(`id ${v.readUInt32LE(0)}`);
        else if (t === 2) {
          const g = [];
          for (let i = 0; i + 8 <= v.length; i += 8) g.push(`${v.readUInt32LE(i)}w${v[i + 4] + 1}`);
          s.push(`group ${g.join(',')}`);
        } else if (t === 4) s.push('blackhole');
        else if (t === 5) s.push(`oif ${v.readUInt32LE(0)}`);
        else if (t === 6) s.push(`gw ${addr(v)}`);
        else s.push(`attr ${t}`);
      });
    }
    parts.push(s.join(' '));
    off += (len + 3) & ~3;
  }
  return parts.join(' + ');
}

function frames(buf) {
  const out = [];
  for (let off = 0; off + 4 <= buf.length; ) {
    const len = buf.readUInt16BE(off + 2);
    out.push({ offset: off, bytes: buf.subarray(off, off + len) });
    off += len;
  }
  return out;
}

function writeVector(file, title, c, version) {
  const buf = Buffer.concat(c.chunks);
  const lines = [
    `# ${title}`,
    `# Captured from ${version} (zebra -M dplane_fpm_nl, Debian package) by test/vectors/fpm/capture.mjs`,
    `# on ${new Date().toISOString().slice(0, 10)}: the raw TCP stream of one FPM connection, one frame a line`,
    '# (FPM header included), each with a summary. Topology and steps: see capture.mjs.',
  ];
  const fr = frames(buf);
  let k = 0;
  c.marks.forEach((m, i) => {
    lines.push(`# --- step ${i + 1}: ${m.label}`);
    for (const s of m.state) lines.push(`#   in A after it: ${s}`);
    for (; k < fr.length && fr[k].offset < m.offset; k++) lines.push(`${fr[k].bytes.toString('hex')}  # ${summary(fr[k].bytes)}`);
  });
  if (k < fr.length) lines.push('# --- after the last step');
  for (; k < fr.length; k++) lines.push(`${fr[k].bytes.toString('hex')}  # ${summary(fr[k].bytes)}`);
  writeFileSync(join(OUT, file), `${lines.join('\n')}\n`);
  console.log(`wrote ${file}: ${fr.length} frames`);
}

// ---------------------------------------------------------------------- run

async function main() {
  const version = sh(`${FRR}/zebra`, ['--version']).split('\n')[0].trim();
  mkdirSync(dir, { recursive: true });
  chownSync(dir, frrUser.uid, frrUser.gid);
  for (const ns of [NS_A, NS_B]) {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  for (const [a, b] of [['a1', 'b1'], ['a2', 'b2']]) {
    ip('link', 'add', `${P}${a}`, 'type', 'veth', 'peer', 'name', `${P}${b}`);
    ip('link', 'set', `${P}${a}`, 'netns', NS_A);
    ip('link', 'set', `${P}${b}`, 'netns', NS_B);
    ip('-n', NS_A, 'link', 'set', `${P}${a}`, 'name', a);
    ip('-n', NS_B, 'link', 'set', `${P}${b}`, 'name', b);
  }
  ip('link', 'add', ROOT_LINK, 'type', 'veth', 'peer', 'name', `${P}f`);
  ip('link', 'set', `${P}f`, 'netns', NS_A);
  ip('-n', NS_A, 'link', 'set', `${P}f`, 'name', 'fpm0');
  ip('addr', 'add', `${ROOT_ADDR}/30`, 'dev', ROOT_LINK);
  ip('link', 'set', ROOT_LINK, 'up');
  ip('-n', NS_A, 'addr', 'add', `${FPM_ADDR}/30`, 'dev', 'fpm0');
  ip('-n', NS_A, 'link', 'add', 'lan-a', 'type', 'ifb');
  ip('-n', NS_B, 'link', 'add', 'lan-b', 'type', 'ifb');
  ip('-n', NS_B, 'link', 'add', 'lan-c', 'type', 'ifb');
  const addrs = [
    [NS_A, 'a1', '10.255.0.0/31'],
    [NS_A, 'a2', '10.255.0.2/31'],
    [NS_B, 'b1', '10.255.0.1/31'],
    [NS_B, 'b2', '10.255.0.3/31'],
    [NS_A, 'lan-a', '10.10.1.1/24'],
    [NS_A, 'lan-a', 'fd00:10:1::1/64'],
    [NS_B, 'lan-b', '10.10.2.1/24'],
    [NS_B, 'lan-b', 'fd00:10:2::1/64'],
    [NS_B, 'lan-c', '10.10.3.1/24'],
    [NS_B, 'lan-c', 'fd00:10:3::1/64'],
  ];
  for (const [ns, dev, a] of addrs) ip('-n', ns, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : []));
  for (const [ns, dev] of [[NS_A, 'a1'], [NS_A, 'a2'], [NS_A, 'lan-a'], [NS_A, 'fpm0'], [NS_B, 'b1'], [NS_B, 'b2'], [NS_B, 'lan-b'], [NS_B, 'lan-c']]) {
    ip('-n', ns, 'link', 'set', dev, 'up');
  }

  const port = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, ROOT_ADDR, () => resolve(server.address().port));
  });
  startFrr(NS_B, 'b', `hostname b\nlog file ${dir}/zebra-b.log\n`, ospfConf('b', ['b1', 'b2'], ['lan-b', 'lan-c']));
  startFrr(NS_A, 'a', `hostname a\nlog file ${dir}/zebra-a.log\nfpm address ${ROOT_ADDR} port ${port}\n`, ospfConf('a', ['a1', 'a2'], ['lan-a']));

  // zebra's own view (what it sends over FPM): how many next hops of a prefix it has in the FIB.
  // The kernel is not asked: FRR 8.4 may leave a kernel nexthop group short while its RIB is right.
  const paths = (fam, prefix) => {
    const out = spawnSync('vtysh', ['-N', NS_A, '-c', `show ${fam === '-4' ? 'ip' : 'ipv6'} route ${prefix} json`], { encoding: 'utf8' }).stdout;
    const entries = (JSON.parse(out || '{}')[prefix] ?? []).filter((r) => r.protocol.startsWith('ospf') && r.installed);
    return entries.length === 0 ? 0 : entries[0].nexthops.filter((n) => n.fib).length;
  };
  const ecmp = (fam, prefix) => paths(fam, prefix) === 2;
  await until('zebra to connect', () => conns.length === 1 && conns[0].size > 0);
  await until('the ECMP routes', () => ecmp('-4', '10.10.2.0/24') && ecmp('-6', 'fd00:10:2::/64') && ecmp('-4', '10.10.3.0/24') && ecmp('-6', 'fd00:10:3::/64'));
  await mark('first resend, then the OSPF routes arrive (two equal-cost paths each)');

  ip('-n', NS_B, 'addr', 'del', '10.10.3.1/24', 'dev', 'lan-c');
  ip('-n', NS_B, 'addr', 'del', 'fd00:10:3::1/64', 'dev', 'lan-c');
  await until('the lan-c routes to go', () => paths('-4', '10.10.3.0/24') === 0 && paths('-6', 'fd00:10:3::/64') === 0);
  await mark("lan-c's addresses removed in B: 10.10.3.0/24 and fd00:10:3::/64 withdrawn");

  ip('-n', NS_B, 'link', 'set', 'b2', 'down');
  await until('one path', () => paths('-4', '10.10.2.0/24') === 1 && paths('-6', 'fd00:10:2::/64') === 1);
  await mark('b2 down in B: the routes to lan-b keep one path, via a1');

  ip('-n', NS_B, 'link', 'set', 'b2', 'up');
  await until('ECMP again', () => ecmp('-4', '10.10.2.0/24') && ecmp('-6', 'fd00:10:2::/64'));
  await mark('b2 up again: two paths');

  vtysh(NS_A, 'configure terminal', 'no fpm use-next-hop-groups');
  await until('zebra to reconnect', () => conns.length === 2 && conns[1].size > 0);
  await mark('`no fpm use-next-hop-groups`: zebra reconnects and resends with inline next hops');

  ip('-n', NS_B, 'addr', 'add', '10.10.3.1/24', 'dev', 'lan-c');
  await until('10.10.3.0/24 back', () => ecmp('-4', '10.10.3.0/24'));
  await mark('10.10.3.1/24 added back in B');

  ip('-n', NS_B, 'addr', 'del', '10.10.3.1/24', 'dev', 'lan-c');
  await until('10.10.3.0/24 gone', () => paths('-4', '10.10.3.0/24') === 0);
  await mark('10.10.3.1/24 removed again');

  ip('-n', NS_B, 'link', 'set', 'b2', 'down');
  await until('one path', () => paths('-4', '10.10.2.0/24') === 1 && paths('-6', 'fd00:10:2::/64') === 1);
  await mark('b2 down: one path');

  ip('-n', NS_B, 'link', 'set', 'b2', 'up');
  await until('ECMP again', () => ecmp('-4', '10.10.2.0/24') && ecmp('-6', 'fd00:10:2::/64'));
  await mark('b2 up again: two paths');

  vtysh(NS_A, 'configure terminal', 'fpm use-next-hop-groups');
  await until('zebra to reconnect', () => conns.length === 3 && conns[2].size > 0);
  await mark('`fpm use-next-hop-groups` again: zebra reconnects and resends, next hops first');

  const short = version.replace(/^zebra version /, '');
  writeVector(`frr-${short}-nhg.hex`, `FRR ${short} FPM, next-hop-group mode (the default): connection 1`, conns[0], version);
  writeVector(`frr-${short}-inline.hex`, `FRR ${short} FPM, \`no fpm use-next-hop-groups\`: connection 2`, conns[1], version);
  writeVector(`frr-${short}-nhg-resend.hex`, `FRR ${short} FPM, next-hop-group mode again: connection 3, a resend`, conns[2], version);
  server.close();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    for (const f of ['zebra-a.log', 'ospfd-a.log']) {
      try {
        console.error(`--- ${f}\n${readFileSync(join(dir, f), 'utf8').slice(-3000)}`);
      } catch {
        // not written
      }
    }
    process.exit(1);
  },
);
