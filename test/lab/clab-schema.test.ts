import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { checkClabTopology, checkClabTopologyText, type ClabIssue } from '#lab/clab-schema';
import { loadTopology } from '#lab/index';
import { REPO_LABS } from './helpers/labs.js';

const LABS = readdirSync(REPO_LABS, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);

/** labs/two-sites as a fresh object, for one edit per bad example. */
function twoSites(): Record<string, any> {
  return parseYaml(readFileSync(join(REPO_LABS, 'two-sites', 'topology.clab.yml'), 'utf8')) as Record<string, any>;
}

function edited(edit: (t: Record<string, any>) => void): ClabIssue[] {
  const t = twoSites();
  edit(t);
  return checkClabTopology(t);
}

describe('clab schema check: the labs', () => {
  it('finds the labs', () => {
    expect(LABS).toEqual(expect.arrayContaining(['two-sites', 'hub-spokes']));
  });

  it.each(LABS)('labs/%s/topology.clab.yml is a topology containerlab deploys', (lab) => {
    expect(checkClabTopologyText(readFileSync(join(REPO_LABS, lab, 'topology.clab.yml'), 'utf8'))).toEqual([]);
  });

  it.each(LABS)('labs/%s/topology.clab.yml has nothing containerlab expands on loading ($VAR, {{ template }})', (lab) => {
    const text = readFileSync(join(REPO_LABS, lab, 'topology.clab.yml'), 'utf8');
    // The Go template sees comments too; an unset $VAR is left as it is, so one in a comment is harmless.
    expect(text).not.toMatch(/\{\{/);
    expect(text.split('\n').filter((l) => !/^\s*#/.test(l))).not.toContainEqual(expect.stringContaining('$'));
  });

  it.each(LABS)('labs/%s/topology.clab.yml is also read by the namespace runner', (lab) => {
    expect(() => loadTopology(join(REPO_LABS, lab))).not.toThrow();
  });
});

describe('clab schema check: what containerlab rejects', () => {
  it('a misspelt node key (containerlab decodes strictly)', () => {
    expect(
      edited((t) => {
        t.topology.nodes['site-a'].imgae = 'wgbgp:dev';
      }),
    ).toEqual([{ path: 'topology.nodes.site-a.imgae', message: 'unknown key (containerlab rejects it)' }]);
    expect(edited((t) => (t.topology.link = t.topology.links))).toEqual([
      { path: 'topology.link', message: 'unknown key (containerlab rejects it)' },
    ]);
  });

  it('keys the namespace runner ignores but containerlab no longer knows (publish, mgmt_ipv6)', () => {
    expect(edited((t) => (t.topology.nodes['site-a'].publish = ['tcp/80']))).toEqual([
      { path: 'topology.nodes.site-a.publish', message: 'unknown key (containerlab rejects it)' },
    ]);
    expect(edited((t) => (t.topology.nodes['site-a'].mgmt_ipv6 = '2001:db8::5'))).toHaveLength(1);
  });

  it('an endpoint that is not "node:interface"', () => {
    const issues = edited((t) => (t.topology.links[0].endpoints = ['site-a-eth1', 'site-b:eth1']));
    expect(issues).toEqual([{ path: 'topology.links[0].endpoints[0]', message: 'expected "node:interface"' }]);
    expect(edited((t) => (t.topology.links[0].endpoints = ['site-a:eth1', 'site-b: eth1']))).toHaveLength(1);
  });

  it('an unknown kind, on a node or as a kinds block', () => {
    expect(edited((t) => (t.topology.nodes['site-b'].kind = 'linx'))).toEqual([
      { path: 'topology.nodes.site-b.kind', message: 'unknown kind "linx" (containerlab.dev/manual/kinds lists the kinds)' },
    ]);
    expect(edited((t) => (t.topology.kinds = { linx: { image: 'wgbgp:dev' } }))).toEqual([
      { path: 'topology.kinds.linx', message: 'unknown kind "linx" (containerlab.dev/manual/kinds lists the kinds)' },
    ]);
  });

  it('a node without a kind anywhere', () => {
    expect(edited((t) => delete t.topology.nodes['site-a'].kind)).toEqual([
      { path: 'topology.nodes.site-a.kind', message: 'no kind (set it on the node, its group or topology.defaults)' },
    ]);
    expect(
      edited((t) => {
        delete t.topology.nodes['site-a'].kind;
        t.topology.defaults = { kind: 'linux' };
      }),
    ).toEqual([]);
  });

  it('links to undefined nodes, an interface used twice, not two endpoints, an overlong linux interface', () => {
    expect(edited((t) => (t.topology.links[0].endpoints = ['site-a:eth1', 'site-c:eth1']))).toEqual([
      { path: 'topology.links[0].endpoints[1]', message: 'node "site-c" is not defined under topology.nodes' },
    ]);
    expect(edited((t) => t.topology.links.push({ endpoints: ['site-a:eth1', 'site-b:eth2'] }))).toEqual([
      { path: 'topology.links[1].endpoints[0]', message: 'site-a:eth1 is already used by topology.links[0].endpoints[0]' },
    ]);
    expect(edited((t) => t.topology.links[0].endpoints.push('site-b:eth2'))).toEqual([
      { path: 'topology.links[0].endpoints', message: 'a link has exactly two endpoints' },
    ]);
    expect(edited((t) => (t.topology.links[0].endpoints[1] = 'site-b:ethernet-1-1-long'))).toEqual([
      { path: 'topology.links[0].endpoints[1]', message: 'interface "ethernet-1-1-long" is longer than 15 characters' },
    ]);
  });

  it('extended links: unknown type, keys an endpoint does not have; brief links take no labels', () => {
    const veth = { type: 'veth', endpoints: [{ node: 'site-a', interface: 'eth1' }, { node: 'site-b', interface: 'eth1' }] };
    expect(edited((t) => (t.topology.links = [veth]))).toEqual([]);
    expect(edited((t) => (t.topology.links = [{ ...veth, type: 'vet' }]))).toEqual([
      { path: 'topology.links[0].type', message: expect.stringMatching(/^unknown link type/) },
    ]);
    const labelled = { ...veth, endpoints: [{ node: 'site-a', interface: 'eth1', labels: { a: 'b' } }, veth.endpoints[1]] };
    expect(edited((t) => (t.topology.links = [labelled]))).toEqual([
      { path: 'topology.links[0].endpoints[0].labels', message: 'unknown key (containerlab rejects it)' },
    ]);
    expect(edited((t) => (t.topology.links[0].labels = { role: 'underlay' }))).toEqual([
      { path: 'topology.links[0].labels', message: 'unknown key (containerlab rejects it)' },
    ]);
    expect(edited((t) => (t.topology.links[0] = { ...veth, labels: { role: 'underlay' } }))).toEqual([]);
  });

  it('host and macvlan endpoints in the brief format name no node', () => {
    expect(edited((t) => t.topology.links.push({ endpoints: ['site-a:eth2', 'host:clab-a-eth2'] }))).toEqual([]);
    expect(edited((t) => t.topology.links.push({ endpoints: ['site-a:eth2', 'macvlan:enp0s3'] }))).toEqual([]);
  });

  it('values of the wrong shape, by key', () => {
    expect(edited((t) => (t.topology.nodes['site-a']['restart-policy'] = 'sometimes'))[0]?.path).toBe('topology.nodes.site-a.restart-policy');
    expect(edited((t) => (t.topology.nodes['site-a'].binds = ['site-a'])))
      .toEqual([{ path: 'topology.nodes.site-a.binds[0]', message: 'expected host-path:/container-path[:options]' }]);
    expect(edited((t) => (t.topology.nodes['site-a'].exec = 'ip link set eth1 up'))[0]?.path).toBe('topology.nodes.site-a.exec');
    expect(edited((t) => (t.topology.nodes['site-a']['network-mode'] = 'bridged'))[0]?.path).toBe('topology.nodes.site-a.network-mode');
    expect(edited((t) => (t.topology.defaults = { ports: ['8080:80'] }))).toEqual([
      { path: 'topology.defaults.ports', message: 'ports can only be set on a node' },
    ]);
    expect(edited((t) => (t.name = 'two sites'))[0]?.path).toBe('name');
  });

  it('not YAML at all', () => {
    expect(checkClabTopologyText('name: [x')[0]?.message).toMatch(/^not valid YAML/);
  });
});
