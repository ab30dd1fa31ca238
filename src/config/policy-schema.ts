/**
 * The `policy` section (docs/configuration.md, "Policy"), `bgp.require-policy`,
 * the neighbors' `bgp.import` / `bgp.export`, and `announce` entries with
 * communities: zod shapes and their mapping onto Config. Whether the names a
 * chain or a term uses exist is checked beside the schema (policy-check.ts),
 * so one `config check` names every unknown reference with its key path.
 */
import { z } from 'zod';
import { checkAsPathRegex } from '#bgp/policy/as-path-regex';
import { checkCommunity } from '#bgp/policy/community-text';
import type { PolicyDefinitions, PolicyMatchConfig, PolicySetConfig, PolicyTermConfig, PrefixListEntry } from './types.js';
import { MAX_ASN, checkAnnouncePrefix, checkAsn, checkPrefixListEntry, parsePrefixListEntry } from './fields.js';

function text(check: (v: string) => string | null) {
  return z.string().superRefine((v, ctx) => {
    const m = check(v);
    if (m !== null) ctx.addIssue({ code: 'custom', message: m });
  });
}

function intIn(min: number, max: number) {
  return z.number().superRefine((v, ctx) => {
    if (!Number.isInteger(v) || v < min || v > max) ctx.addIssue({ code: 'custom', message: `must be an integer in ${min}..${max}, got ${v}` });
  });
}

/** Names of lists, sets and policies: what an operator can type in a chain and read in a log. */
export const POLICY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export function checkPolicyName(v: string): string | null {
  return POLICY_NAME.test(v) ? null : `${JSON.stringify(v)}: a name is letters, digits, "_", "." and "-" (at most 63, not starting with a sign)`;
}

const name = text(checkPolicyName);
/** One name or a list of them; a list means "any of these". */
const names = z.union([name, z.array(name).min(1)]).transform((v) => (typeof v === 'string' ? [v] : v));
const asn = intIn(1, MAX_ASN).superRefine((v, ctx) => {
  const m = checkAsn(v);
  if (m !== null) ctx.addIssue({ code: 'custom', message: m });
});
/** ASNs and as-set names, mixed. */
const asnsOrSets = z.union([asn, name, z.array(z.union([asn, name])).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));
const matchCommunity = text((v) => checkCommunity(v, true));
const exactCommunity = text((v) => checkCommunity(v, false));
const u32 = intIn(0, MAX_ASN);

const match = z.strictObject({
  'prefix-list': names.optional(),
  'as-path': names.optional(),
  'as-path-contains': asnsOrSets.optional(),
  'origin-as': asnsOrSets.optional(),
  'as-path-length': z
    .strictObject({ ge: intIn(0, 1000).default(0), le: intIn(0, 1000).default(1000) })
    .superRefine((v, ctx) => {
      if (v.ge > v.le) ctx.addIssue({ code: 'custom', message: `ge ${v.ge} is above le ${v.le}: nothing would match` });
    })
    .optional(),
  community: names.optional(),
  'next-hop': names.optional(),
  family: z.enum(['ipv4', 'ipv6']).optional(),
  neighbor: names.optional(),
  source: z
    .union([z.enum(['bgp', 'static', 'ospf', 'connected']), z.array(z.enum(['bgp', 'static', 'ospf', 'connected'])).min(1)])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .optional(),
});

const prepend = z
  .union([intIn(1, 16), z.strictObject({ as: z.enum(['own', 'first']).default('own'), count: intIn(1, 16) })])
  .transform((v) => (typeof v === 'number' ? { as: 'own' as const, count: v } : v));

const set = z.strictObject({
  'local-pref': u32.optional(),
  med: u32.optional(),
  prepend: prepend.optional(),
  community: z
    .strictObject({
      add: z.array(exactCommunity).default([]),
      remove: z.array(matchCommunity).default([]),
      replace: z.array(exactCommunity).nullable().default(null),
    })
    .optional(),
  'next-hop': z.literal('self').optional(),
});

const term = z
  .strictObject({
    name,
    match: match.default({}),
    set: set.default({}),
    action: z.enum(['accept', 'reject', 'next']).optional(),
  })
  .superRefine((t, ctx) => {
    const changes = Object.keys(t.set).some((k) => k !== 'next-hop');
    if (t.action === undefined && !changes) ctx.addIssue({ code: 'custom', path: ['action'], message: 'a term that changes nothing needs an action (accept, reject or next)' });
    if (t.action === 'reject' && changes) ctx.addIssue({ code: 'custom', path: ['set'], message: 'a rejected route is not changed: drop set, or use action next' });
  });

const policy = z
  .strictObject({
    terms: z.array(term).default([]),
    default: z.enum(['accept', 'reject', 'next']).default('next'),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.terms.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['terms', i, 'name'], message: `duplicate term name ${JSON.stringify(t.name)}` });
      seen.add(t.name);
    });
  });

/** Keys of a mapping are names too. */
function namedMap<T extends z.ZodType>(value: T) {
  return z.record(name, value).default({});
}

export const policySchema = z
  .strictObject({
    'prefix-lists': namedMap(z.array(text(checkPrefixListEntry))),
    'as-path-lists': namedMap(z.array(text(checkAsPathRegex)).min(1)),
    'as-sets': namedMap(z.array(asn).min(1)),
    'community-lists': namedMap(z.array(matchCommunity).min(1)),
    policies: namedMap(policy),
  })
  .prefault({});

export const bgpGlobalSchema = z
  .strictObject({
    /** RFC 8212 §2: off by default, so configurations from before policies keep working (docs recommend on). */
    'require-policy': z.boolean().default(false),
    /** Multipath (ECMP) over neighbors with equal paths: off by default, as in BIRD and FRR. */
    multipath: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** Paths used at most, the best included; 64 is far above any number of tunnels to one prefix. */
        'max-paths': z.number().int().min(1).max(64).default(8),
        'relax-as-path': z.boolean().default(false),
      })
      .prefault({}),
  })
  .prefault({});

/** An `announce` entry: a prefix, or a prefix with the communities it carries. */
export const announceEntry = z.union([
  text(checkAnnouncePrefix),
  z.strictObject({ prefix: text(checkAnnouncePrefix), communities: z.array(exactCommunity).default([]) }),
]);

/** A neighbor's chain: one policy name or a list, in order. */
export const chain = names.default([]);

type PolicyYaml = z.output<typeof policySchema>;
type TermYaml = PolicyYaml['policies'][string]['terms'][number];

function matchConfig(m: TermYaml['match']): PolicyMatchConfig {
  const out: PolicyMatchConfig = {};
  if (m['prefix-list'] !== undefined) out.prefixList = m['prefix-list'];
  if (m['as-path'] !== undefined) out.asPath = m['as-path'];
  if (m['as-path-contains'] !== undefined) out.asPathContains = m['as-path-contains'];
  if (m['origin-as'] !== undefined) out.originAs = m['origin-as'];
  if (m['as-path-length'] !== undefined) out.asPathLength = m['as-path-length'];
  if (m.community !== undefined) out.community = m.community;
  if (m['next-hop'] !== undefined) out.nextHop = m['next-hop'];
  if (m.family !== undefined) out.family = m.family;
  if (m.neighbor !== undefined) out.neighbor = m.neighbor;
  if (m.source !== undefined) out.source = m.source;
  return out;
}

function setConfig(s: TermYaml['set']): PolicySetConfig {
  const out: PolicySetConfig = {};
  if (s['local-pref'] !== undefined) out.localPref = s['local-pref'];
  if (s.med !== undefined) out.med = s.med;
  if (s.prepend !== undefined) out.prepend = s.prepend;
  if (s.community !== undefined) out.community = s.community;
  if (s['next-hop'] !== undefined) out.nextHopSelf = true;
  return out;
}

function termConfig(t: TermYaml): PolicyTermConfig {
  // No action with changes: go on (the schema wants an action on a term that changes nothing).
  return { name: t.name, match: matchConfig(t.match), set: setConfig(t.set), action: t.action ?? 'next' };
}

export function policyConfig(p: PolicyYaml): PolicyDefinitions {
  const prefixLists: Record<string, PrefixListEntry[]> = {};
  for (const [k, entries] of Object.entries(p['prefix-lists'])) {
    prefixLists[k] = [];
    for (const e of entries) {
      const parsed = parsePrefixListEntry(e);
      if (typeof parsed !== 'string') prefixLists[k].push(parsed);
    }
  }
  const policies: PolicyDefinitions['policies'] = {};
  for (const [k, v] of Object.entries(p.policies)) policies[k] = { terms: v.terms.map(termConfig), default: v.default };
  return { prefixLists, asPathLists: p['as-path-lists'], asSets: p['as-sets'], communityLists: p['community-lists'], policies };
}
