import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ConfigIssue, type LoadResult } from '#config/index';

const FIXTURE = new URL('../fixtures/config/design-example.yaml', import.meta.url).pathname;
const DESIGN = readFileSync(FIXTURE, 'utf8');

function parse(text: string): LoadResult {
  return parseConfig(text, 'wgbgp.yaml', { checkFiles: false });
}

function errors(text: string): ConfigIssue[] {
  const r = parse(text);
  if (r.ok) throw new Error('expected the configuration to be rejected');
  return r.errors;
}

/** The design example with the neighbor's bgp block extended and a policy section appended. */
function withPolicy(policy: string, neighborBgp = '', top = ''): string {
  const text = DESIGN.replace('      hold-time: 90\n', `      hold-time: 90\n${neighborBgp}`);
  return `${text}\n${top}policy:\n${policy}`;
}

const POLICY = `
  prefix-lists:
    customers: ["10.0.0.0/8 le 24", "2001:db8::/32 ge 48 le 48"]
    tunnels: [10.255.0.0/16 le 32]
  as-path-lists:
    via-65002: ["^65002_", "_65002$"]
  as-sets:
    friends: [65002, 65003]
  community-lists:
    prefer: ["65002:100", "65002:1:*", "rt:65002:*"]
  policies:
    from-site-b:
      terms:
        - name: bogons
          match: { prefix-list: [customers], family: ipv4, as-path-length: { le: 5 } }
          set: { local-pref: 200, community: { add: ["65001:1"], remove: ["65002:*"] } }
          action: accept
        - name: friends
          match: { origin-as: [friends, 65010], as-path-contains: 65004, community: prefer, next-hop: tunnels, neighbor: site-b, as-path: via-65002 }
          set: { med: 10, prepend: { as: first, count: 2 }, next-hop: self }
      default: reject
    to-site-b:
      terms:
        - name: static-only
          match: { source: static }
          set: { prepend: 2, community: { replace: ["65001:1:2", "no-export"] } }
          action: accept
`;

describe('policy configuration', () => {
  it('loads chains, definitions and the RFC 8212 switch', () => {
    const r = parse(withPolicy(POLICY, '      import: from-site-b\n      export: [to-site-b]\n      soft-reconfiguration-inbound: true\n', 'bgp:\n  require-policy: true\n'));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const c = r.config;
    expect(c.requirePolicy).toBe(true);
    expect(c.neighbors[0]!.bgp).toMatchObject({ import: ['from-site-b'], export: ['to-site-b'], softReconfigurationInbound: true });
    expect(c.policy!.prefixLists.customers).toEqual([
      { prefix: '10.0.0.0/8', ge: 8, le: 24 },
      { prefix: '2001:db8::/32', ge: 48, le: 48 },
    ]);
    const from = c.policy!.policies['from-site-b']!;
    expect(from.default).toBe('reject');
    expect(from.terms[0]).toEqual({
      name: 'bogons',
      match: { prefixList: ['customers'], family: 'ipv4', asPathLength: { ge: 0, le: 5 } },
      set: { localPref: 200, community: { add: ['65001:1'], remove: ['65002:*'], replace: null } },
      action: 'accept',
    });
    // No action with changes: the next term goes on.
    expect(from.terms[1]!.action).toBe('next');
    expect(from.terms[1]!.set).toEqual({ med: 10, prepend: { as: 'first', count: 2 }, nextHopSelf: true });
    expect(c.policy!.policies['to-site-b']!.terms[0]!.set.prepend).toEqual({ as: 'own', count: 2 });
  });

  it('defaults: require-policy false, no chains, no definitions (the design example loads unchanged)', () => {
    const r = parse(DESIGN);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.config.requirePolicy).toBe(false);
    expect(r.config.neighbors[0]!.bgp).toMatchObject({ import: [], export: [], softReconfigurationInbound: false });
    expect(r.config.policy).toEqual({ prefixLists: {}, asPathLists: {}, asSets: {}, communityLists: {}, policies: {} });
    expect(r.config.announce).toEqual(['10.1.0.0/24', '2001:db8:1::/48']);
  });

  it('announce entries may carry communities; the plain form stays valid', () => {
    const text = DESIGN.replace('  - 10.1.0.0/24\n', '  - 10.1.0.0/24\n  - prefix: 10.2.0.0/24\n    communities: ["65001:7", "65001:0:7", no-export]\n');
    const r = parse(text);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.config.announce).toEqual(['10.1.0.0/24', '10.2.0.0/24', '2001:db8:1::/48']);
    expect(r.config.announceCommunities).toEqual({ '10.2.0.0/24': ['65001:7', '65001:0:7', 'no-export'] });
    const bad = errors(DESIGN.replace('  - 10.1.0.0/24\n', '  - prefix: 10.2.0.0/24\n    communities: ["65001:*"]\n'));
    expect(bad.map((e) => e.path)).toContain('announce[0].communities[0]');
  });

  it('unknown names in chains and matches are errors with their key paths', () => {
    const policy = `
  policies:
    p:
      terms:
        - name: t
          match: { prefix-list: nope, community: [gone], as-path: missing, origin-as: [65002, no-set], next-hop: nh }
          action: accept
`;
    const errs = errors(withPolicy(policy, '      import: [p, q]\n      export: r\n'));
    const byPath = Object.fromEntries(errs.map((e) => [e.path, e.message]));
    expect(byPath['policy.policies.p.terms[0].match.prefix-list']).toMatch(/unknown prefix-list "nope"/);
    expect(byPath['policy.policies.p.terms[0].match.community[0]']).toMatch(/unknown community-list "gone"/);
    expect(byPath['policy.policies.p.terms[0].match.as-path']).toMatch(/unknown as-path-list "missing"/);
    expect(byPath['policy.policies.p.terms[0].match.origin-as[1]']).toMatch(/unknown as-set "no-set"/);
    expect(byPath['policy.policies.p.terms[0].match.next-hop']).toMatch(/unknown prefix-list "nh"/);
    expect(byPath['neighbors[0].bgp.import[1]']).toMatch(/unknown policy "q"/);
    expect(byPath['neighbors[0].bgp.export']).toMatch(/unknown policy "r"/);
    expect(errs).toHaveLength(7);
  });

  it('bad values: regex, community, prefix-list entry, contradictory terms', () => {
    const policy = `
  prefix-lists:
    bad: ["10.0.0.0/8 le 4"]
  as-path-lists:
    bad: ["^65002 (65003"]
  community-lists:
    bad: ["70000:1"]
  policies:
    p:
      terms:
        - name: nothing
          match: { family: ipv4 }
        - name: change-and-reject
          set: { med: 5 }
          action: reject
        - name: nothing
          action: accept
        - name: set-wildcard
          set: { community: { add: ["65001:*"] } }
`;
    const errs = errors(withPolicy(policy));
    const byPath = Object.fromEntries(errs.map((e) => [e.path, e.message]));
    expect(byPath['policy.prefix-lists.bad[0]']).toMatch(/ge <= le/);
    expect(byPath['policy.as-path-lists.bad[0]']).toMatch(/missing "\)"/);
    expect(byPath['policy.community-lists.bad[0]']).toMatch(/0\.\.65535/);
    expect(byPath['policy.policies.p.terms[0].action']).toMatch(/needs an action/);
    expect(byPath['policy.policies.p.terms[1].set']).toMatch(/rejected route is not changed/);
    expect(byPath['policy.policies.p.terms[2].name']).toMatch(/duplicate term name/);
    expect(byPath['policy.policies.p.terms[3].set.community.add[0]']).toMatch(/wildcards/);
  });
});

describe('docs/configuration.md policy examples', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url).pathname, 'utf8');
  const section = doc.slice(doc.indexOf('## `policy`'));
  const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it('the section example loads (its neighbors part on the design example)', () => {
    const top = blocks[0]!.slice(0, blocks[0]!.indexOf('neighbors:'));
    const text = `${DESIGN.replace('      hold-time: 90\n', '      hold-time: 90\n      import: from-upstream\n      export: [to-upstream]\n')}\n${top}`;
    const r = parse(text);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(Object.keys(r.config.policy!.policies)).toEqual(['from-upstream', 'to-upstream']);
  });

  it('the example of each action loads as the terms of a policy', () => {
    const terms = blocks[1]!
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => `        ${l.replace(/#.*$/, '')}`)
      .join('\n');
    const lists = '  prefix-lists: { customers: ["10.0.0.0/8 le 24"] }\n  community-lists: { blackhole: [blackhole] }\n';
    const r = parse(withPolicy(`${lists}  policies:\n    p:\n      terms:\n${terms}\n`));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.config.policy!.policies.p!.terms).toHaveLength(9);
  });
});

describe('announce entries with communities and duplicates', () => {
  it('a prefix listed twice is a warning in either form; its communities are those of both entries', () => {
    const text = DESIGN.replace('  - 10.1.0.0/24\n', '  - 10.1.0.0/24\n  - prefix: 10.1.0.0/24\n    communities: ["65001:1"]\n');
    const r = parse(text);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.warnings.map((w) => [w.path, w.message])).toEqual([['announce[1]', '10.1.0.0/24 is already announced (announce[0])']]);
    expect(r.config.announce).toEqual(['10.1.0.0/24', '2001:db8:1::/48']);
    expect(r.config.announceCommunities).toEqual({ '10.1.0.0/24': ['65001:1'] });
  });
});

describe('policy references that are not errors', () => {
  it('a term naming a neighbor that does not exist is a warning: it never matches', () => {
    const policy = `
  policies:
    p:
      terms:
        - { name: t, match: { neighbor: [site-b, site-x] }, action: accept }
`;
    const r = parse(withPolicy(policy));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.warnings.map((w) => [w.path, w.message])).toEqual([['policy.policies.p.terms[0].match.neighbor[1]', 'no neighbor is named "site-x": the term never matches']]);
  });
});

describe('source on import', () => {
  it('a term of an import chain matching another source than bgp is a warning (it never matches)', () => {
    const policy = `
  policies:
    p:
      terms:
        - { name: static-only, match: { source: static }, action: accept }
        - { name: bgp, match: { source: [bgp, ospf] }, action: accept }
`;
    const r = parse(withPolicy(policy, '      import: p\n      export: p\n'));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.warnings.map((w) => w.path)).toEqual(['policy.policies.p.terms[0].match.source']);
  });
});
