/**
 * Operator policy (docs/configuration.md, "Policy"): a neighbor's import or
 * export chain compiled once into matchers, then evaluated per UPDATE.
 *
 * All NLRI of an UPDATE share its attributes, so everything a term asks of
 * the attributes (AS path, communities, neighbor) is answered once per
 * attribute set (prepare), and only the route-level conditions (prefix
 * list, family, source, next hop) per prefix. An outcome (the verdict and
 * the changes made on the way) is one shared object per distinct sequence
 * of terms taken, so a million prefixes make a handful of outcomes and the
 * caller interns one attribute set per outcome.
 */
import { AsPathSegmentType } from '#bgp/wire/types';
import type { PathAttributes } from '#bgp/wire/types';
import type { PolicyConfig, PolicyDefinitions, PolicyMatchConfig, PolicyTermConfig } from '#config/types';
import type { RouteSource } from '#bgp/rib/types';
import { asPathText, compileAsPathRegex } from './as-path-regex.js';
import { parseCommunity, matchesExtended, matchesLarge, matchesStandard } from './community-text.js';
import type { CommunityPattern } from './community-text.js';
import { PrefixSet, PrefixWords } from './prefix-set.js';
import type { PolicyAction } from './actions.js';

export type PolicyVerdict = 'accept' | 'reject' | 'next';

/** What a chain did with a route: shared by every route that took the same terms. */
export interface PolicyOutcome {
  readonly accept: boolean;
  /** The changes, in the order the terms made them; empty: the attributes stay as they are. */
  readonly actions: readonly PolicyAction[];
  /** Which term decided: "policy/term", "policy/default", or the chain's end. */
  readonly by: string;
  /** A MED was set (export: sent to eBGP too, RFC 4271 §5.1.4 leaves it to policy). */
  readonly setsMed: boolean;
}

interface AttrTest {
  (attrs: PathAttributes, neighbor: string, pathText: string): boolean;
}

interface Term {
  readonly label: string;
  readonly attrTests: readonly AttrTest[];
  readonly needsPathText: boolean;
  readonly prefixSets: readonly PrefixSet[] | null;
  readonly nextHopSets: readonly PrefixSet[] | null;
  readonly family: 4 | 6 | null;
  readonly sources: readonly RouteSource[] | null;
  readonly actions: readonly PolicyAction[];
  readonly verdict: PolicyVerdict;
}

/** A neighbor's import or export chain, compiled. */
export class CompiledChain {
  /** Whether a term looks at the route (prefix, family, source, next hop), not only at the attributes. */
  readonly routeLevel: boolean;
  private readonly needsPathText: boolean;
  private readonly end: PolicyOutcome;

  constructor(
    private readonly terms: readonly Term[],
    /** What a route no terminal term took gets: rejected (docs: the end of a chain rejects). */
    endLabel: string,
    /** The policy names, for diffs on reload. */
    readonly names: readonly string[],
  ) {
    this.routeLevel = terms.some((t) => t.prefixSets !== null || t.nextHopSets !== null || t.family !== null || t.sources !== null);
    this.needsPathText = terms.some((t) => t.needsPathText);
    this.end = { accept: false, actions: [], by: endLabel, setsMed: false };
  }

  /** The attribute-level half of every term for one attribute set (once per UPDATE). */
  prepare(attrs: PathAttributes, neighbor: string): PreparedPolicy {
    const text = this.needsPathText ? asPathText(attrs) : '';
    const hits = new Uint8Array(this.terms.length);
    for (let i = 0; i < this.terms.length; i++) {
      const t = this.terms[i]!;
      let ok = 1;
      for (const test of t.attrTests) {
        if (!test(attrs, neighbor, text)) {
          ok = 0;
          break;
        }
      }
      hits[i] = ok;
    }
    return new PreparedPolicy(this.terms, hits, this.end, this.routeLevel);
  }

  /** One route's outcome, prepared and decided at once (tests, dry runs). */
  evaluate(attrs: PathAttributes, neighbor: string, prefix: string, source: RouteSource, nextHop: string | null): PolicyOutcome {
    return this.prepare(attrs, neighbor).outcome(prefix, source, nextHop);
  }
}

/** A chain's verdicts for the routes of one attribute set. */
export class PreparedPolicy {
  private readonly outcomes = new Map<number | string, PolicyOutcome>();
  /** The one outcome when no term looks at the route (set once, in the constructor). */
  private constant: PolicyOutcome | null = null;
  /** Outcomes are keyed by a number while the terms with changes fit its bits. */
  private readonly numericKeys: boolean;

  constructor(
    private readonly terms: readonly Term[],
    private readonly hits: Uint8Array,
    private readonly end: PolicyOutcome,
    routeLevel: boolean,
  ) {
    this.numericKeys = terms.length <= 40;
    this.constant = routeLevel ? null : this.outcome('', 'bgp', null);
  }

  /** The outcome for one route of this attribute set: a shared object, made once per distinct path through the terms. */
  outcome(prefix: string, source: RouteSource, nextHop: string | null): PolicyOutcome {
    if (this.constant !== null) return this.constant;
    return this.outcomeOf(textKey.setText(prefix), source, nextHop);
  }

  /** outcome() of a prefix given as words (the RIB's received prefixes: no text made). */
  outcomeOf(prefix: PrefixWords, source: RouteSource, nextHop: string | null): PolicyOutcome {
    if (this.constant !== null) return this.constant;
    let mask = 0;
    let keyText = '';
    let decided = -1;
    for (let i = 0; i < this.terms.length; i++) {
      if (this.hits[i] === 0) continue;
      const t = this.terms[i]!;
      if (!routeMatches(t, prefix, source, nextHop)) continue;
      if (t.actions.length > 0) {
        if (this.numericKeys) mask += 2 ** i;
        else keyText += `${i},`;
      }
      if (t.verdict !== 'next') {
        decided = i;
        break;
      }
    }
    const key = this.numericKeys ? mask * 64 + (decided + 1) : `${keyText}|${decided}`;
    let out = this.outcomes.get(key);
    if (out === undefined) {
      out = this.makeOutcome(prefix, source, nextHop, decided);
      this.outcomes.set(key, out);
    }
    return out;
  }

  private makeOutcome(prefix: PrefixWords, source: RouteSource, nextHop: string | null, decided: number): PolicyOutcome {
    const actions: PolicyAction[] = [];
    const last = decided < 0 ? this.terms.length - 1 : decided;
    for (let i = 0; i <= last; i++) {
      const t = this.terms[i]!;
      if (this.hits[i] === 1 && routeMatches(t, prefix, source, nextHop)) actions.push(...t.actions);
    }
    if (decided < 0) return this.end;
    const t = this.terms[decided]!;
    const accept = t.verdict === 'accept';
    return { accept, actions: accept ? actions : [], by: t.label, setsMed: accept && actions.some((a) => a.type === 'med') };
  }
}

/** For outcome() of a text (synchronous: one at a time). */
const textKey = new PrefixWords();

function routeMatches(t: Term, prefix: PrefixWords, source: RouteSource, nextHop: string | null): boolean {
  if (t.family !== null && (prefix.v6 ? 6 : 4) !== t.family) return false;
  if (t.sources !== null && !t.sources.includes(source)) return false;
  if (t.prefixSets !== null && !t.prefixSets.some((s) => s.hasWords(prefix))) return false;
  if (t.nextHopSets !== null && (nextHop === null || !t.nextHopSets.some((s) => s.hasAddress(nextHop)))) return false;
  return true;
}

/**
 * The chain of `names` (policy names, in order), or null when the neighbor
 * has none and none is required: then routes pass unchanged, at no cost.
 * RFC 8212 §2: with `required` (bgp.require-policy on an eBGP session) a
 * missing chain rejects everything. Names are known to exist (the config
 * check says which do not).
 */
export function compileChain(defs: PolicyDefinitions, names: readonly string[], localAsn: number, required: boolean, direction: 'import' | 'export'): CompiledChain | null {
  if (names.length === 0) {
    if (!required) return null;
    return new CompiledChain([], `no ${direction} policy (bgp.require-policy, RFC 8212)`, []);
  }
  const compiled = new PolicyCompiler(defs, localAsn);
  const terms: Term[] = [];
  for (const name of names) {
    const p = defs.policies[name];
    if (p === undefined) throw new Error(`unknown policy ${name}`);
    terms.push(...compiled.policy(name, p));
  }
  return new CompiledChain(terms, 'end of chain', names);
}

/** Compiles definitions once per chain; lists referenced by several terms are compiled once. */
class PolicyCompiler {
  private readonly prefixSets = new Map<string, PrefixSet>();
  private readonly regexes = new Map<string, RegExp[]>();

  constructor(
    private readonly defs: PolicyDefinitions,
    private readonly localAsn: number,
  ) {}

  policy(name: string, p: PolicyConfig): Term[] {
    const out = p.terms.map((t) => this.term(`${name}/${t.name}`, t));
    if (p.default !== 'next') {
      out.push({ label: `${name}/default`, attrTests: [], needsPathText: false, prefixSets: null, nextHopSets: null, family: null, sources: null, actions: [], verdict: p.default });
    }
    return out;
  }

  private prefixSet(name: string): PrefixSet {
    let s = this.prefixSets.get(name);
    if (s === undefined) {
      const entries = this.defs.prefixLists[name];
      if (entries === undefined) throw new Error(`unknown prefix-list ${name}`);
      this.prefixSets.set(name, (s = new PrefixSet(entries)));
    }
    return s;
  }

  private asns(items: readonly (number | string)[]): Set<number> {
    const out = new Set<number>();
    for (const i of items) {
      if (typeof i === 'number') out.add(i);
      else {
        const set = this.defs.asSets[i];
        if (set === undefined) throw new Error(`unknown as-set ${i}`);
        for (const a of set) out.add(a);
      }
    }
    return out;
  }

  private term(label: string, t: PolicyTermConfig): Term {
    const m: PolicyMatchConfig = t.match;
    const tests: AttrTest[] = [];
    let needsPathText = false;
    if (m.neighbor !== undefined) {
      const names = new Set(m.neighbor);
      tests.push((_a, n) => names.has(n));
    }
    if (m.asPath !== undefined) {
      const res: RegExp[] = [];
      for (const list of m.asPath) {
        let r = this.regexes.get(list);
        if (r === undefined) {
          const patterns = this.defs.asPathLists[list];
          if (patterns === undefined) throw new Error(`unknown as-path-list ${list}`);
          this.regexes.set(list, (r = patterns.map(compileAsPathRegex)));
        }
        res.push(...r);
      }
      needsPathText = true;
      tests.push((_a, _n, text) => res.some((re) => re.test(text)));
    }
    if (m.asPathContains !== undefined) {
      const set = this.asns(m.asPathContains);
      tests.push((a) => (a.asPath ?? []).some((s) => s.asns.some((x) => set.has(x))));
    }
    if (m.originAs !== undefined) {
      const set = this.asns(m.originAs);
      const local = this.localAsn;
      tests.push((a) => {
        const o = originAs(a, local);
        return o !== null && set.has(o);
      });
    }
    if (m.asPathLength !== undefined) {
      const { ge, le } = m.asPathLength;
      tests.push((a) => {
        const n = pathLength(a);
        return n >= ge && n <= le;
      });
    }
    if (m.community !== undefined) {
      const patterns: CommunityPattern[] = [];
      for (const list of m.community) {
        const entries = this.defs.communityLists[list];
        if (entries === undefined) throw new Error(`unknown community-list ${list}`);
        for (const e of entries) patterns.push(mustParse(e, true));
      }
      tests.push((a) => hasCommunity(a, patterns));
    }
    return {
      label,
      attrTests: tests,
      needsPathText,
      prefixSets: m.prefixList === undefined ? null : m.prefixList.map((n) => this.prefixSet(n)),
      nextHopSets: m.nextHop === undefined ? null : m.nextHop.map((n) => this.prefixSet(n)),
      family: m.family === undefined ? null : m.family === 'ipv4' ? 4 : 6,
      sources: m.source ?? null,
      actions: compileActions(t),
      verdict: t.action,
    };
  }
}

function mustParse(text: string, wildcards: boolean): CommunityPattern {
  const c = parseCommunity(text, wildcards);
  if (typeof c === 'string') throw new Error(c);
  return c;
}

function compileActions(t: PolicyTermConfig): PolicyAction[] {
  const s = t.set;
  const out: PolicyAction[] = [];
  if (s.localPref !== undefined) out.push({ type: 'local-pref', value: s.localPref });
  if (s.med !== undefined) out.push({ type: 'med', value: s.med });
  if (s.prepend !== undefined && s.prepend.count > 0) out.push({ type: 'prepend', as: s.prepend.as, count: s.prepend.count });
  const c = s.community;
  if (c !== undefined) {
    // Replace, then remove, then add: "replace with X, drop Y, add Z" reads in that order whatever the YAML order.
    if (c.replace !== null) out.push({ type: 'community-replace', set: c.replace.map((x) => mustParse(x, false)) });
    if (c.remove.length > 0) out.push({ type: 'community-remove', patterns: c.remove.map((x) => mustParse(x, true)) });
    if (c.add.length > 0) out.push({ type: 'community-add', set: c.add.map((x) => mustParse(x, false)) });
  }
  return out;
}

/**
 * RFC 6811 §2: the origin AS is the last AS of a path ending in an
 * AS_SEQUENCE, none for one ending in an AS_SET, and our own for an empty
 * path (a route of our AS).
 */
export function originAs(a: PathAttributes, localAsn: number): number | null {
  const path = a.asPath ?? [];
  if (path.length === 0) return localAsn;
  const last = path[path.length - 1]!;
  if (last.type !== AsPathSegmentType.AsSequence) return null;
  return last.asns[last.asns.length - 1] ?? null;
}

/** RFC 4271 §9.1.2.2 a: an AS_SET counts as one, confederation segments not at all (RFC 5065 §5.3). */
function pathLength(a: PathAttributes): number {
  let n = 0;
  for (const s of a.asPath ?? []) {
    if (s.type === AsPathSegmentType.AsSequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AsSet) n += 1;
  }
  return n;
}

function hasCommunity(a: PathAttributes, patterns: readonly CommunityPattern[]): boolean {
  for (const p of patterns) {
    if (p.kind === 'standard') {
      if (a.communities?.some((c) => matchesStandard(p, c))) return true;
    } else if (p.kind === 'large') {
      if (a.largeCommunities?.some((c) => matchesLarge(p, c))) return true;
    } else if (a.extendedCommunities?.some((c) => matchesExtended(p, c))) return true;
  }
  return false;
}
